"""One parser per article format; each returns `Article`s finished here the same way.

`complete` fills what a format did not give: the source from the URL's domain, the date
from a French date in the dateline or opening, the lead from the first paragraph, the
title from the first sentence. Every text field is `clean_text`ed: whatever the format let
through (a NUL, a lone surrogate from a JSON `"\\ud800"`), what is indexed is valid text.
"""

from __future__ import annotations

import re

from search.dates import french_date
from search.models import Article
from search.sources import domain_of

TITLE_MAX_CHARS = 120
OPENING_CHARS = 300  # where a dateline's date is looked for
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s")
# Control characters but tab, newline and return, and surrogates (U+D800-U+DFFF), which
# only a lone `\\ud800` escape in JSON or a file name's undecodable byte can bring in.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def decode_line(line: bytes) -> str:
    """One line of text: UTF-8 if it is valid UTF-8, else cp1252, else latin-1. A line at a
    time, because files pasted together from different sources mix encodings, and UTF-8 is
    so strict that a line that decodes as UTF-8 is UTF-8."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")


def clean_text(text: str) -> str:
    """`text` safe to index and print: NULs dropped, other control characters made spaces,
    lone surrogates made U+FFFD (they cannot be encoded, so printing them would fail)."""
    return _UNSAFE.sub(_replacement, text) if _UNSAFE.search(text) else text


def _replacement(found: re.Match) -> str:
    char = found[0]
    return "" if char == "\x00" else "\ufffd" if char >= "\ud800" else " "


def printable(text: str) -> str:
    """`text` as a terminal can show it on one line, for file names and ids: every character
    that is not printable escaped as in a Python literal (`\\n`, `\\x1b`, `\\u00a0`,
    `\\u200b`), an undecodable byte of a file name (a surrogate escape) as `\\xe9`, and
    backslashes doubled, so that two different names never look the same. Always encodable
    to UTF-8."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():
        return char
    if "\udc80" <= char <= "\udcff":  # os.fsdecode's escape of the byte ord(char) - 0xDC00
        return f"\\x{ord(char) - 0xDC00:02x}"
    if "\x80" <= char <= "\xff":  # `\\xNN` from 80 on is a byte: the character is `\\u00NN`
        return f"\\u{ord(char):04x}"
    return repr(char)[1:-1]


def paragraphs(text: str) -> list[str]:
    """Blank-line-separated paragraphs, stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


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


def _clean(value: str | None) -> str | None:
    value = " ".join(clean_text(value).split()) if value else None
    return value or None


def complete(
    *, id: str, path: str, body: str, title: str | None = None, date: str | None = None,
    dateline: str | None = None, category: str | None = None, source: str | None = None,
    url: str | None = None, author: str | None = None, lead: str | None = None,
) -> Article:
    """An `Article` from a format's fields, with the missing ones derived (see above)."""
    body = clean_text(body)
    parts = paragraphs(body)
    opening = " ".join(filter(None, [dateline, body[:OPENING_CHARS]]))
    if date is None or len(date) == 4:
        found = french_date(opening, year=date)
        if found and (date is None or found.startswith(date)):
            date = found
    if lead is None and len(parts) > 1:
        lead = parts[0]
    if not title and parts:
        title = shorten(first_sentence(parts[0]))
    return Article(
        id=clean_text(id),
        path=clean_text(path),
        title=_clean(title) or "",
        body="\n\n".join(parts),
        date=_clean(date),
        dateline=_clean(dateline),
        category=_clean(category),
        source=_clean(source) or domain_of(_clean(url)),
        url=_clean(url),
        author=_clean(author),
        lead=_clean(lead),
    )
