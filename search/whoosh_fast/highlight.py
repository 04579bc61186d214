"""Whoosh's highlighter, marking more words than the query's terms, over tokens that may
come without Whoosh's analyzer.

Reads Whoosh's private internals: the highlighter's `_merge_matched_tokens`, which joins
the marked tokens that stand together, and the attributes its fragmenters read of a token."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

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
    text come from `tokens`."""

    def also_marked(self, results, fieldname: str) -> Callable[[str], set[int]] | None:
        """A function giving, for a text of `fieldname`, the first characters of more words
        to mark; None to mark only the query's terms."""
        return None

    def tokens(self, field, text: str) -> Iterable:
        """The tokens of `text` as the index holds them, stop words kept (marked `stopped`):
        Whoosh's analyzer of the field, as Whoosh's highlighter reads them."""
        return field.analyzer(text, positions=True, chars=True, mode="index",
                              removestops=False)

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
        fragments = self.fragmenter.fragment_tokens(text, self._merge_matched_tokens(
            _matched(self.tokens(field, text), words, starts)))
        return self.formatter.format(highlight.top_fragments(
            fragments, top, self.scorer, self.order, minscore=minscore))


def _matched(tokens, words: frozenset[str], starts: set[int]) -> Iterator:
    for token in tokens:
        token.matched = token.text in words or token.startchar in starts
        yield token
