"""`.txt` articles: the two formats of `seeds/`, plus an optional `key: value` header.

    title: Visite d'État à Astana          ← optional header, then a blank line
    date: 2024-08-28

    date 2025-04 Tachkent — Le président…  ← a date line and a dateline before a dash
    Titre\n\nTitre\n\n- in Politique       ← a scraped page: repeated title, category line
"""

from __future__ import annotations

import re

from search.dates import normalize_date
from search.formats import complete, paragraphs
from search.models import Article

HEADER_KEYS = frozenset({"title", "date", "source", "url", "category", "dateline", "author"})
_HEADER_LINE = re.compile(r"\A(?P<key>[A-Za-z]+)\s*:\s*(?P<value>\S.*)\Z")
# `date 2025-04 Tachkent — Le président...`: a date line, then a dateline before a dash.
_DATE_HEADER = re.compile(r"\A\s*date\s+(?P<date>\d{4}(?:-\d{2}){0,2})\b\s*(?P<rest>.*)\Z", re.S)
_DATELINE = re.compile(r"\A(?P<place>[^\W\d][^\n—–.]{0,58}?)\s+[—–-]\s+(?P<rest>\S.*)\Z", re.S)
# `- in Politique`, as WordPress themes print a post's category.
_CATEGORY_LINE = re.compile(r"\A-\s+in\s+(?P<category>\S.{0,60})\Z")

# Paragraphs that start a web page's trailer (comments, "related" teasers): everything from
# the first of them on is not the article.
_TRAILER_LINES = frozenset(
    {
        "loading", "chargement", "leave a reply", "leave a comment", "laisser un commentaire",
        "laisser une réponse", "répondre", "you may also like", "vous aimerez aussi",
        "vous aimerez peut-être aussi", "articles similaires", "articles liés", "related posts",
        "related articles", "sur le même sujet", "dans la même rubrique",
    }
)
_TRAILER_PREFIXES = (
    "votre adresse e-mail ne sera pas publiée",
    "votre adresse de messagerie ne sera pas publiée",
    "your email address will not be published",
)


def _is_trailer(paragraph: str) -> bool:
    line = paragraph.casefold().rstrip(" :.…")
    return line in _TRAILER_LINES or line.startswith(_TRAILER_PREFIXES)


def _header(paragraph: str) -> dict[str, str] | None:
    """The `key: value` lines of a header paragraph, or None if it is not one."""
    fields = {}
    for line in paragraph.splitlines():
        found = _HEADER_LINE.match(line.strip())
        if not found or found["key"].lower() not in HEADER_KEYS:
            return None
        fields[found["key"].lower()] = found["value"].strip()
    return fields


def parse_text(text: str, *, id: str, path: str) -> Article:
    """Parse the text of a `.txt` article."""
    parts = paragraphs(text)
    fields = _header(parts[0]) if parts else None
    if fields:
        del parts[0]
    else:
        fields = {}
    date = normalize_date(fields["date"]) if "date" in fields else None
    dateline = fields.get("dateline")

    header = _DATE_HEADER.match(parts[0]) if parts else None
    if header:
        date, rest = date or header["date"], header["rest"].strip()
        placed = _DATELINE.match(rest)
        if placed:
            dateline, rest = dateline or placed["place"].strip(), placed["rest"]
        parts[0:1] = [rest] if rest else []

    title = fields.get("title")
    if len(parts) > 1 and parts[0] == parts[1]:
        # A scraped page that prints its headline twice.
        title = title or parts[0]
        del parts[0:2]

    category = fields.get("category")
    for i, paragraph in enumerate(parts[:2]):
        found = _CATEGORY_LINE.match(paragraph)
        if found:
            category = category or found["category"].strip()
            del parts[i]
            break

    for i, paragraph in enumerate(parts):
        if i > 0 and _is_trailer(paragraph):
            del parts[i:]
            break

    return complete(
        id=id, path=path, body="\n\n".join(parts), title=title, date=date, dateline=dateline,
        category=category, source=fields.get("source"), url=fields.get("url"),
        author=fields.get("author"),
    )
