"""Whoosh's highlighter, marking more words than the query's terms.

Reads Whoosh's private internals: the highlighter's `_merge_matched_tokens`, which joins
the marked tokens that stand together."""

from __future__ import annotations

from collections.abc import Callable

from whoosh import highlight


class MarkingHighlighter(highlight.Highlighter):
    """Whoosh's highlighter, which marks the words whose terms the query searched, also
    marking the words that start at the characters `also_marked` gives."""

    def also_marked(self, results, fieldname: str) -> Callable[[str], set[int]] | None:
        """A function giving, for a text of `fieldname`, the first characters of more words
        to mark; None to mark as Whoosh marks."""
        return None

    def highlight_hit(self, hitobj, fieldname, text=None, top=3, minscore=1,
                      strict_phrase=False):
        results = hitobj.results
        starts_in = self.also_marked(results, fieldname)
        if starts_in is None:
            return super().highlight_hit(hitobj, fieldname, text, top, minscore, strict_phrase)
        text = hitobj[fieldname] if text is None else text
        field = results.searcher.schema[fieldname]
        words = frozenset(field.from_bytes(found) for _, found in
                          results.query_terms(expand=True, fieldname=fieldname))
        starts = starts_in(text)
        tokens = field.analyzer(text, positions=True, chars=True, mode="index",
                                removestops=False)
        fragments = self.fragmenter.fragment_tokens(text, self._merge_matched_tokens(
            _matched(tokens, words, starts)))
        return self.formatter.format(highlight.top_fragments(
            fragments, top, self.scorer, self.order, minscore=minscore))


def _matched(tokens, words: frozenset[str], starts: set[int]):
    for token in tokens:
        token.matched = token.text in words or token.startchar in starts
        yield token
