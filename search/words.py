"""Words as the analyzer, the lexicon and the query parser all cut and fold them.

A word is what `WORD_PATTERN` finds; `strip_elision` and `fold` give the plain lowercase
ASCII form every later step works on. Kept apart from the analyzer so that data modules
(the lexicon) can share them without importing the analyzer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from unidecode import unidecode

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


@lru_cache(maxsize=500_000)
def surface_form(word: str) -> str:
    """A word as the tokenizer cut it, elision stripped and folded, as the surface fields
    and the kept stop words hold it: `L’Élysée` → `elysee`; empty for a word that folds to
    nothing (symbols)."""
    return fold(strip_elision(word))


def load_words(name: str) -> list[str]:
    """The words of a data file beside this module, one a line; `#` starts a comment."""
    text = resources.files("search").joinpath(f"data/{name}").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]
