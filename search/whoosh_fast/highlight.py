"""Whoosh's highlighter, marking more words than the query's terms, over tokens that may
come without Whoosh's analyzer.

Reads Whoosh's private internals: the highlighter's `_merge_matched_tokens`, which joins
the marked tokens that stand together, and the attributes its fragmenters read of a token."""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable, Iterator

from whoosh import highlight


class SpanToken:
    """A token as Whoosh's fragmenters, scorers and formatters read it (text, offsets,
    position, boost, whether it matched), built from a plain tuple: a body's few hundred
    words cost no `whoosh.analysis.Token` each."""

    __slots__ = ("text", "pos", "startchar", "endchar", "stopped", "boost", "matched")

    def __init__(self, text: str, pos: int, startchar: int, endchar: int,
                 stopped: bool) -> None:
        self.text, self.pos, self.startchar, self.endchar = text, pos, startchar, endchar
        self.stopped, self.boost, self.matched = stopped, 1.0, False

    def copy(self) -> SpanToken:
        token = SpanToken(self.text, self.pos, self.startchar, self.endchar, self.stopped)
        token.matched = self.matched
        return token


class MarkingHighlighter(highlight.Highlighter):
    """Whoosh's highlighter, which marks the words whose terms the query searched, also
    marking the words that start at the characters `also_marked` gives; the words of a
    text come from `spans`, or from the field's analyzer."""

    def also_marked(self, results, fieldname: str) -> Callable[[str], set[int]] | None:
        """A function giving, for a text of `fieldname`, the first characters of more words
        to mark; None to mark only the query's terms."""
        return None

    def spans(self, field, text: str) -> list[tuple[str, int, int, int, bool]] | None:
        """The tokens of `text` as the index holds them, stop words kept, as plain tuples
        (text, pos, startchar, endchar, stopped) in the order of the text, each starting
        where or after the one before does; None to have Whoosh's analyzer of the field
        give them."""
        return None

    def highlight_hit(self, hitobj, fieldname, text=None, top=3, minscore=1,
                      strict_phrase=False):
        results = hitobj.results
        if strict_phrase or results.has_matched_terms() or self.can_load_chars(
                results, fieldname):
            return super().highlight_hit(hitobj, fieldname, text, top, minscore, strict_phrase)
        starts_in = self.also_marked(results, fieldname)
        text = hitobj[fieldname] if text is None else text
        field = results.searcher.schema[fieldname]
        words = frozenset(field.from_bytes(found) for _, found in
                          results.query_terms(expand=True, fieldname=fieldname))
        starts = starts_in(text) if starts_in is not None else set()
        spans = self.spans(field, text)
        if spans is None:
            tokens = _matched(field.analyzer(text, positions=True, chars=True, mode="index",
                                             removestops=False), words, starts)
        elif type(self.fragmenter) is highlight.ContextFragmenter:
            tokens = _near_matches(spans, words, starts, self.fragmenter)
        else:
            tokens = _matched(itertools.starmap(SpanToken, spans), words, starts)
        fragments = self.fragmenter.fragment_tokens(text, self._merge_matched_tokens(tokens))
        return self.formatter.format(highlight.top_fragments(
            fragments, top, self.scorer, self.order, minscore=minscore))


def _matched(tokens, words: frozenset[str], starts: set[int]) -> Iterator:
    for token in tokens:
        token.matched = token.text in words or token.startchar in starts
        yield token


def _near_matches(spans: list[tuple[str, int, int, int, bool]], words: frozenset[str],
                  starts: set[int], fragmenter: highlight.ContextFragmenter) -> list[SpanToken]:
    """The tokens of `spans`, marked, that can change the passages `fragmenter` cuts: those
    around a matched token. The others are passed over outside any passage, where Whoosh's
    `ContextFragmenter` only keeps the starts of the last `surround` characters before the
    next match; a passage ends once the unmatched tokens after its last match are
    `2 * surround` characters long. A body's words far from every match cost nothing then.

    Reads `ContextFragmenter.fragment_tokens`' private logic (a test compares the passages
    with those of every token)."""
    surround = fragmenter.surround
    if fragmenter.charlimit:  # Whoosh stops at the first token ending past it, whose end
        for at, span in enumerate(spans):  # ends a passage still open
            if span[3] > fragmenter.charlimit:
                spans = spans[:at + 1]
                break
    matched = [text in words or start in starts for text, _, start, _, _ in spans]
    keep = bytearray(len(spans))
    span_starts = [span[2] for span in spans]
    for at in itertools.compress(range(len(spans)), matched):
        if at:  # from the first token that the fragmenter may still remember before it
            first = bisect_left(span_starts, spans[at - 1][3] - surround - 1, 0, at - 1)
            keep[first:at] = b"\x01" * (at - first)
        keep[at] = 1
        after, length = at + 1, 0
        while after < len(spans) and length < 2 * surround:
            if not matched[after]:
                length += spans[after][3] - spans[after][2]
            keep[after] = 1
            after += 1
        if after < len(spans):
            keep[after] = 1
    tokens = []
    for at in itertools.compress(range(len(spans)), keep):
        token = SpanToken(*spans[at])
        token.matched = matched[at]
        tokens.append(token)
    return tokens
