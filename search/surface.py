"""The surface forms of a text: its words as written, for exact phrases, `=word`, truncation
and "did you mean".

A surface form is a word with its elision stripped and its case and accents folded
(`L'Ambassadrice` → `ambassadrice`), never stemmed and never replaced by a lexicon entry;
stop words are kept at their positions, so that `"président de la République"` does not
match "président République". Each searchable field has a surface twin (`SURFACE_FIELDS`)
holding the same text analyzed so: `title:"..."` stays a phrase of the title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.formats import Positions

from search.analysis import PARAGRAPH_STRIDE, paragraph_spans, position_postings
from search.words import WORD_PATTERN, surface_form

# The words of paragraph k get positions from k * PARAGRAPH_STRIDE on, as in the stemmed
# fields, so a phrase never spans two paragraphs.
_WORD = re.compile(WORD_PATTERN)

SURFACE_PREFIX = "surface_"


def surface_field(fieldname: str) -> str:
    """The surface twin of a searchable field: `title` → `surface_title`."""
    return fieldname if fieldname.startswith(SURFACE_PREFIX) else SURFACE_PREFIX + fieldname


def stemmed_field(fieldname: str) -> str:
    """The searchable field a surface field mirrors: `surface_title` → `title`."""
    return fieldname.removeprefix(SURFACE_PREFIX)


def is_surface_field(fieldname: str | None) -> bool:
    return bool(fieldname) and fieldname.startswith(SURFACE_PREFIX)


def surface_words(text: str) -> Iterator[tuple[int, str, int, int]]:
    """(position, surface form, start, end) of each word of `text`, paragraph k's words
    numbered from k * PARAGRAPH_STRIDE."""
    for paragraph, (start, end) in enumerate(paragraph_spans(text)):
        pos = paragraph * PARAGRAPH_STRIDE
        for match in _WORD.finditer(text, start, end):
            form = surface_form(match.group())
            if form:
                yield pos, form, match.start(), match.end()
                pos += 1


class SurfaceTokenizer(Tokenizer):
    """Words of a text as surface forms (`surface_words`), with their offsets in the text."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, form, start, end in surface_words(value):
            token.text = form
            token.stopped = False
            token.boost = 1.0
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class _NoFilter(Filter):
    """A tokenizer alone is not an analyzer Whoosh can compose with; this makes one."""

    def __call__(self, tokens):
        return tokens


def surface_analyzer():
    return SurfaceTokenizer() | _NoFilter()


_SURFACE_ANALYZER = surface_analyzer()


class SurfacePositions(Positions):
    """`Positions` postings of a surface field, computed in one loop from `surface_words`:
    the same terms, counts, weights and bytes as Whoosh's `Positions` through
    `surface_analyzer()` (a test compares them)."""

    def word_values(self, value, analyzer, **kwargs):
        if (not isinstance(value, str) or kwargs.keys() - {"mode"}
                or analyzer != _SURFACE_ANALYZER):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        yield from position_postings(surface_positions(value), self.field_boost)


def surface_positions(text: str) -> dict[str, list[int]]:
    """Each surface form of `text` with its ascending positions, as `surface_words` gives
    them, in one loop without their offsets (a quarter less CPU for a body)."""
    positions: dict[str, list[int]] = {}
    for paragraph, (start, end) in enumerate(paragraph_spans(text)):
        pos = paragraph * PARAGRAPH_STRIDE
        for form in map(surface_form, _WORD.findall(text, start, end)):
            if form:
                found = positions.get(form)
                if found is None:
                    positions[form] = [pos]
                else:
                    found.append(pos)
                pos += 1
    return positions


def exact_matches(text: str, words: frozenset[str],
                  phrases: list[tuple[tuple[str, ...], int]]) -> set[int]:
    """The start offsets of the words of `text` that an exact query part matches: a
    surface form in `words`, or a word of an occurrence of one of `phrases` ((its
    surface forms, its slop): each next word at most slop positions after the last)."""
    found = list(surface_words(text))
    starts = {start for _, form, start, _ in found if form in words}
    for phrase, slop in phrases:
        if not phrase:
            continue
        for at, (pos, form, start, _) in enumerate(found):
            if form != phrase[0]:
                continue
            matched, last, next_at = [start], pos, at + 1
            for word in phrase[1:]:
                while next_at < len(found) and found[next_at][0] <= last + slop:
                    if found[next_at][1] == word:
                        break
                    next_at += 1
                else:
                    break
                last = found[next_at][0]
                matched.append(found[next_at][2])
                next_at += 1
            else:
                starts.update(matched)
    return starts
