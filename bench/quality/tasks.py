"""Evaluation tasks read from the shared data: documents, queries and their relevant ids.

OrangeSum known-item: the article bodies are the documents (no titles or headings), each
query of a `qid, doc_id, kind, query` TSV has one relevant body. PIAF: Wikipedia paragraphs,
crowd-written questions and their qrels.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KNOWN_ITEM_COLUMNS = ["qid", "doc_id", "kind", "query"]


@dataclass(frozen=True)
class Query:
    qid: str
    kind: str
    text: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Corpus:
    """A JSONL file of documents: `id_field` names each one, `text_field` is what is indexed."""

    name: str
    path: Path
    id_field: str
    text_field: str

    def documents(self) -> Iterator[tuple[str, str]]:
        """(id, text) of every document with a non-empty text."""
        with open(self.path, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                text = record[self.text_field]
                if text and text.strip():
                    yield str(record[self.id_field]), text

    def fingerprint(self) -> str:
        """Changes when the file or the indexed field changes."""
        stat = self.path.stat()
        key = (self.path.resolve(), stat.st_size, stat.st_mtime_ns, self.id_field, self.text_field)
        return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Task:
    name: str
    corpus: Corpus
    queries: tuple[Query, ...]


def orangesum_corpus(data_dir: Path) -> Corpus:
    return Corpus("orangesum", data_dir / "orangesum" / "orangesum.jsonl", "id", "article")


def read_known_item(path: Path) -> list[Query]:
    """The queries of a known-item TSV; raises ValueError if its header is not the expected one."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header != KNOWN_ITEM_COLUMNS:
            raise ValueError(
                f"{path}: the header must be {' '.join(KNOWN_ITEM_COLUMNS)} "
                f"(tab-separated), not {header!r}."
            )
        return [Query(qid, kind, text, frozenset([doc_id])) for qid, doc_id, kind, text in rows]


def strip_accents(text: str) -> str:
    """`Israël à l'Élysée` → `israel a l'elysee` (combining marks removed, lowercased)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def derived_title_queries(queries: list[Query]) -> list[Query]:
    """Two variants of every `title` query: accent-stripped lowercase, and curly apostrophes."""
    derived: list[Query] = []
    for variant, change in (("noaccent", strip_accents),
                            ("curly", lambda text: text.replace("'", "’"))):
        derived += [Query(f"{q.qid}-{variant}", f"title-{variant}", change(q.text), q.relevant)
                    for q in queries if q.kind == "title"]
    return derived


def known_item_task(data_dir: Path, queries_file: Path) -> Task:
    queries = read_known_item(queries_file)
    return Task("orangesum", orangesum_corpus(data_dir),
                tuple(queries + derived_title_queries(queries)))


def piaf_task(data_dir: Path) -> Task:
    folder = data_dir / "piaf"
    relevant: dict[str, set[str]] = {}
    with open(folder / "qrels.trec", encoding="utf-8") as qrels:
        for line in qrels:
            qid, _, docid, grade = line.split()
            if int(grade) > 0:
                relevant.setdefault(qid, set()).add(docid)
    queries = []
    with open(folder / "queries.tsv", encoding="utf-8") as handle:
        for line in handle:
            qid, text = line.rstrip("\n").split("\t", 1)
            if qid in relevant:
                queries.append(Query(qid, "piaf", text, frozenset(relevant[qid])))
    return Task("piaf", Corpus("piaf", folder / "corpus.jsonl", "docid", "text"), tuple(queries))
