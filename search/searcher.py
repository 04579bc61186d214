"""Running a query: parsed query → ranked `Hit`s with snippets, built while the searcher is open.

`open_searcher` keeps one Whoosh searcher for many queries (a benchmark, a session);
`search` is the one-shot form the CLI uses.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh import collectors, scoring
from whoosh import query as wq
from whoosh.reading import CorruptIndexError, TermNotFound

from search.errors import FilterError, IndexCorruptError, SearchError
from search.models import Hit, SearchResults
from search.query import (
    BestOfFields,
    ScoredList,
    expand_first,
    filter_query,
    parse_query,
    parse_words,
    postings_at,
    shown,
)
from search.ranking import RERANK_DEPTH, positional_boost
from search.schema import category_key, source_key
from search.snippets import SnippetFormatter, fragmenter, lead_snippet, title_highlights
from search.store import CORRUPTION_ERRORS, ReadLease, open_current

SORT_ORDERS = ("relevance", "date")
SNIPPET_FRAGMENTS = 2
SUGGESTIONS = 3  # known sources or categories named when a filter's is unknown
RANKED_FIELD = "body"  # the field whose word positions `search.ranking` reads


@dataclass(frozen=True)
class Filters:
    """Restrictions on which articles may match, whatever the query says."""

    source: str | None = None
    category: str | None = None
    since: str | None = None  # an ISO date prefix: 2020, 2020-06 or 2020-06-15
    until: str | None = None


class Searcher:
    """An open index: many queries, one Whoosh searcher."""

    def __init__(self, ix, index_dir: Path, lease: ReadLease | None = None) -> None:
        self._ix = ix
        self._index_dir = index_dir
        self._lease = lease or ReadLease()  # keeps the generation on disk while open
        self._searcher = ix.searcher(weighting=scoring.BM25F())

    def close(self) -> None:
        self._searcher.close()
        self._lease.release()

    def search(
        self, text: str, *, limit: int = 10, sort: str = "relevance",
        filters: Filters = Filters(),
    ) -> SearchResults:
        """Articles matching every word of `text`; if none does, the best partial matches."""
        if sort not in SORT_ORDERS:
            raise SearchError(f"Unknown sort order '{sort}'; use one of {', '.join(SORT_ORDERS)}.")
        schema = self._ix.schema
        query = parse_query(text, schema)
        restriction = filter_query(schema, **vars(filters))
        with self._reading():
            self._check_known(filters)
            results = self._run(query, limit, sort, restriction)
            partial = False
            if results.scored_length() == 0 and _has_several_terms(query):
                query = parse_query(text, schema, match_all=False)
                results = self._run(query, limit, sort, restriction)
                partial = results.scored_length() > 0
            if sort == "relevance":
                self._rerank(results, query, limit)
            hits = tuple(_hit(rank, hit, sort == "relevance")
                         for rank, hit in enumerate(results, start=1))
            return SearchResults(query=text, total=len(results), partial=partial, hits=hits)

    def rank_words(self, text: str, *, limit: int = 10) -> list[tuple[str, float]]:
        """(id, score) of the best articles for `text` read as plain words, not query
        syntax, ranked as `search` ranks partial matches (for evaluations)."""
        query = parse_words(text, self._ix.schema)
        if query is None:
            return []
        with self._reading():
            results = self._run(query, limit, "relevance", restriction=None)
            self._rerank(results, query, limit)
            return [(hit["id"], hit.score) for hit in results]

    def _rerank(self, results, query, limit: int) -> None:
        """Re-scores the first `RERANK_DEPTH` hits by their words' positions
        (`search.ranking`) and keeps the best `limit`."""
        top = results.top_n[:RERANK_DEPTH]
        terms = _ranked_terms(query)
        if terms and top:
            idf = {term: self._searcher.idf(RANKED_FIELD, term) for term in set(terms)}
            positions = self._positions(terms, sorted(docnum for _, docnum in top))
            top = [(score * positional_boost(terms, idf, positions.get(docnum, {})), docnum)
                   for score, docnum in top]
            top.sort(key=lambda pair: -pair[0])  # stable: ties keep BM25's order
        # Hits below the re-scored ones stay below them: a boost is never below 1.
        results.top_n = (top + results.top_n[RERANK_DEPTH:])[:limit]

    def _positions(self, terms: list[str], docnums: list[int]) -> dict[int, dict[str, list[int]]]:
        """For each of `docnums` (ascending), the positions of each of `terms` it contains."""
        found: dict[int, dict[str, list[int]]] = {}
        reader = self._searcher.reader()
        for term in dict.fromkeys(terms):
            try:
                matcher = reader.postings(RANKED_FIELD, term)
            except TermNotFound:
                continue
            for docnum in postings_at(matcher, docnums):
                found.setdefault(docnum, {})[term] = matcher.value_as("positions")
        return found

    def _run(self, query, limit: int, sort: str, restriction):
        if restriction is not None:
            # Whoosh's `filter=` leaves len(results) counting the filtered-out documents;
            # a required clause that scores nothing filters and counts right.
            query = wq.And([query, wq.ConstantScoreQuery(restriction, 0.0)])
        if sort == "date":
            collector = self._searcher.collector(limit=limit, sortedby="date", reverse=True)
        else:
            # more candidates than shown, for `_rerank`
            collector = _CountingTopCollector(max(limit, RERANK_DEPTH), usequality=False)
        expand_first(query, self._searcher.reader())
        self._searcher.search_with_collector(query, collector)
        results = collector.results()
        results.fragmenter = fragmenter()
        results.formatter = SnippetFormatter()
        _query_terms_once(results)
        return results

    def _check_known(self, filters: Filters) -> None:
        """An unknown `--source` or `--category` is a mistake to show with the closest known
        ones, not a search that finds nothing."""
        reader = self._searcher.reader()
        if filters.source:
            key = source_key(filters.source) or ""
            if key not in {term.decode() for term in reader.lexicon("source_match")}:
                sources = [term.decode() for term in reader.lexicon("source")]
                raise FilterError(_unknown("source", filters.source, key, sources))
        if filters.category:
            key = category_key(filters.category)
            keys = [term.decode() for term in reader.lexicon("category_key")]
            if not any(known == key or known.startswith(key + "/") for known in keys):
                # `societe` is a category too when `societe/justice` is one
                parents = {known[:end] for known in keys for end in _slashes(known)}
                raise FilterError(_unknown("category", filters.category, key,
                                           sorted(parents.union(keys))))

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turns what Whoosh raises on a damaged file into `IndexCorruptError`. A ValueError,
        KeyError or IndexError counts only when raised while reading the index's files: one
        from anywhere else is a bug, not damage, and shows as one."""
        try:
            yield
        except Exception as error:
            if isinstance(error, SearchError) or not _read_error(error):
                raise
            raise IndexCorruptError(
                f"The index in {self._index_dir}{os.sep} could not be read "
                f"({type(error).__name__}). Run `search rebuild` to rebuild it."
            ) from None


# Whoosh's modules that read an index's files: where a garbled file raises.
_READING_MODULES = ("whoosh.codec.", "whoosh.filedb.", "whoosh.columns", "whoosh.reading",
                    "whoosh.index", "whoosh.util.numeric", "whoosh.util.varints", "whoosh.system",
                    "whoosh.automata.fst", "whoosh.formats")
# Errors that only reading can raise, wherever they come from.
_ALWAYS_READ_ERRORS = (*(error for error in CORRUPTION_ERRORS
                         if not issubclass(error, (ValueError, LookupError))), CorruptIndexError)


def _read_error(error: BaseException) -> bool:
    """True when `error` comes from reading the index's files: a ValueError, KeyError or
    IndexError raised elsewhere (our query code, Whoosh's parser) is a bug."""
    if isinstance(error, _ALWAYS_READ_ERRORS):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    module = _module_of(frames[-1].filename) if frames else ""
    if module.startswith("whoosh.filedb."):
        return True  # the layer that reads bytes: whatever it raises, the bytes were garbage
    return isinstance(error, CORRUPTION_ERRORS) and module.startswith(_READING_MODULES)


def _module_of(filename: str) -> str:
    """The dotted module name of a source file of whoosh or of this package."""
    parts = Path(filename).with_suffix("").parts
    for package in ("whoosh", "search"):
        if package in parts:
            start = len(parts) - 1 - parts[::-1].index(package)
            return ".".join(parts[start:])
    return ""


def _slashes(key: str) -> list[int]:
    return [at for at, ch in enumerate(key) if ch == "/"]


def _unknown(name: str, given: str, key: str, known: list[str]) -> str:
    """The message for a `--source` or `--category` that no article has."""
    closest = difflib.get_close_matches(key, known, n=SUGGESTIONS, cutoff=0.6)
    message = f"No article has the {name} '{shown(given)}'."
    if closest:
        message += " Closest: " + ", ".join(shown(label) for label in closest) + "."
    listed = "categories" if name == "category" else "sources"
    return message + f" `search stats` lists the {listed}."


class _CountingTopCollector(collectors.TopCollector):
    """Whoosh's top-N collector, counting every match.

    Once it holds N hits, Whoosh's collector rebuilds the matcher tree every ten
    matches without the branches that cannot reach the N-th score: the top N stay
    right, but the documents of those branches are no longer counted (`Macron`: 1,017
    of its 5,386 articles on OrangeSum). Here the tree is rebuilt without its
    exhausted branches only.
    """

    def _collect(self, global_docnum, score):
        key = super()._collect(global_docnum, score)
        self.minscore = 0
        return key

    def collect_matches(self):
        """A matcher that has scored its documents already (`query.ScoredList`) is taken
        whole, as Whoosh's collector would keep them one by one: the best `limit` by
        score, the lowest document number first among equal scores."""
        matcher = self.matcher
        if not isinstance(matcher, ScoredList) or self.final_fn:
            super().collect_matches()
            return
        if isinstance(matcher, BestOfFields):
            # counted from its documents' ids, scored only where they can make the top
            self.total += matcher.count()
            self.items = matcher.best(self.limit, self.items, self.offset)
            return
        documents = matcher.remaining()
        self.total += len(documents)
        offset = self.offset
        self.items = heapq.nlargest(self.limit, itertools.chain(
            self.items, ((score, -(offset + docnum)) for docnum, score in documents)))
        heapq.heapify(self.items)


@contextmanager
def open_searcher(index_dir: Path) -> Iterator[Searcher]:
    ix, lease = open_current(index_dir)
    searcher = Searcher(ix, index_dir, lease)
    try:
        yield searcher
    finally:
        searcher.close()


def search(
    index_dir: Path, text: str, *, limit: int = 10, sort: str = "relevance",
    filters: Filters = Filters(),
) -> SearchResults:
    """One query on the index in `index_dir` (see `Searcher.search`)."""
    with open_searcher(index_dir) as searcher:
        return searcher.search(text, limit=limit, sort=sort, filters=filters)


def _ranked_terms(query) -> list[str]:
    """The query's words in `RANKED_FIELD`, in the query's order, phrases included,
    excluded words and expanded ones (prefix, fuzzy) left out."""
    if isinstance(query, wq.Not):
        return []
    if isinstance(query, wq.AndNot):
        return _ranked_terms(query.a)
    if type(query) is wq.Term or isinstance(query, wq.Phrase):
        if query.fieldname != RANKED_FIELD:
            return []
        return [query.text] if type(query) is wq.Term else list(query.words)
    return [term for child in query.children() for term in _ranked_terms(child)]


def _query_terms_once(results) -> None:
    """The highlighter asks `results` for the query's terms, truncations and fuzzy words
    expanded, for every hit; Whoosh computes them each time, on the whole index (with
    several segments, a fuzzy word is compared with the terms of all of them at once, in
    Python). They are computed once per query, segment by segment, where the matching
    already expanded them (`query._Expansion`)."""
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


def _has_several_terms(query) -> bool:
    return len({text for _, text in query.iter_all_terms()}) > 1


def _hit(rank: int, hit, scored: bool) -> Hit:
    fields = hit.fields()
    snippet = hit.highlights("body", top=SNIPPET_FRAGMENTS)
    marked_title: tuple[tuple[int, int], ...] = ()
    if not snippet or not snippet.highlights:
        snippet = lead_snippet(fields.get("body", ""))
        marked_title = title_highlights(hit)
    return Hit(
        rank=rank,
        id=fields["id"],
        path=fields["path"],
        title=fields.get("title", ""),
        date=fields.get("date"),
        dateline=fields.get("dateline"),
        category=fields.get("category"),
        source=fields.get("source"),
        source_name=fields.get("source_name"),
        title_highlights=marked_title,
        url=fields.get("url"),
        # Sorted results carry the sort key where the score would be.
        score=round(hit.score, 4) if scored else None,
        snippet=snippet,
    )
