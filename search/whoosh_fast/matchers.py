"""Matchers over posting lists read whole: scores computed as Whoosh's BM25F computes them,
and one word's fields ranked without scoring every posting (`BestOfFields`).

Reads Whoosh's private internals: the shape of its matcher trees (`sum_plan`), its
scorer's statistics, a list matcher's fields."""

from __future__ import annotations

import heapq
import sys
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import cached_property
from operator import itemgetter

from whoosh import matching, scoring
from whoosh.matching import FilterMatcher

from search.whoosh_fast.postings import (
    LENGTH_OF_BYTE,
    Block,
    TermBlocks,
    field_lengths,
    length_column,
)

# Lists of at least ARRAY_POSTINGS postings in a segment (a word's fields, a truncated or
# fuzzy word's terms, an exact phrase's candidates) are matched as numpy arrays
# (`arrays`) once numpy is loaded, and load it from LOADING_POSTINGS: its import (about
# 70 ms of CPU) is then repaid, so that a one-shot `search query` costs no more, and a
# process that goes on (`search serve`) has it for every later query. Which path runs
# changes no score (tests/test_whoosh_fast_queries.py).
ARRAY_POSTINGS = 5_000
LOADING_POSTINGS = 50_000


# Lists already scored (a phrase in each of its fields) of at least SCORED_DOCUMENTS
# documents in all are added up as numpy arrays once numpy is loaded: Whoosh's union and
# its collector step through them at a few µs a document.
SCORED_DOCUMENTS = 1_000


def as_arrays(postings: int) -> bool:
    """Whether lists of `postings` are matched as numpy arrays."""
    loaded = "search.whoosh_fast.arrays" in sys.modules
    return postings >= (ARRAY_POSTINGS if loaded else LOADING_POSTINGS)


def scored_as_arrays(documents: int) -> bool:
    """Whether scored lists of `documents` in all are added up as numpy arrays."""
    loaded = "search.whoosh_fast.arrays" in sys.modules
    return documents >= (SCORED_DOCUMENTS if loaded else LOADING_POSTINGS)


class ScoredList(matching.ListMatcher):
    """Sorted document numbers with their final scores, skipped through by bisection."""

    def __init__(self, ids: list[int], scores: list[float], position: int = 0) -> None:
        super().__init__(ids, weights=scores, position=position)
        self._best = max(scores, default=0.0)

    @classmethod
    def of(cls, scores: dict[int, float]) -> ScoredList:
        ids = sorted(scores)
        return cls(ids, list(map(scores.__getitem__, ids)))

    def copy(self):
        return ScoredList(self._ids, self._weights, self._i)

    def again(self) -> ScoredList:
        """The same list from its first document, for a deeper read of the same query."""
        return ScoredList(self._ids, self._weights)

    def skip_to(self, id: int) -> None:
        self._i = max(self._i, bisect_left(self._ids, id, self._i))

    def score(self) -> float:
        return self._weights[self._i]

    def remaining_ids(self) -> list[int]:
        """The document numbers from the current one on."""
        return self._ids[self._i:]

    def remaining(self) -> int:
        """How many documents from the current one on."""
        return len(self._ids) - self._i

    def remaining_scores(self) -> list[float]:
        """The scores from the current document on."""
        return self._weights[self._i:]

    def max_quality(self) -> float:
        return self._best

    def block_quality(self) -> float:
        return self._best

    def supports(self, astype: str) -> bool:
        return False


class ArrayScoredList(ScoredList):
    """A `ScoredList` of numpy arrays (`arrays`): the collector takes its best from the
    arrays (`collector.CountingTopCollector`), and it is made into lists only if stepped
    through (under a filter, in a larger query): 2-5 ms for a list of 100,000."""

    def __init__(self, documents, scores, position: int = 0) -> None:
        self.arrays = documents, scores
        self._i = position
        self._all_weights = self._values = self._format = self._scorer = None
        self._term = self._terminfo = None

    @cached_property
    def _ids(self) -> list[int]:
        return self.arrays[0].tolist()

    @cached_property
    def _weights(self) -> list[float]:
        return self.arrays[1].tolist()

    @cached_property
    def _best(self) -> float:
        scores = self.arrays[1]
        return float(scores.max()) if len(scores) else 0.0

    def is_active(self) -> bool:
        return self._i < len(self.arrays[0])

    def remaining(self) -> int:
        return len(self.arrays[0]) - self._i

    def remaining_arrays(self):
        """The documents and scores from the current one on, as arrays."""
        documents, scores = self.arrays
        return documents[self._i:], scores[self._i:]

    def copy(self):
        return ArrayScoredList(*self.arrays, self._i)

    def again(self) -> ArrayScoredList:
        return ArrayScoredList(*self.arrays)


class TermScorer:
    """One term's BM25F score in a document from its frequency there, as Whoosh's
    scorer and a boosted term's matcher compute it (with the same global statistics)."""

    def __init__(self, searcher, fieldname: str, text: bytes, boost: float) -> None:
        scorer = searcher.weighting.scorer(searcher, fieldname, text)
        self._statistics = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        self._boost = boost
        self.reader, self.fieldname = searcher.reader(), fieldname
        # The field's length byte of each document, read once (None: not a Whoosh 3
        # segment, whose lengths are asked one by one).
        self.length_bytes = length_column(self.reader, fieldname)
        # docnum → the field's length
        self.length = field_lengths(self.reader, fieldname, self.length_bytes)
        # Scores by (frequency, length byte), the only two things a score depends on here,
        # for `each`: a word's postings repeat a few thousand pairs, and a look-up costs
        # half the computation (`autres~`'s 617,000 postings at 360k).
        self._scores: dict[tuple[float, int], float] = {}

    @property
    def parameters(self) -> tuple[float, float, float, float, float]:
        """(idf, average field length, B, K1, boost): what a score is computed from, besides
        the document's frequency and field length."""
        return (*self._statistics, self._boost)

    def each(self, postings: Iterable[tuple[int, float]]) -> Iterator[tuple[int, float]]:
        """(document number, score) for each (document number, term frequency)."""
        if self.length_bytes is None:  # not a Whoosh 3 segment: its lengths asked one by one
            for docnum, tf in postings:
                yield docnum, self.score(docnum, tf)
            return
        stored, known, scores = self.length_bytes, len(self.length_bytes), self._scores
        for docnum, tf in postings:
            key = (tf, stored[docnum] if docnum < known else -1)
            found = scores.get(key)
            yield docnum, (self._computed(key) if found is None else found)

    def block_scores(self, block: Block) -> list[float]:
        """The score of each document of a decoded block, as `each` gives them (a list
        made at once: ranking one word scores most documents of the blocks it reads)."""
        pairs = zip(block.ids, block.weights, strict=True)
        if self.length_bytes is None:
            return [self.score(docnum, tf) for docnum, tf in pairs]
        stored, known, scores = self.length_bytes, len(self.length_bytes), self._scores
        return [found if (found := scores.get(key)) is not None else self._computed(key)
                for key in [(tf, stored[docnum] if docnum < known else -1)
                            for docnum, tf in pairs]]

    def score(self, docnum: int, tf: float) -> float:
        """One document's score (not remembered: a document at a time, as ranking one
        word asks, the look-up cost more than it saved)."""
        idf, avgfl, b, k1 = self._statistics
        return scoring.bm25(idf, tf, self.length(docnum), avgfl, b, k1) * self._boost

    def _computed(self, key: tuple[float, int]) -> float:
        """The score for (frequency, length byte), -1 for a document past the length
        column (its length reads as 1, as in `field_lengths`), remembered."""
        tf, byte = key
        idf, avgfl, b, k1 = self._statistics
        length = LENGTH_OF_BYTE[byte] if byte >= 0 else 1
        score = self._scores[key] = scoring.bm25(idf, tf, length, avgfl, b, k1) * self._boost
        return score

    def bound(self, block: Block) -> float:
        """At least the score of every document of `block`: BM25 grows with the term's
        frequency and falls with the field's length (Whoosh's block quality)."""
        # Past the column's end, a document's length reads as 1 (`field_lengths`).
        known = len(self.length_bytes) if self.length_bytes is not None else float("inf")
        last = block.last if block.last is not None else (block.ids[-1] if block.ids else -1)
        if block.max_weight is None or not block.min_length or last >= known:
            return float("inf")
        idf, avgfl, b, k1 = self._statistics
        return scoring.bm25(idf, block.max_weight, block.min_length, avgfl, b, k1) * self._boost


UNKNOWN = object()  # a matcher whose scores `sum_plan` cannot follow


def sum_plan(matcher, leaves: list[tuple[str, bytes, float]]):
    """How Whoosh's matcher for an OR of terms adds its terms' scores, which decides a
    score's last bits: None for a term absent from the segment, the index in `leaves`
    of a (field, term, boost), (a, b) for a union adding a's score to b's, or a list
    added left to right (Whoosh's preloaded OR, on segments of at most 5,000 documents);
    `UNKNOWN` for anything else."""
    return _union_plan(matcher, lambda leaf: _term_leaf(leaf, leaves))


def list_sum_plan(matcher, leaves: list[ScoredList]):
    """`sum_plan` for an OR of our scored lists (a phrase in several fields): the index
    in `leaves` of each list that has documents (the list again from its first one)."""
    return _union_plan(matcher, lambda leaf: _list_leaf(leaf, leaves))


def _union_plan(matcher, leaf_plan: Callable):
    """The plan of Whoosh's unions over the matchers that `leaf_plan` makes a plan of."""
    if isinstance(matcher, matching.NullMatcherClass):
        return None
    if type(matcher) is matching.UnionMatcher:
        a, b = _union_plan(matcher.a, leaf_plan), _union_plan(matcher.b, leaf_plan)
        if UNKNOWN in (a, b):
            return UNKNOWN
        return b if a is None else a if b is None else (a, b)
    if type(matcher) is matching.ArrayUnionMatcher and matcher._boost == 1.0:
        parts = [_union_plan(child, leaf_plan) for child in matcher._submatchers]
        if UNKNOWN in parts:
            return UNKNOWN
        return [part for part in parts if part is not None]
    return leaf_plan(matcher)


def _term_leaf(matcher, leaves: list[tuple[str, bytes, float]]):
    boost = 1.0
    if type(matcher) is matching.WrappingMatcher:
        matcher, boost = matcher.child, matcher.boost
    if type(matcher) is FilterMatcher and matcher.boost == 1.0:  # deleted documents
        matcher = matcher.child
    term = getattr(matcher, "_term", None)
    if not isinstance(term, tuple) or not hasattr(matcher, "_read_weights"):
        return UNKNOWN
    leaves.append((term[0], term[1], boost))
    return len(leaves) - 1


def _list_leaf(matcher, leaves: list[ScoredList]):
    if type(matcher) not in (ScoredList, ArrayScoredList):
        return UNKNOWN
    matcher = matcher.again()  # from its first document: a preloaded OR read them all
    if not matcher.is_active():
        return None
    leaves.append(matcher)
    return len(leaves) - 1


def compiled_sum(plan) -> Callable[[list[float]], float]:
    """The sum of the leaves' scores added as `plan` (`sum_plan`) says, as one function of
    them, 0.0 where a document lacks a leaf: adding 0.0 changes no bit of a sum, so a
    document's score is the one Whoosh's tree adds up."""
    if type(plan) is int:
        return itemgetter(plan)
    if type(plan) is tuple:
        first, second = compiled_sum(plan[0]), compiled_sum(plan[1])
        return lambda scores: first(scores) + second(scores)
    parts = [compiled_sum(part) for part in plan]
    if not parts:
        return lambda scores: 0.0
    if len(parts) == 1:
        return parts[0]

    def added(scores: list[float]) -> float:
        total = parts[0](scores)
        for part in parts[1:]:
            total += part(scores)
        return total
    return added


# A block is skipped when its bound, so raised, is still below the k-th best score: the
# bound adds the fields' bounds in another order than the scores are added.
_BOUND_MARGIN = 1 + 1e-9


# What a deeper read of the same word shares with the first (`BestOfFields.again`): not
# the list a matcher scores when used as any other (its position moves).
_KEPT_FOR_AGAIN = frozenset(
    {"_sum", "_scorers", "_terms", "_bounds", "count_is_exact", "_at_least", "counted",
     "_postings", "_reader", "_leaves", "_longest", "_arrays", "scored_at_once"})


class BestOfFields(ScoredList):
    """The documents of one word's fields: scored only where they can reach the best
    `limit` (`best`), counted from their ids (exactly when `count_is_exact`, else at
    least), or all scored when used as any other matcher (under a filter, in a larger
    query).

    The fields are taken best bound first (MaxScore): a document first met in a field
    scores at most its block's bound there plus the bounds of the fields after it, so a
    block is decoded and scored only while that sum can still reach the k-th best score
    so far. For `plus`, the best articles have it in their title, and the documents
    without it in their title are left unscored.

    Counting exactly decodes every block of every field (the union of their documents);
    past `exact_postings` postings, only the blocks ranking needs are decoded and the
    count is a lower bound: the documents of the largest field (its document frequency,
    less the segment's deleted documents), or those decoded, whichever is more.

    Where the segment's file of long lists holds the word's longest field
    (`scored_at_once`), every document is scored at once from it instead, and counted
    exactly: `fait` at 360k, 170,000 articles, in 22 ms rather than 66.
    """

    counted: Collection[int] = ()  # the documents matched, once `count` counted them all

    def __init__(self, searcher, leaves: list[tuple[str, bytes, float]], plan,
                 exact_postings: float = float("inf")) -> None:
        reader = self._reader = searcher.reader()
        self._leaves = leaves
        self._arrays = None  # every document and its score, once scored at once
        self._sum = compiled_sum(plan)
        self._scorers = [TermScorer(searcher, fieldname, text, boost)
                         for fieldname, text, boost in leaves]
        frequencies = [reader.doc_frequency(fieldname, text) for fieldname, text, _ in leaves]
        # the leaf with the most postings, whose long list decides `scored_at_once`
        self._longest = leaves[frequencies.index(max(frequencies))] if leaves else None
        self._postings = sum(frequencies)
        self.count_is_exact = self._postings <= exact_postings
        deleted = reader.doc_count_all() - reader.doc_count()
        self._at_least = max((found - deleted for found in frequencies), default=0)

    @cached_property
    def _terms(self) -> list[TermBlocks]:
        """Each leaf's blocks, their headers read (not when scored at once)."""
        return [TermBlocks(self._reader, fieldname, text) for fieldname, text, _ in self._leaves]

    @cached_property
    def _bounds(self) -> list[list[float]]:
        """The bound of each leaf's blocks."""
        return [[scorer.bound(head) for head in terms.heads]
                for scorer, terms in zip(self._scorers, self._terms, strict=True)]

    def again(self) -> BestOfFields:
        """A new matcher of the same word in the same segment, for a deeper read of the
        same query: it decodes no block decoded already, and counts exactly without a
        second union of the documents."""
        fresh = object.__new__(BestOfFields)
        fresh.__dict__.update({name: value for name, value in vars(self).items()
                               if name in _KEPT_FOR_AGAIN})
        return fresh

    def __getattr__(self, name: str):
        """Scores every document the first time the matcher is used as a list."""
        if name not in ("_ids", "_weights", "_i", "_best", "_values", "_scorer", "_term"):
            raise AttributeError(name)
        if as_arrays(self._postings):
            self._score_all_as_arrays()
            return getattr(self, name)
        frequencies = [self._frequencies(leaf) for leaf in range(len(self._terms))]
        ids = sorted(set().union(*frequencies))
        ScoredList.__init__(self, ids, [
            self._sum([0.0 if (tf := found.get(docnum)) is None else scorer.score(docnum, tf)
                       for scorer, found in zip(self._scorers, frequencies, strict=True)])
            for docnum in ids])
        return getattr(self, name)

    @cached_property
    def scored_at_once(self) -> bool:
        """Whether every document is scored at once as numpy arrays rather than ranked by
        its blocks' bounds: where the segment's file of long lists holds the word's
        longest field, reading and scoring every posting from it costs less than walking
        the blocks that can hold the best, and it counts them exactly."""
        if self._longest is None or not as_arrays(self._postings):
            return False
        from search.whoosh_fast import arrays

        fieldname, text, _ = self._longest
        return arrays.is_written(self._reader, fieldname, text)

    def scored_arrays(self):
        """Every document (ascending) and its score, as numpy arrays (`arrays`), each
        leaf's scores added as Whoosh's tree adds them (`compiled_sum` over arrays, 0.0
        where a document lacks a leaf): the same scores to the last bit."""
        from search.whoosh_fast import arrays

        if self._arrays is None:
            postings = [arrays.read(self._reader, fieldname, text)
                        for fieldname, text, _ in self._leaves]
            documents = arrays.united([found.ids for found in postings])
            scores = self._sum([arrays.aligned(documents, scorer, found)
                                for scorer, found in zip(self._scorers, postings, strict=True)])
            # a float where no leaf is in the segment: no document either
            self._arrays = documents, arrays.as_array(scores, len(documents))
        return self._arrays

    def _score_all_as_arrays(self) -> None:
        documents, scores = self.scored_arrays()
        ScoredList.__init__(self, documents.tolist(), scores.tolist())

    def _frequencies(self, leaf: int) -> dict[int, float]:
        """docnum → the term's frequency, for every document of a field."""
        found = {}
        for block in self._terms[leaf].every_block():
            found.update(zip(block.ids, block.weights, strict=True))
        return found

    def count(self) -> int:
        """The documents matched: exactly when `count_is_exact`, else at least."""
        if self.counted:
            return len(self.counted)
        if not self.count_is_exact:
            if not all(terms.all_decoded() for terms in self._terms):
                return max(self._at_least, len(self._decoded_ids()))
            self.count_is_exact = True
        documents: set[int] = set()
        for terms in self._terms:
            for block in terms.every_block():
                documents.update(block.ids)
        self.counted = documents
        return len(documents)

    def matches(self, docnum: int) -> bool:
        """Whether the word is in `docnum`, in one of its fields (the blocks that would
        hold it decoded): where the count is a lower bound, what was counted cannot say."""
        return any(terms.frequency(docnum) is not None for terms in self._terms)

    def _decoded_ids(self) -> set[int]:
        return {docnum for terms in self._terms for block in terms.decoded()
                for docnum in block.ids}

    def _score(self, docnum: int) -> float:
        scores = [0.0] * len(self._terms)
        for leaf, terms in enumerate(self._terms):
            tf = terms.frequency(docnum)
            if tf is not None:
                scores[leaf] = self._scorers[leaf].score(docnum, tf)
        return self._sum(scores)

    def best(self, limit: int, items: list[tuple[float, int]], offset: int) -> list:
        """`items`, a heap of (score, -document number) such as Whoosh's collector keeps,
        with this segment's documents added (numbered from `offset`), kept to the `limit`
        best: by score, then lowest number first.

        A block is decoded only if its bound plus the best bounds of the later fields'
        blocks over its documents can reach the k-th best; a document of it is scored
        only if its score in this field plus the bounds of its blocks in the other fields
        (read from their headers) can still reach it: the other fields' blocks are
        decoded only for those."""
        items = list(items)
        if limit <= 0:
            return items
        leaves = sorted(range(len(self._terms)), key=lambda leaf: -self._ceiling(leaf))
        for at, leaf in enumerate(leaves):
            # A document first found in this field has no score from the ones before.
            rest = sum(self._ceiling(later) for later in leaves[at + 1:])
            earlier = [self._terms[before] for before in leaves[:at]]
            others = leaves[:at] + leaves[at + 1:]
            later = leaves[at + 1:]
            bounds, scorer, terms = self._bounds[leaf], self._scorers[leaf], self._terms[leaf]
            for number in sorted(range(len(bounds)), key=lambda block: -bounds[block]):
                if len(items) >= limit and (bounds[number] + rest) * _BOUND_MARGIN < items[0][0]:
                    break
                span = terms.span(number)
                if len(items) >= limit and (bounds[number] + self._bound_over(span, later)) \
                        * _BOUND_MARGIN < items[0][0]:
                    continue  # not even with the best blocks of the later fields beside it
                near = self._bound_over(span, others)
                # The other fields whose blocks over this one are all decoded give each
                # document its exact score there; the others, their blocks' bounds.
                exact, bounded = [], []
                for other in others:
                    found = self._terms[other].decoded_over(*span)
                    if found is None:
                        bounded.append(other)
                    else:
                        exact.append((found, self._scorers[other].score))
                block = terms.block(number)
                for docnum, score in zip(block.ids, scorer.block_scores(block), strict=True):
                    if len(items) >= limit:
                        if (score + near) * _BOUND_MARGIN < items[0][0]:
                            continue
                        for frequencies, score_in in exact:
                            if (other_tf := frequencies.get(docnum)) is not None:
                                score += score_in(docnum, other_tf)
                        if bounded:
                            score += self._bound_elsewhere(docnum, bounded)
                        if score * _BOUND_MARGIN < items[0][0]:
                            continue
                    if any(terms.frequency(docnum) is not None for terms in earlier):
                        continue
                    key = (self._score(docnum), -(offset + docnum))
                    if len(items) < limit:
                        heapq.heappush(items, key)
                    elif key > items[0]:
                        heapq.heapreplace(items, key)
        return items

    def _bound_over(self, span: tuple[int, int], leaves: list[int]) -> float:
        """At least the score in the fields `leaves` of every document numbered within
        `span`: the best bound of their blocks over it (block-max). Each field's ceiling
        bounds every document; its blocks' bounds bound a part of them."""
        total = 0.0
        for leaf in leaves:
            bounds = self._bounds[leaf]
            over = self._terms[leaf].blocks_over(*span)
            if over:
                total += max(bounds[over.start:over.stop])
        return total

    def _bound_elsewhere(self, docnum: int, leaves: list[int]) -> float:
        """At least the score of `docnum` in the fields `leaves`: its score where the block
        that would hold it is decoded, else that block's bound, without decoding it."""
        total = 0.0
        for leaf in leaves:
            terms = self._terms[leaf]
            at = terms.block_at(docnum)
            if at is None:
                continue
            if not terms.is_decoded(at):
                total += self._bounds[leaf][at]
            elif (tf := terms.decoded_frequency(docnum)) is not None:
                total += self._scorers[leaf].score(docnum, tf)
        return total

    def _ceiling(self, leaf: int) -> float:
        """At least the score of every document in a field."""
        return max(self._bounds[leaf], default=0.0)
