"""The systems under evaluation: our engine and its peers, behind one small interface.

A system builds an index of a corpus into a folder, then opens it as a ranker: a function
`rank(text, limit)` that reads `text` as plain words (no query syntax) and returns the best
`(doc id, score)` pairs, best first. Indexes are cached by `cached_index`, keyed by the
system's fingerprint and the corpus's, so re-runs skip rebuilding.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Protocol

from tasks import Corpus

Ranker = Callable[[str, int], list[tuple[str, float]]]
COMPLETE = "COMPLETE"


class System(Protocol):
    name: str

    def fingerprint(self) -> str:
        """Changes whenever the index this system builds would change."""
        ...

    def build(self, corpus: Corpus, folder: Path) -> None: ...

    def open(self, folder: Path) -> AbstractContextManager[Ranker]: ...


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def cached_index(system: System, corpus: Corpus, work: Path) -> tuple[Path, float | None]:
    """The folder of `system`'s index of `corpus`, built unless a complete one is cached;
    with the build time in seconds, or None when it came from the cache."""
    prefix = f"{system.name}-{corpus.name}-"
    folder = work / (prefix + _digest(system.fingerprint(), corpus.fingerprint()))
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
        return _digest(metadata.version("whoosh3"),
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


class WhooshStock:
    """Whoosh with its stock `LanguageAnalyzer("fr")` on one body field, BM25F, OR of the words."""

    name = "whoosh-fr"

    def fingerprint(self) -> str:
        return _digest(self.name, metadata.version("whoosh3"), "LanguageAnalyzer(fr)")

    def build(self, corpus: Corpus, folder: Path) -> None:
        from whoosh import index
        from whoosh.analysis import LanguageAnalyzer
        from whoosh.fields import ID, TEXT, Schema

        schema = Schema(id=ID(stored=True, unique=True), body=TEXT(analyzer=LanguageAnalyzer("fr")))
        writer = index.create_in(str(folder), schema).writer(limitmb=256)
        for doc_id, text in corpus.documents():
            writer.add_document(id=doc_id, body=text)
        writer.commit()

    @contextmanager
    def open(self, folder: Path) -> Iterator[Ranker]:
        from whoosh import index, scoring
        from whoosh.query import Or, Term

        ix = index.open_dir(str(folder))
        analyzer = ix.schema["body"].analyzer
        with ix.searcher(weighting=scoring.BM25F()) as searcher:
            def rank(text: str, limit: int) -> list[tuple[str, float]]:
                terms = [Term("body", token.text) for token in analyzer(text)]
                if not terms:
                    return []
                return [(hit["id"], hit.score) for hit in searcher.search(Or(terms), limit=limit)]

            yield rank


class SqliteFts5:
    """SQLite FTS5, `unicode61 remove_diacritics 2`, bm25; each query token quoted, ORed."""

    name = "fts5"
    TOKENIZER = "unicode61 remove_diacritics 2"

    def fingerprint(self) -> str:
        return _digest(self.name, sqlite3.sqlite_version, self.TOKENIZER)

    def build(self, corpus: Corpus, folder: Path) -> None:
        with closing(sqlite3.connect(folder / "fts5.sqlite")) as db, db:
            db.execute("CREATE VIRTUAL TABLE docs USING fts5"
                       f"(docid UNINDEXED, body, tokenize='{self.TOKENIZER}')")
            db.executemany("INSERT INTO docs(docid, body) VALUES (?, ?)", corpus.documents())

    @staticmethod
    def match_expression(text: str) -> str:
        """`l'Egypte : accord` → `"l'Egypte" OR "accord"`: each token quoted, so that no
        character is FTS5 syntax; tokens without a letter or digit are left out."""
        return " OR ".join('"' + token.replace('"', '""') + '"'
                           for token in text.split() if any(ch.isalnum() for ch in token))

    @contextmanager
    def open(self, folder: Path) -> Iterator[Ranker]:
        db = sqlite3.connect(folder / "fts5.sqlite")
        try:
            def rank(text: str, limit: int) -> list[tuple[str, float]]:
                expression = self.match_expression(text)
                if not expression:
                    return []
                rows = db.execute("SELECT docid, rank FROM docs WHERE docs MATCH ? "
                                  "ORDER BY rank LIMIT ?", (expression, limit))
                return [(doc_id, -score) for doc_id, score in rows]

            yield rank
        finally:
            db.close()


class Tantivy:
    """tantivy: simple tokenizer, lowercase, ASCII folding, Snowball French; OR of the terms."""

    name = "tantivy"
    ANALYZER = "simple|remove_long(40)|lowercase|ascii_fold|stemmer(french)"

    def fingerprint(self) -> str:
        return _digest(self.name, metadata.version("tantivy"), self.ANALYZER)

    @staticmethod
    def _analyzer():
        import tantivy

        return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                .filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase())
                .filter(tantivy.Filter.ascii_fold())
                .filter(tantivy.Filter.stemmer("french"))
                .build())

    def _index(self, folder: Path):
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("docid", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", tokenizer_name="french")
        index = tantivy.Index(builder.build(), path=str(folder))
        index.register_tokenizer("french", self._analyzer())
        return index

    def build(self, corpus: Corpus, folder: Path) -> None:
        import tantivy

        writer = self._index(folder).writer(heap_size=200_000_000, num_threads=1)
        for doc_id, text in corpus.documents():
            writer.add_document(tantivy.Document(docid=doc_id, body=text))
        writer.commit()
        writer.wait_merging_threads()

    @contextmanager
    def open(self, folder: Path) -> Iterator[Ranker]:
        import tantivy

        index = self._index(folder)
        schema, searcher, analyzer = index.schema, index.searcher(), self._analyzer()

        def rank(text: str, limit: int) -> list[tuple[str, float]]:
            terms = analyzer.analyze(text)
            if not terms:
                return []
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", term))
                 for term in terms])
            hits = searcher.search(query, limit=limit).hits
            return [(searcher.doc(address)["docid"][0], score) for score, address in hits]

        yield rank


SYSTEMS: dict[str, System] = {
    system.name: system for system in (OurEngine(), SqliteFts5(), Tantivy(), WhooshStock())
}
