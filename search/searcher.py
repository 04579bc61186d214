"""Running a query: parsed query → ranked `Hit`s with snippets, built while the searcher is open."""

from __future__ import annotations

import os
from pathlib import Path

from whoosh import scoring

from search.errors import IndexCorruptError, SearchError
from search.index import CORRUPTION_ERRORS, open_index
from search.models import Hit, SearchResults
from search.query import parse_query
from search.snippets import SnippetFormatter, fragmenter, lead_snippet

SORT_ORDERS = ("relevance", "date")
SNIPPET_FRAGMENTS = 2


def search(
    index_dir: Path, text: str, *, limit: int = 10, sort: str = "relevance"
) -> SearchResults:
    """Articles matching every word of `text`; if none does, the best partial matches."""
    ix = open_index(index_dir)
    query = parse_query(text, ix.schema)
    try:
        with ix.searcher(weighting=scoring.BM25F()) as searcher:
            results = _run(searcher, query, limit, sort)
            partial = False
            if results.scored_length() == 0 and _has_several_terms(query):
                results = _run(searcher, parse_query(text, ix.schema, match_all=False), limit, sort)
                partial = results.scored_length() > 0
            scored = sort == "relevance"
            hits = tuple(_hit(rank, hit, scored) for rank, hit in enumerate(results, start=1))
            return SearchResults(query=text, total=len(results), partial=partial, hits=hits)
    except CORRUPTION_ERRORS as error:
        raise IndexCorruptError(
            f"The index in {index_dir}{os.sep} could not be read ({type(error).__name__}). "
            "Run `search rebuild` to rebuild it."
        ) from None


def _has_several_terms(query) -> bool:
    return len({text for _, text in query.iter_all_terms()}) > 1


def _run(searcher, query, limit: int, sort: str):
    if sort not in SORT_ORDERS:
        raise SearchError(f"Unknown sort order '{sort}'; use one of {', '.join(SORT_ORDERS)}.")
    options = {"sortedby": "date", "reverse": True} if sort == "date" else {}
    results = searcher.search(query, limit=limit, terms=True, **options)
    results.fragmenter = fragmenter()
    results.formatter = SnippetFormatter()
    return results


def _hit(rank: int, hit, scored: bool) -> Hit:
    fields = hit.fields()
    snippet = hit.highlights("body", top=SNIPPET_FRAGMENTS)
    if not snippet or not snippet.highlights:
        snippet = lead_snippet(fields.get("body", ""))
    return Hit(
        rank=rank,
        id=fields["id"],
        path=fields["path"],
        title=fields.get("title", ""),
        date=fields.get("date"),
        dateline=fields.get("dateline"),
        category=fields.get("category"),
        # Sorted results carry the sort key where the score would be.
        score=round(hit.score, 4) if scored else None,
        snippet=snippet,
    )
