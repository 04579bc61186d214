"""Whoosh queries matched through our own matchers (`search.whoosh_fast.matchers`): the
same documents and scores as Whoosh's own classes, computed from posting lists read
whole rather than a document at a time.

Overrides Whoosh's private hook `_btexts` (the terms a truncated or fuzzy word stands for)."""

from __future__ import annotations

from bisect import bisect_left
from itertools import pairwise

from whoosh import query as wq

from search.whoosh_fast.matchers import (
    UNKNOWN,
    ArrayScoredList,
    BestOfFields,
    ScoredList,
    TermScorer,
    as_arrays,
    compiled_sum,
    list_sum_plan,
    scored_as_arrays,
    sum_plan,
)
from search.whoosh_fast.postings import (
    blocks,
    looked_up,
    position_gaps_of,
    positions_at,
    positions_of,
    postings_with_positions,
)


class Expansion:
    """Truncated and fuzzy words: their terms listed once per query and index reader, and
    matched as one list of documents, each scored the sum of its terms' scores.

    Whoosh expands a prefix or fuzzy word again each time it is asked (matching, then the
    highlighter for every hit; a fuzzy word computes an edit distance against every term
    of its first letter), and matches an expansion as a tree of one matcher per term,
    which its collector walks every ten matches: `prem*` expands to hundreds of terms.
    Here each term's postings are read once into one sorted list where a document has the
    sum of its terms' BM25F scores, times the boost: on an index of more than 5,000
    documents, exactly what Whoosh's tree computes (adding the same numbers in another
    order), so the ranking does not change. On a smaller one, Whoosh gives every
    document of a multi-term expansion the score 1 (its preloaded OR of a "constant
    score" query), which ranks them in index order: here they rank by relevance on
    any index.
    """

    def _btexts(self, ixreader) -> list[bytes]:
        cache = self.__dict__.setdefault("_expansions", [])
        for reader, words in cache:
            if reader is ixreader:
                return words
        words = []
        for word in super()._btexts(ixreader):
            if word:
                words.append(word)
                self.listed(len(words))
        self.expanded(ixreader, words)
        cache.append((ixreader, words))
        return words

    def words(self, segment) -> list[bytes]:
        """The terms this word stands for in one segment, listed once."""
        return self._btexts(segment)

    def listed(self, count: int) -> None:
        """Called as each term is listed, with the count so far: may stop the listing by
        raising."""

    def expanded(self, segment, words: list[bytes]) -> None:
        """Called once the terms of a segment are listed, before any posting is read."""

    def scores(self, searcher) -> dict[int, float]:
        """Each matching document's score: the sum of its expanded terms' scores."""
        fieldname = self.field()
        reader = searcher.reader()
        if as_arrays(_postings(self, reader)):
            from search.whoosh_fast import arrays
            return arrays.as_dict(_scored_arrays_of(self, searcher, None))
        scores: dict[int, float] = {}
        for word in self._btexts(reader):
            scorer = TermScorer(searcher, fieldname, word, self.boost)
            found: dict[int, float] = {}
            for block in blocks(reader, fieldname, word):
                found.update(zip(block.ids, scorer.block_scores(block), strict=True))
            summed_into(scores, found)
        return scores

    def ids(self, searcher) -> set[int]:
        """The matching documents, unscored: the union of the expanded terms' ids."""
        fieldname, reader = self.field(), searcher.reader()
        return {docnum for word in self._btexts(reader)
                for block in blocks(reader, fieldname, word) for docnum in block.ids}

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context=None):
        if unscored(context):
            return unscored_list(self.ids(searcher))
        return ScoredList.of(self.scores(searcher))


def unscored(context) -> bool:
    """Whether Whoosh asks for the documents only (`Searcher.docs_for_query`, the counts
    and facets): its boolean context has no weighting."""
    return context is not None and context.weighting is None


def unscored_list(ids: set[int]) -> ScoredList:
    """Documents without scores (each 0): what a count or a facet reads."""
    ordered = sorted(ids)
    return ScoredList(ordered, [0.0] * len(ordered))


class SummedOr(wq.Or):
    """An OR scored as one list: each document has the sum of its branches' scores, as
    Whoosh's OR gives it.

    The sums are added in the query's order, where Whoosh's tree of unions adds them in
    an order of its own: a score can differ from Whoosh's in its last bit, so that two
    articles Whoosh scores exactly alike from different fields (one word in the title of
    the one, in the body of the other) may rank the other way round. Identical articles,
    such as republished dispatches, still score alike.

    A truncated word (`prem*`) in each of its fields, or a ranked OR of many words,
    matches thousands of documents: Whoosh's union of matchers, then its collector, walk
    them a document at a time, where a list scored at once is taken whole
    (`searcher._CountingTopCollector`).
    """

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context=None):
        if unscored(context):
            return unscored_list(ids_of(self, searcher, context))
        if as_arrays(_postings(self, searcher.reader())):
            return ArrayScoredList(*_scored_arrays_of(self, searcher, context))
        return ScoredList.of(scores_of(self, searcher, context))


# A word whose postings outnumber the documents still in the running by more than this is
# looked up document by document (skipping whole blocks) rather than read whole.
PROBE_RATIO = 16


class AllWords(wq.And):
    """Several words, each in any of its fields (`Macron gouvernement`): the commonest
    query, matched by reading postings into tables rather than through Whoosh's tree.

    Whoosh intersects one union of field matchers per word, moving through them a document
    at a time in Python, which on two frequent words costs more than reading their postings
    whole. Here the rarest word's postings are read, each next word's are read whole or,
    when they far outnumber the documents left, looked up for those only; the documents
    that have every word then get the sum of their BM25F scores, as Whoosh's tree gives them
    but added in another order (see `SummedOr`). On OrangeSum, the same hits, order and
    totals as Whoosh's `And`; p95 for two words 57.6 → 35.7 ms, three words 49.5 → 28.1 ms
    (`bench/speed.py` queries, same run). Long lists are matched the same way as numpy
    arrays (`_all_words_as_arrays`).
    """

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context) -> ScoredList:
        reader = searcher.reader()
        words = sorted((_in_fields(searcher, group) for group in self.subqueries),
                       key=lambda terms: sum(count for *_, count in terms))
        if as_arrays(sum(count for terms in words for *_, count in terms)):
            return _all_words_as_arrays(searcher, words, scored=not unscored(context))
        found: list[int] | None = None  # documents with every word so far, ascending
        tables = []  # per field of every word: its term frequencies and its BM25F scorer
        for terms in words:
            postings = sum(count for *_, count in terms)
            documents: set[int] = set()
            for fieldname, text, boost, _ in terms:
                frequencies = _frequencies(reader, fieldname, text, found, postings)
                documents.update(frequencies)
                tables.append((frequencies, fieldname, text, boost))
            found = sorted(documents if found is None else documents.intersection(found))
            if not found:
                return ScoredList([], [])
        if unscored(context):  # counts, facets, hits sorted by date
            return unscored_list(set(found))
        scores = dict.fromkeys(found, 0.0)
        for frequencies, fieldname, text, boost in tables:
            scorer = TermScorer(searcher, fieldname, text, boost)
            # the documents of both, walked from the smaller side
            both = ((docnum, frequencies[docnum]) for docnum in found if docnum in frequencies) \
                if len(found) < len(frequencies) else \
                ((docnum, tf) for docnum, tf in frequencies.items() if docnum in scores)
            for docnum, score in scorer.each(both):
                scores[docnum] += score
        return ScoredList(found, list(scores.values()))


def _all_words_as_arrays(searcher, words: list[list[tuple[str, bytes, float, int]]],
                         scored: bool) -> ScoredList:
    """`AllWords` matched over numpy arrays (`arrays`): the same documents, read the same
    way (whole, or looked up among those left), and the same scores to the last bit.
    `words`: each word's (field, term, boost, postings), the rarest word first."""
    from search.whoosh_fast import arrays

    reader = searcher.reader()
    found = None  # documents with every word so far, ascending
    terms: list[tuple[TermScorer, arrays.Postings]] = []
    for fields in words:
        postings = sum(count for *_, count in fields)
        lists = []
        for fieldname, text, boost, _ in fields:
            read = (arrays.read_among(reader, fieldname, text, found)
                    if _looked_up(found, postings) else arrays.read(reader, fieldname, text))
            lists.append(read.ids)
            terms.append((TermScorer(searcher, fieldname, text, boost), read))
        documents = arrays.united(lists)
        found = documents if found is None else arrays.intersection(documents, found)
        if not len(found):
            return ScoredList([], [])
    if not scored:  # counts, facets, hits sorted by date
        return ScoredList(found.tolist(), [0.0] * len(found))
    return ArrayScoredList(found, arrays.summed_scores(found, terms))


def _looked_up(found, postings: int) -> bool:
    """Whether a word's `postings` are looked up among the documents `found` so far
    (None before the first word) rather than read whole: they outnumber them more than
    `PROBE_RATIO` times."""
    return found is not None and len(found) * PROBE_RATIO < postings


class PhraseWords(wq.Phrase):
    """A phrase (`"devant la justice"`, `"a b"~3`): the documents having every word read
    from posting lists as `AllWords` reads them, then the positions of those only.

    Whoosh intersects the words' matchers a document at a time and reads each candidate's
    spans through them: on OrangeSum, phrases of frequent words spent most of their time
    skipping through posting blocks. Here a document matches when its words follow each
    other in order, each within `slop` positions of the one before (Whoosh's `SpanNear2`
    with `ordered=True, mindist=1`), and scores what Whoosh's tree of intersections gives:
    its words' BM25F scores summed in the same order (`_tree_sum`), times the boost.
    """

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context):
        fieldname = self.fieldname
        field = searcher.schema[fieldname] if fieldname in searcher.schema else None
        if field is None or not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)
        reader = searcher.reader()
        texts = []
        for word in self.words:
            try:
                text = field.to_bytes(word)
            except ValueError:
                return ScoredList([], [])
            if (fieldname, text) not in reader:
                return ScoredList([], [])
            texts.append(text)
        distinct = sorted(dict.fromkeys(texts),
                          key=lambda text: reader.doc_frequency(fieldname, text))
        if self.slop == 1:
            found = self._matched_from_lists(searcher, context, texts, distinct)
            if found is not None:
                return found
        # The commonest word of a phrase of three words or more (`la` in `devant la
        # justice`) is read last, only where the others stand as the phrase needs them.
        rare = distinct if len(distinct) < 3 else distinct[:-1]
        found: list[int] | None = None  # documents with every word so far, ascending
        frequencies = {}
        encoded = {}  # of the words read whole with their positions: those still encoded
        for text in rare:
            postings = reader.doc_frequency(fieldname, text)
            read = (postings_with_positions(reader, fieldname, text)
                    if not _looked_up(found, postings) else None)
            if read is None:
                frequencies[text] = _frequencies(reader, fieldname, text, found, postings)
            else:
                frequencies[text], encoded[text] = read
            found = sorted(frequencies[text] if found is None
                           else frequencies[text].keys() & found)
            if not found:
                return ScoredList([], [])
        # Many candidates of an exact phrase are checked and scored as numpy arrays, their
        # positions added up at once.
        vectorized = self.slop == 1 and as_arrays(len(found) * len(texts))
        if vectorized:
            from search.whoosh_fast import arrays
            positions = {text: arrays.Positions.of_gaps(
                found, position_gaps_of(encoded[text], found)) if text in encoded
                else arrays.Positions.of_lists(
                    found, positions_at(reader, fieldname, text, found)[1]) for text in rare}
        else:
            positions = {text: positions_of(encoded[text], found) if text in encoded
                         else positions_at(reader, fieldname, text, found)[1] for text in rare}
        if len(rare) < len(distinct):
            known = [(at, text) for at, text in enumerate(texts) if text in frequencies]
            if vectorized:
                found = arrays.in_phrase(found, [(at, positions[text]) for at, text in known])
            else:
                gaps = [after - before for (before, _), (after, _) in pairwise(known)]
                found = [docnum for docnum in found if _in_order(
                    [positions[text][docnum] for _, text in known], self.slop, gaps)]
            common = distinct[-1]
            frequencies[common], positions[common] = positions_at(reader, fieldname,
                                                                   common, found)
            found = [docnum for docnum in found if docnum in frequencies[common]]
            if vectorized:
                positions[common] = arrays.Positions.of_lists(found, positions[common])
        if vectorized:
            matched = arrays.in_phrase(found, [(at, positions[text])
                                               for at, text in enumerate(texts)])
        else:
            matched = [docnum for docnum in found if _in_order(
                [positions[text][docnum] for text in texts], self.slop)]
        if unscored(context):
            return unscored_list(set(matched))
        scorers = {text: TermScorer(searcher, fieldname, text, 1.0) for text in distinct}
        if vectorized:
            each = {text: arrays.scores_in(scorers[text], matched, frequencies[text])
                    for text in distinct}
            return ScoredList(matched, (_tree_sum([each[text] for text in texts])
                                        * self.boost).tolist())
        return ScoredList(matched, [
            _tree_sum([scorers[text].score(docnum, frequencies[text][docnum])
                       for text in texts]) * self.boost
            for docnum in matched])

    def _matched_from_lists(self, searcher, context, texts: list[bytes], distinct: list[bytes]
                            ) -> ScoredList | None:
        """An exact phrase whose commonest word the segment's file of long lists holds
        with its positions (`lists`), matched and scored as numpy arrays, every word read
        whole, from there or from its blocks: the same documents and scores as below.
        None where that file does not hold it."""
        reader = searcher.reader()
        if not as_arrays(reader.doc_frequency(self.fieldname, distinct[-1])):
            return None
        import numpy as np

        from search.whoosh_fast import arrays

        if not arrays.is_written(reader, self.fieldname, distinct[-1]):
            return None

        read = {}
        for text in distinct:
            read[text] = arrays.read_with_positions(reader, self.fieldname, text)
            if read[text] is None:
                return None
        found = read[distinct[0]][0].ids
        for text in distinct[1:]:
            found = arrays.intersection(found, read[text][0].ids)
        matched = arrays.in_phrase(found, [(at, read[text][1]) for at, text in enumerate(texts)])
        if unscored(context):
            return unscored_list(set(matched))
        matched_ids = np.asarray(matched, dtype=np.int64)
        each = {text: arrays.aligned(matched_ids, TermScorer(searcher, self.fieldname, text,
                                                             1.0), read[text][0])
                for text in distinct}
        return ArrayScoredList(matched_ids,
                               _tree_sum([each[text] for text in texts]) * self.boost)


class PhraseInFields(wq.Or):
    """A phrase in each of its fields (the words as written in the title, the lead, the
    dateline and the body), its fields' matches added up at once.

    Whoosh's union of the fields' `PhraseWords` lists, and its collector, walk their
    documents one at a time: 43,000 for `"trois mois"` at 1M articles, most of its time
    once the lists are read from the long lists. Here the lists are added as arrays in the
    order Whoosh's tree of unions adds them (`list_sum_plan`), 0.0 where a document lacks
    a field, and given to the collector whole: the same documents and scores to the last
    bit."""

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context=None):
        whoosh = super().matcher(searcher, context)
        lists: list[ScoredList] = []
        plan = list_sum_plan(whoosh, lists)
        if plan is UNKNOWN or plan is None or not scored_as_arrays(
                sum(found.remaining() for found in lists)):
            return whoosh
        if unscored(context):
            return unscored_list(set().union(*(found.remaining_ids() for found in lists)))
        from search.whoosh_fast import arrays

        documents, each = arrays.aligned_lists([
            found.remaining_arrays() if isinstance(found, ArrayScoredList)
            else (found.remaining_ids(), found.remaining_scores()) for found in lists])
        return ArrayScoredList(documents, arrays.as_array(compiled_sum(plan)(each),
                                                          len(documents)))


def _frequencies(reader, fieldname: str, text: bytes, found: list[int] | None,
                 postings: int) -> dict[int, float]:
    """A term's frequency in each document that has it: its postings read whole, or looked
    up among `found` (the documents still in the running, ascending) when the word's
    `postings` outnumber them more than `PROBE_RATIO` times."""
    if _looked_up(found, postings):
        return looked_up(reader, fieldname, text, found)
    frequencies: dict[int, float] = {}
    for block in blocks(reader, fieldname, text):
        frequencies.update(zip(block.ids, block.weights, strict=True))
    return frequencies


def summed_into(total: dict[int, float], more: dict[int, float]) -> None:
    """Adds the scores of `more` (used up) to those of `total`, document by document, with
    the sums that adding them one at a time gives (float addition commutes): the
    documents new to `total` are copied at once, only those of both are added in Python
    (`prem*` at 360k: 543,000 postings over a few hundred terms, few of them together)."""
    if total:
        for docnum in more.keys() & total.keys():
            more[docnum] += total[docnum]
    total.update(more)


def _remembered(query: wq.Query, searcher, context, match):
    """What `match(searcher, context)` finds for `query` in one segment, a `ScoredList`
    (or `BestOfFields`) computed once per segment reader and kind of context (scored or
    not) while the query lives, each later use going on from it (`again`): a search whose
    first hits are copies of a few dispatches reads deeper hits with the same query, which
    matched every document again (three times over on the 10x archive, whose articles each
    have nine copies). Any other matcher is not kept."""
    key = (searcher.reader(), unscored(context))
    kept = query.__dict__.setdefault("_remembered_lists", [])
    for (reader, unscored_context), first in kept:
        if reader is key[0] and unscored_context == key[1]:
            return first.again()
    found = match(searcher, context)
    if isinstance(found, ScoredList):
        kept.append((key, found))
    return found


def _in_order(positions: list[list[int]], slop: int, gaps: list[int] | None = None) -> bool:
    """Whether one position of each list (ascending) follows one of the list before it by
    1 to `slop`: Whoosh's ordered spans, which only their last position extends. With
    `gaps`, the lists are of words that many words apart in the phrase, each then
    `gap` to `gap * slop` positions after the one before."""
    reached = positions[0]
    for step, following in enumerate(positions[1:]):
        gap = gaps[step] if gaps else 1
        reached = [at for at in following
                   if (i := bisect_left(reached, at - gap * slop)) < len(reached)
                   and reached[i] <= at - gap]
        if not reached:
            return False
    return bool(reached)


def _tree_sum(values: list[float]) -> float:
    """The sum of `values` as Whoosh's binary tree of matchers adds them
    (`whoosh.util.make_binary_tree`): halves, recursively."""
    if len(values) == 1:
        return values[0]
    half = len(values) // 2
    return _tree_sum(values[:half]) + _tree_sum(values[half:])


def field_terms(group: wq.Query) -> list[wq.Term] | None:
    """The plain terms of one word searched in several fields, or None if `group` is more."""
    terms = group.subqueries if isinstance(group, wq.Or) else [group]
    if group.boost == 1.0 and all(type(term) is wq.Term for term in terms):
        return terms
    return None


def _in_fields(searcher, group: wq.Query) -> list[tuple[str, bytes, float, int]]:
    """(field, term, boost, document count) of each field in which the word of `group` is."""
    reader = searcher.reader()
    terms = [(term.fieldname, searcher.schema[term.fieldname].to_bytes(term.text), term.boost)
             for term in field_terms(group)]
    return [(fieldname, text, boost, count) for fieldname, text, boost in terms
            if (count := reader.doc_frequency(fieldname, text))]


# A word with more postings than this in a segment is counted at least, not exactly: an
# exact count decodes every block of the word, where ranking decodes only the blocks that
# can hold the best documents (`plus` on OrangeSum's 36,000 articles: 30.3 ms ranked and
# counted, 24.4 ranked; a segment of 36,000 articles holds at most 20,277 postings of a
# word, so every count there is exact). On the 10x archive (two segments of 180,000),
# 100,000 kept 48 of the 50 frequent words' totals exact at a p95 of 59.6 ms, past the
# 50 ms target; 50,000 keeps 37 exact at 45.3 ms (`fait`: its exact count was 37 ms of 77).
# On a million articles (two segments of 500,000), 48 of those 50 are counted at least
# (24 with 100,000), the p95 unchanged (113 ms): their ranking is the cost there.
EXACT_COUNT_POSTINGS = 50_000


class OneWord(wq.Or):
    """One plain word in its fields (`plus`, the commonest query), ranked without scoring
    every posting, and counted exactly up to `EXACT_COUNT_POSTINGS` postings a segment.

    Whoosh walks a union of the fields' matchers a document at a time, scoring each
    (`plus`: 26,000 postings on OrangeSum's 36,000 articles). Here each field's postings
    are read a block at a time; the total is the size of the union of their documents.
    Only the documents of blocks whose best possible score (Whoosh's block quality: the
    largest term frequency, the shortest field) can still reach the top get scored
    (`BestOfFields`), each exactly as Whoosh's tree scores it: the same hits, order,
    scores and totals. On OrangeSum's 36,000 articles, matching and counting a frequent
    word costs 1.5 to 3.6 µs a posting where Whoosh's union took 17 (`plus`: 440 → 40 ms),
    the rest being the decoding of every block for the total: past
    `EXACT_COUNT_POSTINGS`, only the blocks ranking needs are decoded, and the total is a
    lower bound (`BestOfFields.count_is_exact`).
    """

    def matcher(self, searcher, context=None):
        # A deeper read of the same query (copies filling the first hits) goes on from
        # the blocks the first decoded and the documents it counted.
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context=None):
        if unscored(context):
            return unscored_list(ids_of(self, searcher, context))
        whoosh = super().matcher(searcher, context)
        leaves: list[tuple[str, bytes, float]] = []
        plan = sum_plan(whoosh, leaves)
        if plan is UNKNOWN or plan is None:
            return whoosh
        return BestOfFields(searcher, leaves, plan, exact_postings=EXACT_COUNT_POSTINGS)


def _indexed(term: wq.Term, searcher) -> bytes | None:
    """The term's bytes, if some document of the segment has it."""
    text = searcher.schema[term.fieldname].to_bytes(term.text)
    return text if searcher.reader().doc_frequency(term.fieldname, text) else None


def ids_of(query: wq.Query, searcher, context) -> set[int]:
    """Every document `query` matches, unscored: a term's or an expansion's ids read
    from their posting blocks, an OR's united, anything else from its matcher."""
    if isinstance(query, Expansion):
        return query.ids(searcher)
    if type(query) is wq.Term:
        text = _indexed(query, searcher)
        return set() if text is None else {
            docnum for block in blocks(searcher.reader(), query.fieldname, text)
            for docnum in block.ids}
    if isinstance(query, wq.Or) and not query.scale:
        return set().union(*(ids_of(child, searcher, context) for child in query.subqueries))
    return set(query.matcher(searcher, context).all_ids())


def scores_of(query: wq.Query, searcher, context) -> dict[int, float]:
    """Every document `query` matches, with its score."""
    if isinstance(query, Expansion):
        return query.scores(searcher)
    if type(query) is wq.Term:
        text = _indexed(query, searcher)
        if text is None:
            return {}
        scorer = TermScorer(searcher, query.fieldname, text, query.boost)
        scores = {}
        for block in blocks(searcher.reader(), query.fieldname, text):
            scores.update(zip(block.ids, scorer.block_scores(block), strict=True))
        return scores
    if isinstance(query, wq.Or) and type(query) is not OneWord and not query.scale:
        scores: dict[int, float] = {}
        for child in query.subqueries:
            summed_into(scores, scores_of(child, searcher, context))
        if query.boost != 1.0:
            scores = {docnum: score * query.boost for docnum, score in scores.items()}
        return scores
    matcher = query.matcher(searcher, context)
    scores = {}
    while matcher.is_active():
        scores[matcher.id()] = matcher.score()
        matcher.next()
    return scores


def _scored_arrays_of(query: wq.Query, searcher, context):
    """`scores_of` as numpy arrays (`arrays`): the documents, ascending, and their scores,
    the same sums to the last bit."""
    from search.whoosh_fast import arrays

    reader = searcher.reader()
    if isinstance(query, Expansion):
        fieldname = query.field()
        return arrays.summed([arrays.scored(TermScorer(searcher, fieldname, word, query.boost),
                                            arrays.read(reader, fieldname, word))
                              for word in query.words(reader)])
    if type(query) is wq.Term:
        text = _indexed(query, searcher)
        if text is None:
            return arrays.summed([])
        return arrays.scored(TermScorer(searcher, query.fieldname, text, query.boost),
                             arrays.read(reader, query.fieldname, text))
    if isinstance(query, wq.Or) and type(query) is not OneWord and not query.scale:
        documents, scores = arrays.summed([_scored_arrays_of(child, searcher, context)
                                           for child in query.subqueries])
        return documents, (scores * query.boost if query.boost != 1.0 else scores)
    return arrays.from_dict(scores_of(query, searcher, context))


def _postings(query: wq.Query, reader) -> int:
    """The postings of the terms that `scores_of` reads whole for `query` in a segment
    (none counted for the queries it asks their matcher)."""
    if isinstance(query, Expansion):
        return sum(reader.doc_frequency(query.field(), word) for word in query.words(reader))
    if type(query) is wq.Term:
        return reader.doc_frequency(query.fieldname, query.text)
    if isinstance(query, wq.Or) and type(query) is not OneWord and not query.scale:
        return sum(_postings(child, reader) for child in query.subqueries)
    return 0


class AnyOfTerms:
    """A range or prefix of terms used as a filter (`--since`, `--category`): the documents
    having any of its terms, read from the terms' posting id lists into one sorted list,
    each scored 0, once per segment (`_remembered`).

    Whoosh matches a range as a union of one matcher per term, which an AND with the
    query's words then walks a document at a time: `--since 2019` on the 36k OrangeSum
    index spans 636 date terms and cost 2.5 s of CPU where reading their ids costs tens
    of milliseconds."""

    def matcher(self, searcher, context=None):
        return _remembered(self, searcher, context, self._matched)

    def _matched(self, searcher, context=None):
        reader = searcher.reader()
        fieldname = self.field()
        found: set[int] = set()
        for word in self._btexts(reader):
            for block in blocks(reader, fieldname, word):
                found.update(block.ids)
        ids = sorted(found)
        return ScoredList(ids, [0.0] * len(ids))


class TermRangeFilter(AnyOfTerms, wq.TermRange):
    """`wq.TermRange` as a filter (`AnyOfTerms`)."""


class PrefixFilter(AnyOfTerms, wq.Prefix):
    """`wq.Prefix` as a filter (`AnyOfTerms`)."""
