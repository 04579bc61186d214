"""Article files → `Article`s: decoding, header lines, title, date, dateline, category, and
the scraped-page boilerplate that must never be indexed as body text."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from search.errors import CorpusError, UnreadableArticle
from search.models import Article, Skipped

ARTICLE_SUFFIXES = frozenset({".txt"})
TITLE_MAX_CHARS = 120

# `date 2025-04 Tachkent — Le président...`: a date line, then a dateline before a dash.
_DATE_HEADER = re.compile(r"\A\s*date\s+(?P<date>\d{4}(?:-\d{2}){0,2})\b\s*(?P<rest>.*)\Z", re.S)
_DATELINE = re.compile(r"\A(?P<place>[^\W\d][^\n—–.]{0,58}?)\s+[—–-]\s+(?P<rest>\S.*)\Z", re.S)
# `- in Politique`, as WordPress themes print a post's category.
_CATEGORY_LINE = re.compile(r"\A-\s+in\s+(?P<category>\S.{0,60})\Z")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s")

# Paragraphs that start a web page's trailer (comments, "related" teasers): everything from
# the first of them on is not the article.
_TRAILER_LINES = frozenset(
    {
        "loading",
        "chargement",
        "leave a reply",
        "leave a comment",
        "laisser un commentaire",
        "laisser une réponse",
        "répondre",
        "you may also like",
        "vous aimerez aussi",
        "vous aimerez peut-être aussi",
        "articles similaires",
        "articles liés",
        "related posts",
        "related articles",
        "sur le même sujet",
        "dans la même rubrique",
    }
)
_TRAILER_PREFIXES = (
    "votre adresse e-mail ne sera pas publiée",
    "votre adresse de messagerie ne sera pas publiée",
    "your email address will not be published",
)


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
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if controls > max(2, len(text) // 100):
        raise UnreadableArticle("binary file")
    return text


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _is_trailer(paragraph: str) -> bool:
    line = paragraph.casefold().rstrip(" :.…")
    return line in _TRAILER_LINES or line.startswith(_TRAILER_PREFIXES)


def shorten(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def first_sentence(paragraph: str) -> str:
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0]


def parse_text(text: str, *, id: str, path: str) -> Article:
    """Parse the text of a `.txt` article (see the two formats in `seeds/`)."""
    paragraphs = _paragraphs(text)
    date = dateline = category = None

    header = _DATE_HEADER.match(paragraphs[0]) if paragraphs else None
    if header:
        date, rest = header["date"], header["rest"].strip()
        placed = _DATELINE.match(rest)
        if placed:
            dateline, rest = placed["place"].strip(), placed["rest"]
        paragraphs[0:1] = [rest] if rest else []

    title = None
    if len(paragraphs) > 1 and paragraphs[0] == paragraphs[1]:
        # A scraped page that prints its headline twice.
        title = paragraphs[0]
        del paragraphs[0:2]

    for i, paragraph in enumerate(paragraphs[:2]):
        found = _CATEGORY_LINE.match(paragraph)
        if found:
            category = found["category"].strip()
            del paragraphs[i]
            break

    for i, paragraph in enumerate(paragraphs):
        if i > 0 and _is_trailer(paragraph):
            del paragraphs[i:]
            break

    if title is None and paragraphs:
        title = shorten(first_sentence(paragraphs[0]))
    return Article(
        id=id,
        path=path,
        title=" ".join((title or "").split()),
        body="\n\n".join(paragraphs),
        date=date,
        dateline=dateline,
        category=category,
    )


def read_article(file: Path, root: Path) -> Article:
    """Read and parse one article file; raises `UnreadableArticle` with the reason."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise UnreadableArticle(f"cannot read: {error.strerror or error}") from None
    article_id = file.relative_to(root).as_posix()
    article = parse_text(decode(data), id=article_id, path=str(file))
    if not article.body:
        raise UnreadableArticle("no article text")
    return article


def find_article_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, root) for every article file under `paths`, in a stable order.

    A folder is walked recursively, skipping hidden entries and files of other kinds;
    a file named directly is always yielded, so that a wrong kind is reported.
    """
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    file = Path(folder, name)
                    if not name.startswith(".") and file.suffix.lower() in ARTICLE_SUFFIXES:
                        yield file, path
        elif path.exists():
            yield path, path.parent
        else:
            raise CorpusError(f"No such file or folder: {path}")


def load_articles(files: Iterable[tuple[Path, Path]]) -> Iterator[Article | Skipped]:
    """Each file as an `Article`, or as `Skipped` with the reason; one bad file stops nothing."""
    for file, root in files:
        if file.suffix.lower() not in ARTICLE_SUFFIXES:
            yield Skipped(str(file), f"not an article file (expected {', '.join(sorted(ARTICLE_SUFFIXES))})")
            continue
        try:
            yield read_article(file, root)
        except UnreadableArticle as error:
            yield Skipped(str(file), str(error))
