"""The one interface the CLI and the web page talk to, whichever engine holds the index.

`Backend` writes and describes an index; `Reader` answers queries on it, for as long as it
is open. Two implementations: Whoosh (`WhooshBackend`, the embedded default, an index
folder) and OpenSearch (`search.opensearch`, a cluster at a URL). Everything a command
prints is built from the dataclasses of `search.models`, so the output is the same
whichever backend answered.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from search.errors import SearchError
from search.models import (
    ArticleView,
    Copy,
    CountTable,
    Explanation,
    Filters,
    Hit,
    IndexCheck,
    IndexReport,
    IndexStats,
    SearchResults,
)

BACKENDS = ("whoosh", "opensearch")
DEFAULT_BACKEND = "whoosh"

Progress = Callable[[int], None]
Stage = Callable[[str], None]


class Reader(Protocol):
    """An open view of the index: many queries on the data as it was when opened.

    A reader is used by one thread at a time; a server keeps one per worker thread."""

    def search(self, text: str, *, limit: int = 10, sort: str = "relevance",
               filters: Filters = Filters(), facets: bool = False, explain: bool = False,
               copies: bool = False, offset: int = 0) -> SearchResults:
        """The best `limit` hits after the first `offset` (a page of results; ranks go on
        from offset + 1), `total` counting them all."""

    def count(self, texts: Sequence[str], *, by: str = "month",
              filters: Filters = Filters()) -> CountTable: ...

    def stream(self, text: str, *, sort: str = "relevance", filters: Filters = Filters(),
               snippets: bool = True, bodies: bool = False,
               limit: int | None = None) -> Iterator[Hit]: ...

    def article(self, article_id: str, highlight: str | None = None) -> ArticleView: ...

    def copies_of(self, article_id: str) -> tuple[Copy, ...]: ...

    def explain(self, text: str) -> Explanation: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """Where an index lives and how it is written."""

    location: str  # named in messages: the index folder, or the cluster's URL and index

    def reader(self) -> Reader:
        """A reader on the current data; the caller closes it."""

    def version(self) -> str | None:
        """A token that changes whenever the data does (None: no index yet): a long-lived
        process re-opens its readers when it changes."""

    def update(self, paths: Iterable[Path], *, fresh: bool = False,
               field_map: Mapping[str, str] = {}, allow_removal: bool = False,
               progress: Progress | None = None, on_start: Progress | None = None,
               on_stage: Stage | None = None) -> IndexReport:
        """Bring the index up to date with the articles under `paths`; `fresh` builds a
        new one that replaces the old only when complete (a rebuild)."""

    def stats(self) -> IndexStats: ...

    def check(self) -> IndexCheck: ...


class WhooshBackend:
    """The embedded index: a folder of generations (`search.store`)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.location = str(index_dir)

    def reader(self) -> Reader:
        from search.searcher import Searcher
        from search.store import open_current

        ix, lease = open_current(self.index_dir)
        return Searcher(ix, self.index_dir, lease)

    def version(self) -> str | None:
        from search.store import current_generation

        return current_generation(self.index_dir)

    def update(self, paths: Iterable[Path], *, fresh: bool = False,
               field_map: Mapping[str, str] = {}, allow_removal: bool = False,
               progress: Progress | None = None, on_start: Progress | None = None,
               on_stage: Stage | None = None) -> IndexReport:
        from search.index import update

        return update(paths, self.index_dir, fresh=fresh, field_map=field_map,
                      allow_removal=allow_removal, progress=progress, on_start=on_start,
                      on_stage=on_stage)

    def stats(self) -> IndexStats:
        from search.store import stats

        return stats(self.index_dir)

    def check(self) -> IndexCheck:
        from search.store import check

        return check(self.index_dir)


def open_backend(name: str | None = None, *, index_dir: Path | None = None,
                 url: str | None = None) -> Backend:
    """The backend `name` (default: `SEARCH_BACKEND`, else Whoosh) on `index_dir` (Whoosh;
    default `SEARCH_INDEX`, else the user's folder) or `url` (OpenSearch; default
    `SEARCH_URL`)."""
    name = name or os.environ.get("SEARCH_BACKEND") or DEFAULT_BACKEND
    if name == "whoosh":
        if index_dir is None:
            from search.store import default_index_dir

            named = os.environ.get("SEARCH_INDEX")
            index_dir = Path(named) if named else default_index_dir()
        return WhooshBackend(index_dir)
    if name == "opensearch":
        url = url or os.environ.get("SEARCH_URL")
        if not url:
            raise SearchError("The OpenSearch backend needs a cluster: give --url "
                              "http://HOST:9200 or set SEARCH_URL.")
        from search.opensearch import OpenSearchBackend

        return OpenSearchBackend(url)
    raise SearchError(f"Unknown backend '{name}'; use one of {', '.join(BACKENDS)}.")


@contextmanager
def reading(backend: Backend) -> Iterator[Reader]:
    """A reader for the length of a `with` block."""
    reader = backend.reader()
    try:
        yield reader
    finally:
        reader.close()
