"""The peers we compare with: stock Whoosh (its French analyzer), SQLite FTS5 and tantivy.

Each peer comes in the two shapes the benchmarks use:

- for the retrieval evaluation (`bench.quality`): a class that indexes article bodies only
  (`build(corpus, folder)`) and ranks plain words (`open(folder)` gives `rank(text,
  limit)`, an OR of the words);
- for the speed benchmark (`bench.speed`): what `search index` gets from an OrangeSum
  export, `title`, `heading` as the lead, `article` as the body, `category`, and the
  stored id, url, date and source (`BUILDERS`), answering the query types of the
  benchmark (`words`, `phrase`, `prefix`, `fuzzy`) where it can, with the top 10 hits' ids
  and a highlighted snippet of the body, as ours does (`OPENERS`).

    python -m bench.peers build SYSTEM CORPUS.jsonl OUT_DIR

builds one peer's full index in a process of its own (so that its peak memory can be
measured) and prints one JSON line `{"documents": N}`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bench.quality.tasks import Corpus

PEERS = ("whoosh-fr", "fts5", "tantivy")
TEXT_FIELDS = ("title", "lead", "body", "category")
# The query-time boosts of our DEFAULT_FIELDS (search/index.py), for fields peers index.
BOOSTS = {"title": 2.0, "lead": 1.5, "body": 1.0}
LIMIT = 10
SNIPPET_CHARS = 240

# A ranked answer of the evaluation: (doc id, score) pairs, best first.
Ranker = Callable[[str, int], list[tuple[str, float]]]
# A query's answer in the speed benchmark: the ids of the top hits, with a snippet each;
# None when the query type is unsupported.
Answer = Callable[[str, str], list[tuple[str, str]] | None]


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def stock_french_analyzer():
    """Whoosh's own French pipeline: `LanguageAnalyzer("fr")`."""
    from whoosh.analysis import LanguageAnalyzer

    return LanguageAnalyzer("fr")


# --- the peers of the retrieval evaluation: bodies only, an OR of the words -------------

class WhooshStock:
    """Whoosh with its stock `LanguageAnalyzer("fr")` on one body field, BM25F, OR of the words."""

    name = "whoosh-fr"

    def fingerprint(self) -> str:
        return digest(self.name, metadata.version("whoosh3"), "LanguageAnalyzer(fr)")

    def build(self, corpus: Corpus, folder: Path) -> None:
        from whoosh import index
        from whoosh.fields import ID, TEXT, Schema

        schema = Schema(id=ID(stored=True, unique=True),
                        body=TEXT(analyzer=stock_french_analyzer()))
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
        return digest(self.name, sqlite3.sqlite_version, self.TOKENIZER)

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
        return digest(self.name, metadata.version("tantivy"), self.ANALYZER)

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



# --- the peers of the speed benchmark: our schema's fields, our query types -----------------

def documents(corpus: Path) -> Iterator[dict[str, str]]:
    """The records of an OrangeSum-style export with a non-empty body, as peer documents."""
    with open(corpus, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            body = (record.get("article") or "").strip()
            if not body:
                continue
            url = record.get("url") or ""
            yield {
                "id": f"{corpus.name}#{record.get('id', number)}",
                "title": record.get("title") or "",
                "lead": record.get("heading") or "",
                "body": body,
                "category": record.get("category") or "",
                "url": url,
                "date": record.get("date") or "",
                "source": (urlsplit(url).hostname or "").removeprefix("www."),
            }


# --- stock Whoosh: our schema, Whoosh's LanguageAnalyzer("fr") on every text field --------

def whoosh_schema():
    """Stock Whoosh's plain French pipeline: the fields the peer's documents fill, with
    the types ours gives them, each text field through `LanguageAnalyzer("fr")`. Written
    out rather than derived from `search.schema.build_schema()`, so that our own fields
    (the surface twins, the copy bands) never make the peer do more than stock Whoosh."""
    from whoosh.fields import ID, STORED, TEXT, Schema

    stock = stock_french_analyzer()

    def text() -> TEXT:
        return TEXT(analyzer=stock, stored=True, multitoken_query="phrase")

    return Schema(
        id=ID(stored=True, unique=True), path=ID(stored=True),
        title=text(), lead=text(), body=text(), dateline=text(), category=text(),
        category_key=ID(sortable=True), source=ID(stored=True, sortable=True),
        url=STORED(), date=ID(stored=True, sortable=True),
    )


def build_whoosh(corpus: Path, out: Path) -> int:
    from whoosh import index

    from search.whoosh_fast.writer import WRITER_LIMIT_MB

    writer = index.create_in(str(out), whoosh_schema()).writer(limitmb=WRITER_LIMIT_MB)
    count = 0
    for doc in documents(corpus):
        writer.add_document(
            id=doc["id"], path=str(corpus), title=doc["title"], lead=doc["lead"],
            body=doc["body"], category=doc["category"], category_key=doc["category"].lower(),
            source=doc["source"], url=doc["url"], date=doc["date"],
        )
        count += 1
    writer.commit()
    return count


@contextmanager
def open_whoosh(folder: Path) -> Iterator[Answer]:
    from whoosh import index, qparser, scoring
    from whoosh.highlight import ContextFragmenter

    from search.schema import DEFAULT_FIELDS

    ix = index.open_dir(str(folder))
    # The fields and boosts ours searches by default.
    parser = qparser.MultifieldParser(list(DEFAULT_FIELDS), ix.schema,
                                      fieldboosts=DEFAULT_FIELDS, group=qparser.AndGroup)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        def answer(kind: str, text: str) -> list[tuple[str, str]]:
            results = searcher.search(parser.parse(text), limit=LIMIT, terms=True)
            results.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
            return [(hit["id"], hit.highlights("body", top=2)) for hit in results]

        yield answer


# --- SQLite FTS5 -----------------------------------------------------------------------

def build_fts5(corpus: Path, out: Path) -> int:
    columns = ", ".join(TEXT_FIELDS)
    with closing(sqlite3.connect(out / "fts5.sqlite")) as db, db:
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, "
                   f"{columns}, url UNINDEXED, date UNINDEXED, source UNINDEXED, "
                   f"tokenize='{SqliteFts5.TOKENIZER}')")
        rows = [0]

        def counted() -> Iterator[tuple[str, ...]]:
            for d in documents(corpus):
                rows[0] += 1
                yield (d["id"], *(d[f] for f in TEXT_FIELDS), d["url"], d["date"], d["source"])

        db.executemany(
            f"INSERT INTO docs(id, {columns}, url, date, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            counted())
    return rows[0]


_FTS_WORD = re.compile(r"[^\W_]+")


def fts5_expression(kind: str, text: str) -> str | None:
    """Our query syntax in FTS5's, over the title, lead and body columns; None if unsupported.

    Words are quoted (an apostrophe or hyphen is FTS5 syntax otherwise) and ANDed; a
    phrase stays a phrase; `word*` is FTS5's prefix query; fuzzy terms do not exist.
    """
    scope = "{title lead body} : "
    if kind == "fuzzy":
        return None
    if kind == "prefix":
        return scope + '"' + text.rstrip("*") + '"*'
    if kind == "phrase":
        return scope + '"' + " ".join(_FTS_WORD.findall(text)) + '"'
    return scope + "(" + " AND ".join(f'"{word}"' for word in _FTS_WORD.findall(text)) + ")"


@contextmanager
def open_fts5(folder: Path, limit: int = LIMIT) -> Iterator[Answer]:
    db = sqlite3.connect(folder / "fts5.sqlite")
    # bm25() weights follow the columns: id, title, lead, body, category, url, date, source.
    weights = ", ".join(str(w) for w in (0, BOOSTS["title"], BOOSTS["lead"], BOOSTS["body"],
                                         0, 0, 0, 0))
    sql = (f"SELECT id, snippet(docs, 3, '**', '**', '…', 32) FROM docs WHERE docs MATCH ? "
           f"ORDER BY bm25(docs, {weights}) LIMIT {int(limit)}")
    try:
        def answer(kind: str, text: str) -> list[tuple[str, str]] | None:
            expression = fts5_expression(kind, text)
            if expression is None:
                return None
            return db.execute(sql, (expression,)).fetchall()

        yield answer
    finally:
        db.close()


# --- tantivy ---------------------------------------------------------------------------

def _tantivy_index(folder: Path):
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="french")
    for name in ("url", "date", "source"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    index = tantivy.Index(builder.build(), path=str(folder))
    index.register_tokenizer("french", Tantivy._analyzer())
    return index


def build_tantivy(corpus: Path, out: Path) -> int:
    import tantivy

    # One indexing thread, as the Python engines have.
    writer = _tantivy_index(out).writer(heap_size=200_000_000, num_threads=1)
    count = 0
    for doc in documents(corpus):
        writer.add_document(tantivy.Document(**{k: [v] for k, v in doc.items() if v}))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


@contextmanager
def open_tantivy(folder: Path, limit: int = LIMIT) -> Iterator[Answer]:
    import tantivy

    index = _tantivy_index(folder)
    schema, searcher, analyzer = index.schema, index.searcher(), Tantivy._analyzer()
    fields = list(BOOSTS)

    def any_field(make) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.boost_query(make(f), BOOSTS[f])) for f in fields])

    def build(kind: str, text: str):
        words = _FTS_WORD.findall(text)
        if kind == "prefix":
            head = _fold_lower(words[0])  # as typed, folded: not stemmed
            pattern = re.escape(head) + ".*"
            return any_field(lambda f: tantivy.Query.regex_query(schema, f, pattern))
        Q = tantivy.Query
        if kind == "fuzzy":
            terms = analyzer.analyze(words[0])
            if not terms:
                return None
            return any_field(lambda f: Q.fuzzy_term_query(schema, f, terms[0], distance=1))
        if kind == "phrase":
            terms = analyzer.analyze(" ".join(words))
            if not terms:
                return None
            if len(terms) == 1:
                return any_field(lambda f: Q.term_query(schema, f, terms[0]))
            return any_field(lambda f: Q.phrase_query(schema, f, terms))
        clauses = []
        for word in words:
            terms = analyzer.analyze(word)
            if terms:
                clauses.append((tantivy.Occur.Must,
                                any_field(lambda f, t=terms[0]: Q.term_query(schema, f, t))))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def answer(kind: str, text: str) -> list[tuple[str, str]]:
        query = build(kind, text)
        if query is None:
            return []
        hits = searcher.search(query, limit=limit).hits
        snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        out = []
        for _score, address in hits:
            doc = searcher.doc(address)
            out.append((doc["id"][0], snippets.snippet_from_doc(doc).to_html()))
        return out

    yield answer


def _fold_lower(word: str) -> str:
    from unidecode import unidecode

    return unidecode(word).lower()


BUILDERS = {"whoosh-fr": build_whoosh, "fts5": build_fts5, "tantivy": build_tantivy}
OPENERS = {"whoosh-fr": open_whoosh, "fts5": open_fts5, "tantivy": open_tantivy}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "build" or argv[1] not in BUILDERS:
        print(f"usage: python -m bench.peers build {{{','.join(BUILDERS)}}} CORPUS OUT_DIR",
              file=sys.stderr)
        return 2
    _, name, corpus, out = argv
    Path(out).mkdir(parents=True, exist_ok=True)
    print(json.dumps({"documents": BUILDERS[name](Path(corpus), Path(out))}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
