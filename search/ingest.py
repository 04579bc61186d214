"""Article files → `Article`s: finding files, reading and decoding them, and handing each
to the parser of its format (`search.formats`). One bad file, or one bad record in an
export, is reported as `Skipped` and stops nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from search.errors import CorpusError, UnreadableArticle
from search.formats.html import NoArticleInPage, parse_html
from search.formats.records import FIELDS, parse_records
from search.formats.text import parse_text
from search.models import Article, Skipped, Unchanged

ARTICLE_SUFFIXES = frozenset({".txt", ".html", ".htm", ".jsonl", ".json"})
# Control characters (Unicode category Cc) other than tab, newline, form feed and return:
# more than 1 % of a file's opening means it is not text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
BINARY_SAMPLE_CHARS = 100_000
# Bumped when parsing changes, so that `search index` reads every file again.
PARSER_VERSION = "3"


@dataclass(frozen=True)
class SourceFile:
    """An article file found under a corpus root (ids are relative to the root)."""

    file: Path
    root: Path

    @property
    def key(self) -> str:
        """The file's absolute path: what the index remembers it by."""
        return str(self.file.resolve())


def decode(data: bytes) -> str:
    """UTF-8, falling back to cp1252 then latin-1; binary and empty files are refused."""
    if b"\x00" in data:
        raise UnreadableArticle("binary file")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    if not text.strip():
        raise UnreadableArticle("empty file")
    sample = text[:BINARY_SAMPLE_CHARS]
    if len(_CONTROLS.findall(sample)) > max(2, len(sample) // 100):
        raise UnreadableArticle("binary file")
    return text


def check_field_map(field_map: Mapping[str, str]) -> None:
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise CorpusError(
            f"Unknown field '{unknown[0]}' in --map; fields are: {', '.join(FIELDS)}."
        )


def read_bytes(source: SourceFile) -> bytes:
    try:
        return source.file.read_bytes()
    except OSError as error:
        raise UnreadableArticle(f"cannot read: {error.strerror or error}") from None


def fingerprint(data: bytes | str, field_map: Mapping[str, str]) -> str:
    """What articles read from `data` depend on: it, the field map and the parser version."""
    digest = hashlib.blake2b(data.encode() if isinstance(data, str) else data, digest_size=16)
    digest.update(repr((PARSER_VERSION, sorted(field_map.items()))).encode())
    return digest.hexdigest()


def parse_file(
    source: SourceFile, data: bytes, field_map: Mapping[str, str] = {},
    known: Mapping[str, str] = {},
) -> Iterator[tuple[Article | Skipped | Unchanged, str]]:
    """The articles of one file, by its format, each with the fingerprint of its source
    text; what cannot be used is `Skipped`. A record of an export whose fingerprint is
    the one `known` gives for its id comes as `Unchanged`, without being parsed."""
    path, suffix = str(source.file), source.file.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        expected = ", ".join(sorted(ARTICLE_SUFFIXES))
        yield Skipped(path, f"not an article file (expected {expected})"), ""
        return
    article_id = source.file.relative_to(source.root).as_posix()
    try:
        text = decode(data)
        if suffix in (".jsonl", ".json"):
            yield from parse_records(
                text, id=article_id, path=path, json_list=suffix == ".json",
                field_map=field_map, known=known,
                fingerprint=lambda raw: fingerprint(raw, field_map))
            return
        parse = parse_html if suffix in (".html", ".htm") else parse_text
        article = parse(text, id=article_id, path=path)
        if not article.body:
            raise UnreadableArticle("no article text")
        yield article, fingerprint(data, field_map)
    except (UnreadableArticle, NoArticleInPage) as error:
        yield Skipped(path, str(error)), ""


def read_article(file: Path, root: Path) -> Article:
    """Read and parse one single-article file; raises `UnreadableArticle` with the reason."""
    source = SourceFile(file, root)
    [(item, _)] = parse_file(source, read_bytes(source))
    if isinstance(item, Skipped):
        raise UnreadableArticle(item.reason)
    return item


def find_article_files(paths: Iterable[Path]) -> Iterator[SourceFile]:
    """Every article file under `paths`, in a stable order.

    A folder is walked recursively, skipping hidden entries and files of other kinds;
    a file named directly is always yielded, so that a wrong kind is reported. A file
    reached twice (a folder and a file in it) is yielded once.
    """
    seen: set[str] = set()
    for source in _walk(paths):
        if source.key not in seen:
            seen.add(source.key)
            yield source


def _walk(paths: Iterable[Path]) -> Iterator[SourceFile]:
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    file = Path(folder, name)
                    if not name.startswith(".") and file.suffix.lower() in ARTICLE_SUFFIXES:
                        yield SourceFile(file, path)
        elif path.exists():
            yield SourceFile(path, path.parent)
        else:
            raise CorpusError(f"No such file or folder: {path}")


def load_articles(
    files: Iterable[SourceFile], field_map: Mapping[str, str] = {}
) -> Iterator[Article | Skipped]:
    """Each file's articles, or `Skipped` with the reason."""
    for source in files:
        try:
            data = read_bytes(source)
        except UnreadableArticle as error:
            yield Skipped(str(source.file), str(error))
            continue
        yield from (item for item, _ in parse_file(source, data, field_map))
