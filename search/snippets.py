"""Highlighted passages: Whoosh fragments → `Snippet` (text + highlight offsets).

Whoosh's highlighter re-analyzes the stored text with our analyzer, so the query
`cooperation` marks `coopération` as the article writes it. `search.output` prints them.
"""

from __future__ import annotations

import re

from whoosh.highlight import ContextFragmenter, Formatter, Highlighter, WholeFragmenter

from search.models import Snippet

ELLIPSIS = "…"
FRAGMENT_CHARS = 240
SURROUND_CHARS = 60
LEAD_CHARS = 200
_SPACES = re.compile(r"\s+")


def fragmenter() -> ContextFragmenter:
    return ContextFragmenter(maxchars=FRAGMENT_CHARS, surround=SURROUND_CHARS)


class _SnippetBuilder:
    """Appends text with white space collapsed, keeping highlight offsets right."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.highlights: list[tuple[int, int]] = []

    def add(self, text: str, highlighted: bool = False) -> None:
        text = _SPACES.sub(" ", text)
        if self.length == 0:
            text = text.lstrip()
        if highlighted:
            self.highlights.append((self.length, self.length + len(text)))
        self.parts.append(text)
        self.length += len(text)

    def snippet(self) -> Snippet:
        return Snippet("".join(self.parts).rstrip(), tuple(self.highlights))


class SnippetFormatter(Formatter):
    """A Whoosh formatter that returns a `Snippet` instead of marked-up text."""

    between = f" {ELLIPSIS} "

    def format(self, fragments, replace=False):
        builder = _SnippetBuilder()
        for number, fragment in enumerate(fragments):
            text = fragment.text
            if number:
                builder.add(self.between)
            elif fragment.startchar > 0:
                builder.add(ELLIPSIS + " ")
            position = fragment.startchar
            for match in fragment.matches:
                if match.startchar < position:
                    continue
                builder.add(text[position:match.startchar])
                builder.add(text[match.startchar:match.endchar], highlighted=True)
                position = match.endchar
            builder.add(text[position:fragment.endchar])
            if number == len(fragments) - 1 and fragment.endchar < len(text.rstrip()):
                builder.add(" " + ELLIPSIS)
        return builder.snippet()


def lead_snippet(body: str, limit: int = LEAD_CHARS) -> Snippet:
    """The opening of an article, for a hit whose body matched no query word."""
    text = _SPACES.sub(" ", body).strip()
    if len(text) <= limit:
        return Snippet(text)
    cut = text[:limit]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return Snippet(cut + " " + ELLIPSIS)


def title_highlights(hit, highlighter_class=Highlighter) -> tuple[tuple[int, int], ...]:
    """Where the query's words stand in a Whoosh hit's title (offsets into the stored
    title), for a hit whose body matched none: its title is what matched. Marked by
    `highlighter_class`, the one that marks the body."""
    title = hit.get("title") or ""
    highlighter = highlighter_class(fragmenter=WholeFragmenter(), formatter=SnippetFormatter())
    found = highlighter.highlight_hit(hit, "title", top=1)
    return found.highlights if found and found.text == title else ()
