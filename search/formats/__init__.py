"""One parser per article format; each returns `Article`s finished here the same way.

`complete` fills what a format did not give: the source from the URL's domain, the date
from a French date in the dateline or opening, the lead from the first paragraph, the
title from the first sentence.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from search.dates import french_date
from search.models import Article

TITLE_MAX_CHARS = 120
OPENING_CHARS = 300  # where a dateline's date is looked for
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s")


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


def source_from_url(url: str | None) -> str | None:
    """`https://www.actu.orange.fr/x` → `actu.orange.fr`."""
    if not url:
        return None
    host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
    return host.removeprefix("www.") or None


def _clean(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else None
    return value or None


def complete(
    *, id: str, path: str, body: str, title: str | None = None, date: str | None = None,
    dateline: str | None = None, category: str | None = None, source: str | None = None,
    url: str | None = None, author: str | None = None, lead: str | None = None,
) -> Article:
    """An `Article` from a format's fields, with the missing ones derived (see above)."""
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
        id=id,
        path=path,
        title=_clean(title) or "",
        body="\n\n".join(parts),
        date=date,
        dateline=_clean(dateline),
        category=_clean(category),
        source=_clean(source) or source_from_url(url),
        url=_clean(url),
        author=_clean(author),
        lead=_clean(lead),
    )
