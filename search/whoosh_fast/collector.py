"""Whoosh's top-N collector counting every match and taking our scored lists whole, and
the query's terms computed once per results.

Reads Whoosh's private internals: the collector's heap, total and matcher, which
`collect_matches` drives; the results' `query_terms`, which the highlighter calls."""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence

from whoosh import collectors, sorting

from search.whoosh_fast.matchers import ArrayScoredList, BestOfFields, ScoredList
from search.whoosh_fast.postings import blocks


class CountingTopCollector(collectors.TopCollector):
    """Whoosh's top-N collector, counting every match (`total_exact` says whether the
    count is exact or a lower bound).

    Once it holds N hits, Whoosh's collector rebuilds the matcher tree every ten
    matches without the branches that cannot reach the N-th score: the top N stay
    right, but the documents of those branches are no longer counted (`Macron`: 1,017
    of its 5,386 articles on OrangeSum). Here the tree is rebuilt without its
    exhausted branches only.
    """

    total_exact = True  # False once a matcher counted only at least its documents

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        # what each segment matched, as (its first number, kind, documents): kind "set" of
        # its numbers, "ascending" a sorted list of them, "matcher" a word counted at least
        # (`BestOfFields.matches`); a number past the segment's end is in none
        self._seen: list[tuple[int, str, Collection]] = []
        self._seen_one_by_one: list[int] = []  # index-wide numbers, ascending

    def matched(self, documents: Iterable[int]) -> set[int]:
        """Those of `documents` (index-wide numbers) that the query matched: from what was
        counted, or, where a word was counted at least, asked of its matcher (the blocks
        that would hold them decoded)."""
        found = set()
        for docnum in documents:
            if _in_ascending(self._seen_one_by_one, docnum):
                found.add(docnum)
                continue
            for first, kind, seen in self._seen:
                if first <= docnum and (
                        docnum - first in seen if kind == "set"
                        else seen.matches(docnum - first) if kind == "matcher"
                        else _in_ascending(seen, docnum - first)):
                    found.add(docnum)
        return found

    def results(self):
        """Whoosh's results, with `total_exact`."""
        found = super().results()
        found.total_exact = self.total_exact
        return found

    def _collect(self, global_docnum, score):
        key = super()._collect(global_docnum, score)
        self.minscore = 0
        self._seen_one_by_one.append(global_docnum)
        return key

    def collect_matches(self):
        """A matcher that has scored its documents already (`matchers.ScoredList`) is taken
        whole, as Whoosh's collector would keep them one by one: the best `limit` by
        score, the lowest document number first among equal scores."""
        matcher = self.matcher
        if not isinstance(matcher, ScoredList) or self.final_fn:
            super().collect_matches()
            return
        if isinstance(matcher, ArrayScoredList):
            documents, scores = matcher.remaining_arrays()
        elif isinstance(matcher, BestOfFields) and matcher.scored_at_once:
            documents, scores = matcher.scored_arrays()  # a matcher not stepped through
        else:
            documents = scores = None
        if documents is not None and self.limit:
            # numpy arrays: their best found as arrays
            from search.whoosh_fast import arrays

            self.total += len(documents)
            self._seen.append((self.offset, "ascending", documents))
            self._keep_best(zip(*arrays.best_of(documents, scores, self.limit), strict=True))
            return
        if isinstance(matcher, BestOfFields) and not (
                matcher.count_is_exact and self.limit >= matcher.count()):
            # scored only where they can make the top, counted from their documents' ids
            # (where every one is asked for, an export, all are scored at once below)
            self.items = matcher.best(self.limit, self.items, self.offset)
            self.total += matcher.count()
            self.total_exact = self.total_exact and matcher.count_is_exact
            self._seen.append((self.offset, "set", matcher.counted) if matcher.count_is_exact
                              else (self.offset, "matcher", matcher))
            return
        ids, scores = matcher.remaining_ids(), matcher.remaining_scores()
        self.total += len(ids)
        self._seen.append((self.offset, "ascending", ids))
        documents = zip(ids, scores, strict=True)
        if self.limit and len(ids) > self.limit:
            # Only this segment's best `limit` can make the top: those above its k-th best
            # score, then the lowest numbers of those at it (copies of one dispatch and a
            # fuzzy word's close forms tie by thousands). The others are not made into
            # (score, number) pairs (46,000 for `était entre`).
            least = heapq.nlargest(self.limit, scores)[-1]
            above = list(itertools.compress(documents, map(least.__lt__, scores)))
            documents = itertools.chain(above, zip(itertools.islice(
                itertools.compress(ids, map(least.__eq__, scores)), self.limit - len(above)),
                itertools.repeat(least)))
        self._keep_best(documents)

    def _keep_best(self, documents: Iterable[tuple[int, float]]) -> None:
        """The heap kept to the best `limit` of its items and this segment's `documents`
        (number, score): by score, the lowest number first."""
        offset = self.offset
        self.items = heapq.nlargest(self.limit, itertools.chain(
            self.items, ((score, -(offset + docnum)) for docnum, score in documents)))
        heapq.heapify(self.items)


class NewestFirstCollector(collectors.Collector):
    """Whoosh's collector sorted by a sortable field, last value first
    (`searcher.collector(sortedby=fieldname, reverse=True)`): the same hits in the same
    order (by value, then by document number, both descending) and every match in
    `docset`, without reading each match's value.

    Whoosh reads the value of every match from the field's column (3 µs each: 1.2 s to
    list the newest ten of 600,000 articles). Here a segment's matches are taken as a set,
    and the field's terms are walked from the last until `limit` matches are found. Past
    ten postings read per match, the matches left are read one by one as Whoosh does.
    The field must be indexed whole (one term per document, its column value); a document
    without a term has the value its column gives it."""

    # A value read from the column costs about ten postings read by term.
    POSTINGS_PER_VALUE = 10

    def __init__(self, fieldname: str, limit: int) -> None:
        super().__init__()
        self.fieldname, self.limit = fieldname, limit

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self._categorizer = sorting.FieldFacet(self.fieldname).categorizer(top_searcher)
        self.items: list[tuple[object, int]] = []

    def set_subsearcher(self, subsearcher, offset):
        super().set_subsearcher(subsearcher, offset)
        self._categorizer.set_searcher(subsearcher, offset)

    def collect_matches(self):
        matched = set(self.matches())
        offset, reader = self.offset, self.subsearcher.reader()
        self.docset.update(matched if not offset else (offset + docnum for docnum in matched))
        wanted = self.limit or len(matched)
        budget, found = self.POSTINGS_PER_VALUE * len(matched), 0
        terms = reversed(list(reader.lexicon(self.fieldname)) if matched else [])
        for text in terms:
            if found >= wanted or budget <= 0:
                break
            for block in blocks(reader, self.fieldname, text):
                hits = matched.intersection(block.ids)
                matched -= hits
                found += len(hits)
                budget -= len(block.ids)
                self.items.extend((text, offset + docnum) for docnum in hits)
        if found < wanted:
            # what the walk did not reach: each has a lesser value than those found
            self._read_values(matched)

    def _read_values(self, documents: Iterable[int]) -> None:
        key_for, offset = self._categorizer.key_for, self.offset
        self.items.extend((key_for(None, docnum), offset + docnum) for docnum in documents)

    def results(self):
        items = heapq.nlargest(self.limit, self.items) if self.limit else sorted(
            self.items, reverse=True)
        return self._results(items, docset=self.docset)


def _in_ascending(items: Sequence[int], value: int) -> bool:
    at = bisect_left(items, value)
    return at < len(items) and items[at] == value


def query_terms_once(results) -> None:
    """The highlighter asks `results` for the query's terms, truncations and fuzzy words
    expanded, for every hit; Whoosh computes them each time, on the whole index (with
    several segments, a fuzzy word is compared with the terms of all of them at once, in
    Python). They are computed once per query, segment by segment, where the matching
    already expanded them (`queries.Expansion`)."""
    reader = results.searcher.reader()
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    found: dict[tuple, set] = {}

    def query_terms(expand: bool = False, fieldname: str | None = None) -> set:
        if (expand, fieldname) not in found:
            found[expand, fieldname] = set().union(*(
                results.q.existing_terms(leaf, fieldname=fieldname, expand=expand)
                for leaf in (leaves if expand else [reader])))
        return found[expand, fieldname]

    results.query_terms = query_terms
