"""The systems of the retrieval evaluation: our engine and its peers (`bench.peers`),
behind one small interface.

A system builds an index of a corpus into a folder, then opens it as a ranker: a function
`rank(text, limit)` that reads `text` as plain words (no query syntax) and returns the best
`(doc id, score)` pairs, best first. Indexes are cached by `cached_index`, keyed by the
system's fingerprint and the corpus's, so re-runs skip rebuilding.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Protocol

from bench.peers import Ranker, SqliteFts5, Tantivy, WhooshStock, digest
from bench.quality.tasks import Corpus

COMPLETE = "COMPLETE"


class System(Protocol):
    name: str

    def fingerprint(self) -> str:
        """Changes whenever the index this system builds would change."""
        ...

    def build(self, corpus: Corpus, folder: Path) -> None: ...

    def open(self, folder: Path) -> AbstractContextManager[Ranker]: ...


def cached_index(system: System, corpus: Corpus, work: Path) -> tuple[Path, float | None]:
    """The folder of `system`'s index of `corpus`, built unless a complete one is cached;
    with the build time in seconds, or None when it came from the cache."""
    prefix = f"{system.name}-{corpus.name}-"
    folder = work / (prefix + digest(system.fingerprint(), corpus.fingerprint()))
    if (folder / COMPLETE).is_file():
        return folder, None
    for stale in work.glob(prefix + "*"):
        shutil.rmtree(stale)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    system.build(corpus, folder)
    seconds = time.perf_counter() - start
    (folder / COMPLETE).write_text(f"{seconds:.1f}\n", encoding="utf-8")
    return folder, seconds


class OurEngine:
    """The product: `search.index.build`, ranked by `Searcher.rank_words`."""

    name = "ours"

    def fingerprint(self) -> str:
        import search

        package = Path(search.__file__).resolve().parent
        files = sorted(p for p in package.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
        return digest(metadata.version("whoosh3"),
                       *(part for p in files
                         for part in (str(p.relative_to(package)), p.read_bytes())))

    def build(self, corpus: Corpus, folder: Path) -> None:
        from search.index import build
        from search.models import Article

        articles = (Article(id=doc_id, path=corpus.path.name, title="", body=text)
                    for doc_id, text in corpus.documents())
        build(articles, folder)

    @contextmanager
    def open(self, folder: Path) -> Iterator[Ranker]:
        from search.searcher import open_searcher

        with open_searcher(folder) as searcher:
            yield lambda text, limit: searcher.rank_words(text, limit=limit)


SYSTEMS: dict[str, System] = {
    system.name: system for system in (OurEngine(), SqliteFts5(), Tantivy(), WhooshStock())
}
