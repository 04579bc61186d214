"""The French analyzer: one chain used at index time, at query time and by the highlighter.

tokenize → strip elisions → lowercase → fold accents and ligatures → drop stop words → stem.
Folding comes before stemming so that `securite`, `sécurité` and `SÉCURITÉ` give one term.
Every filter keeps the token's character offsets, which point at the original text, so
snippets can highlight the article's own spelling.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import Stemmer
from unidecode import unidecode
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StopFilter

# A word is a run of letters or digits (combining accents included, so text in
# decomposed form stays whole), optionally joined by apostrophes: "l'ambassadrice",
# "aujourd'hui". Hyphens split words: "Sud-Sud" gives "sud", "sud" at adjacent positions,
# so `sud-sud`, `"sud sud"` and `sud` all find it.
_LETTER = r"(?:[^\W_]|[\u0300-\u036f])"
_APOSTROPHES = "'’ʼ"
WORD_PATTERN = rf"{_LETTER}+(?:[{_APOSTROPHES}]{_LETTER}+)*"

# Elided articles, pronouns and conjunctions, as in Lucene's French analyzer.
ELISIONS = frozenset(
    "l m t qu n s j d c jusqu quoiqu lorsqu puisqu".split()
)

_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")


def strip_elision(word: str) -> str:
    """`l'ambassadrice` → `ambassadrice`; `aujourd'hui` stays whole."""
    parts = _APOSTROPHE_RE.split(word, maxsplit=1)
    if len(parts) == 2 and parts[0].lower() in ELISIONS:
        return parts[1]
    return word


def fold(word: str) -> str:
    """Accents and ligatures to plain lowercase ASCII letters and digits: `Œuvre` → `oeuvre`."""
    return "".join(ch for ch in unidecode(word).lower() if ch.isalnum())


_SNOWBALL = Stemmer.Stemmer("french")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball French on a folded word, with the folded `-ée(s)` participle restored.

    Snowball recognises `-ée`/`-ées` only with the accent; once folded to `-ee`/`-ees`
    it would leave `renforcee` apart from `renforcé`, so those endings lose their final
    `e(s)` first. Words with digits (`2024`, `150e`) are kept as they are.
    """
    if any(ch.isdigit() for ch in word):
        return word
    if word.endswith("ees"):
        word = word[:-2]
    elif word.endswith("ee"):
        word = word[:-1]
    return _SNOWBALL.stemWord(word)


class ElisionFilter(Filter):
    """Strips elided prefixes (`l'`, `L’`, `qu'`, `jusqu'`...), keeping the offsets."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = strip_elision(t.text)
            yield t


class FoldFilter(Filter):
    """Folds accents and ligatures; drops tokens that fold to nothing (symbols, emoji)."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold(t.text)
            if t.text:
                yield t


class FrenchStemFilter(Filter):
    """Replaces each token's text by its stem."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = stem(t.text)
            yield t


def _load_stop_words() -> frozenset[str]:
    text = resources.files("search").joinpath("data/stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


STOP_WORDS = _load_stop_words()


def french_analyzer():
    """The one analyzer of the product, assembled from its filters.

    Stop words are removed with their positions (`renumber`), because Whoosh builds a
    quoted phrase from its remaining words as adjacent terms: "président de la République"
    must match the text it was copied from.
    """
    return (
        RegexTokenizer(WORD_PATTERN)
        | ElisionFilter()
        | LowercaseFilter()
        | FoldFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1, renumber=True)
        | FrenchStemFilter()
    )


def analyze(text: str) -> list[str]:
    """The terms the index holds for `text` (for tests and tools)."""
    return [t.text for t in french_analyzer()(text)]
