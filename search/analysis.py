"""The French analyzer: one chain used at index time, at query time and by the highlighter.

tokenize → strip elisions → lowercase and fold accents and ligatures → drop stop words → stem,
each step a pure function, composed and cached in `term`, applied by one Whoosh filter.
Folding comes before stemming so that `securite`, `sécurité` and `SÉCURITÉ` give one term;
the stemmer is Snowball French adapted to folded words (`stem`).
Every filter keeps the token's character offsets, which point at the original text, so
snippets can highlight the article's own spelling.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from pickle import dumps

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer
from whoosh.formats import Positions
from whoosh.system import pack_uint

from search.words import WORD_PATTERN, fold, load_words, strip_elision

STOP_WORDS = frozenset(load_words("stopwords.txt"))


_SNOWBALL = Stemmer.Stemmer("french")
# Bumped whenever a change to this module gives some text other terms: an index holds the
# terms of the version that built it, and must be rebuilt (search.store checks).
ANALYZER_VERSION = 2

# Folded endings that Snowball only knows with their accent, given it back before stemming:
# `-ee(s)` is always `-ée(s)` (`renforcee` → `renforcée`), `-iere(s)` is `-ière(s)`, and
# `-ye(s)` is `-yé(s)` (`employe` → `employé`, stemmed like `employer`), `-ierement` is
# `-ièrement` (`premierement`, like `premier`), and `-ite(s)` is read as `-ité(s)`, whose
# adjective Snowball finds (`securite` → `secur`, `egalite` like `egal`; `limite`, `petite`
# or `visite` lose their `e` as before), except `-ivité` (`_NOT_ITE`).
_ACCENTED_ENDINGS = (
    ("ees", "ées"), ("ee", "ée"), ("ieres", "ières"), ("iere", "ière"), ("ierement", "ièrement"),
    ("yes", "yés"), ("ye", "yé"), ("ites", "ités"), ("ite", "ité"),
)
# `-erent` is the passé simple `-èrent` (`abordèrent`), except in `-férent`/`-hérent`
# adjectives and `-férer`/`-hérer` verbs (`différent`, `cohérent`, `préfèrent`), which are
# left to the `-ent` rule below; `-chèrent` (`marchèrent`) is a passé simple again.
_NOT_PASSE_SIMPLE = re.compile(r"(?:f|[^c]h)erent$")
# `-ivité` is left folded: Snowball would cut `-ivité` whole (`collectivités` like
# `collections`, `productivité` like `production`).
_NOT_ITE = ("ivite", "ivites")
_RESTORED = ("erent", "at", "ates", "ames", *(folded for folded, _ in _ACCENTED_ENDINGS))
# The imperfect subjunctive of -er verbs (`donnât`, `donnâmes`, `donnâtes`), folded.
_ER_VERBS = frozenset(fold(verb) for verb in load_words("verbs_er.txt"))
_NOT_CIRCUMFLEX = frozenset(fold(word) for word in load_words("not_circumflex.txt"))
_CIRCUMFLEX_ENDINGS = (("at", "ât"), ("ates", "âtes"), ("ames", "âmes"))
_UNACCENT = str.maketrans("éèâ", "eea")


def restore_accented_ending(word: str) -> str:
    """A folded word's ending as Snowball needs it: `deleguee` → `deleguée`."""
    if not word.endswith(_RESTORED):
        return word
    if word.endswith("erent"):
        return word if _NOT_PASSE_SIMPLE.search(word) else word[:-5] + "èrent"
    for folded, accented in _CIRCUMFLEX_ENDINGS:
        if word.endswith(folded):
            base = word[: -len(folded)]
            if base + "er" in _ER_VERBS and word not in _NOT_CIRCUMFLEX:
                return base + accented
            return word
    for folded, accented in _ACCENTED_ENDINGS:
        if word.endswith(folded) and not word.endswith(_NOT_ITE):
            return word[: -len(folded)] + accented
    return word


# Feminine agent nouns, singular and plural endings → their masculine's.
_FEMININE_AGENT_ENDINGS = (
    ("trices", "teurs"), ("trice", "teur"), ("drices", "deurs"), ("drice", "deur"),
    ("euses", "eurs"), ("euse", "eur"),
)
_FEMININE_ENDINGS = tuple(feminine for feminine, _ in _FEMININE_AGENT_ENDINGS)
_NOT_FEMININE_AGENTS = frozenset(fold(word) for word in load_words("not_feminine_agents.txt"))


def masculine_agent(word: str) -> str:
    """A feminine agent noun's masculine, which Snowball stems alike: `ambassadrice` →
    `ambassadeur`, `chanteuses` → `chanteurs`. Not the feminines of -eux adjectives
    (`heureuse`), nor the other words of `not_feminine_agents.txt` (`matrice`), nor short
    words (`creuse`, `Meuse`)."""
    if not word.endswith(_FEMININE_ENDINGS):
        return word
    for feminine, masculine in _FEMININE_AGENT_ENDINGS:
        if word.endswith(feminine):
            base = word[: -len(feminine)]
            singular = base + feminine.removesuffix("s")
            if len(base) < 2 or singular in _NOT_FEMININE_AGENTS:
                return word
            return base + masculine
    return word


_VOWELS = frozenset("aeiouy")
_UNDOUBLE = ("enn", "onn", "ett", "ell", "eill")
_STRIPPED = ("ent", "dr", "ndu", "rdu", "ndus", "rdus")


def _rv(word: str) -> int:
    """Where Snowball's RV region starts: suffixes are only removed from inside it."""
    if word[:3] in ("par", "col", "tap") or (word[:1] in _VOWELS and word[1:2] in _VOWELS):
        return 3
    for i in range(1, len(word)):
        if word[i] in _VOWELS:
            return i + 1
    return len(word)


# Verbs in -iquer (`communiquer`), as folded stems (`communiqu`) after the part Snowball
# keeps when it cuts their `-ique(s)` as a suffix (`commun`).
_IQUER_VERBS = frozenset(fold(verb)[:-5] for verb in load_words("verbs_iquer.txt"))
_IQUE_ENDINGS = frozenset(("ique", "iques"))


def keep_asser_verb_stem(stem: str, word: str) -> str:
    """`debarr` of `debarrasse` (`débarrassé`) → `debarrass`, like `débarrasser`: Snowball
    took the `-asse(s)` of an -asser verb for an imperfect subjunctive (`donnasse`)."""
    for ending in ("asse", "asses"):
        if word == stem + ending and stem + "asser" in _ER_VERBS:
            return stem + "ass"
    return stem


def keep_iquer_verb_stem(stem: str, word: str) -> str:
    """`commun` of `communique` (`communiqué`) → `communiqu`, like `communiquer`, not `commune`."""
    if word[len(stem):] in _IQUE_ENDINGS and stem in _IQUER_VERBS:
        return stem + "iqu"
    return stem


# Verbs in -ier (`négocier`), folded. Snowball reads their folded participle (`negocie`,
# `négocié`) as the `-ie` of an -ir verb (`finie`) and removes it whole: `negoc`, while
# `negocier` gives `negoci`. Every `-ifier` verb is one.
_IER_VERBS = frozenset(fold(verb) for verb in load_words("verbs_ier.txt"))
_IER_ENDINGS = frozenset(("ie", "ies", "iez"))


def keep_ier_verb_i(stem: str, word: str) -> str:
    """`negoc` of `negocie` → `negoci`, like `negocier`: the `i` of an -ier verb that
    Snowball removed with an -ir ending (`-ie`, `-ies`) or with `-iez`."""
    if word[len(stem):] in _IER_ENDINGS and (stem + "ier" in _IER_VERBS or stem.endswith("if")):
        return stem + "i"
    return stem


# Verbs in -érer (`considérer`), as folded stems (`consider`). Folded, their imperfect
# `considerait` ends like the conditional of `aimerait`, and Snowball cuts it to `consid`.
_ERER_STEMS = frozenset(fold(verb)[:-2] for verb in load_words("verbs_erer.txt"))
_ERER_LONGEST = max(map(len, _ERER_STEMS))


def keep_erer_verb_stem(stem: str, word: str) -> str:
    """`consid` of `considerait` → `consider`, the stem of `considérer`: Snowball took the
    `er` of an -érer verb for the start of a future or conditional ending."""
    for end in range(min(len(word), _ERER_LONGEST), len(stem), -1):
        if word[:end] in _ERER_STEMS:
            return word[:end]
    return stem


def _undouble(word: str) -> str:
    return word[:-1] if word.endswith(_UNDOUBLE) else word


# Words whose `-ent` is their own (`violent`, `présent`), as their Snowball stems, which
# also stand for their other forms (`violente`, `présenter`).
PROTECTED_STEMS = frozenset(
    _SNOWBALL.stemWord(restore_accented_ending(fold(word))).translate(_UNACCENT)
    for word in load_words("protected.txt")
)


def strip_verb_endings(stem: str, word: str) -> str:
    """Three verb endings Snowball leaves on its stems, removed when they lie in RV.

    - `-ent`, the present third person plural (`demandent` → `demand`, like `demande`;
      `viennent` → `vien`, `vient` → `vien`), unless the stem is a protected word whose
      `-ent` belongs to it (`violent`, `présent`), comes from `-ment` after a vowel (`moment`)
      or from `-ention` (`détention`). Adjectives and nouns in `-ent` lose it in all their
      forms alike (`différent`, `différents` → `differ`).
    - `-dr`, the future and infinitive of `-dre` verbs: `attendra`, `attendre` → `attend`.
    - `-u(s)`, the past participle of `-ndre`/`-rdre` verbs: `attendus` → `attend`,
      `perdu` → `perd`.
    """
    if not stem.endswith(_STRIPPED):
        return stem
    rv = _rv(stem)
    if (
        stem.endswith("ent")
        and len(stem) - 3 >= rv
        and stem not in PROTECTED_STEMS
        and not (stem.endswith("ment") and stem[-5:-4] in _VOWELS)
        and not word.endswith(("ention", "entions"))
    ):
        stem = stem[:-1] if stem.endswith(("tient", "vient")) else _undouble(stem[:-3])
        if stem.endswith("y"):  # as Snowball does after a suffix: `payent` → `pai`, like `payer`
            stem = stem[:-1] + "i"
    if stem.endswith("dr") and len(stem) - 2 >= rv:
        stem = stem[:-1]
    elif stem.endswith(("ndu", "rdu")) and len(stem) - 1 >= rv:
        stem = stem[:-1]
    elif stem.endswith(("ndus", "rdus")) and len(stem) - 2 >= rv:
        stem = stem[:-2]
    return stem


# Ordinals written with digits: `150e`, `150è`, `150ème`, `150eme`, `150ième`, `150ᵉ` are one
# term, `150e`; `1er`, `1re`, `1ère` (and plurals) are `1er`; `2nd`, `2nde` are `2e`.
_ORDINAL = re.compile(r"(\d+)(?:e|eme|ieme|em|es|emes|iemes)")
_FIRST = re.compile(r"1(?:ers?|res?|eres?)")
_SECOND = re.compile(r"2nde?s?")


def ordinal(word: str) -> str:
    """The one term of an ordinal written with digits; any other word with digits as it is."""
    if _FIRST.fullmatch(word):
        return "1er"
    if _SECOND.fullmatch(word):
        return "2e"
    if match := _ORDINAL.fullmatch(word):
        return match[1] + "e"
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball French, adapted to folded words.

    Snowball reads some endings only with their accent (`-ée`, `-ière`, `-èrent`): those are
    given back first (`restore_accented_ending`). It also leaves a few frequent verb endings
    (`-ent`, `-dre`, `-du`), removed after it (`strip_verb_endings`). Words with digits
    are kept as they are (`2024`), ordinals as one term (`150eme` → `150e`, `ordinal`).
    """
    if any(ch.isdigit() for ch in word):
        return ordinal(word)
    stemmed = _SNOWBALL.stemWord(restore_accented_ending(masculine_agent(word)))
    if not stemmed.isascii():  # a restored accent Snowball left in place
        stemmed = stemmed.translate(_UNACCENT)
    stemmed = keep_asser_verb_stem(stemmed, word)
    stemmed = keep_ier_verb_i(keep_iquer_verb_stem(stemmed, word), word)
    stemmed = keep_erer_verb_stem(stemmed, word)
    return strip_verb_endings(stemmed, word)


@lru_cache(maxsize=500_000)
def term(word: str) -> str | None:
    """The index term of a word as the tokenizer cut it, or None when it has none.

    strip elision → lowercase and fold accents (`fold`) → stop word? → stem. None for a
    stop word or a word that folds to nothing (symbols, emoji). One cached function for
    the whole chain: a press archive repeats the same words millions of times.
    """
    folded = fold(strip_elision(word))
    if not folded or folded in STOP_WORDS:
        return None
    return stem(folded)


@lru_cache(maxsize=10_000)
def stop_word_form(word: str) -> str:
    """A word without elision, folded: how a stop word is kept where Whoosh asks to keep
    them (the highlighter does, for every word of every text it marks)."""
    return fold(strip_elision(word))


class FrenchTermFilter(Filter):
    """Replaces each token's text by its term (`term`), keeping the offsets.

    Stop words are removed with their positions, as Whoosh's StopFilter(renumber=True)
    does, because Whoosh builds a quoted phrase from its remaining words as adjacent terms:
    "président de la République" must match the text it was copied from. Where Whoosh asks
    to keep stop words (`removestops=False`), they come marked `stopped`.
    """

    def __call__(self, tokens):
        pos = None
        for t in tokens:
            text = term(t.text)
            if text is None:
                if not t.removestops and (kept := stop_word_form(t.text)):
                    t.text, t.stopped = kept, True
                    yield t
                continue
            if t.positions:
                pos = t.pos if pos is None else pos + 1
                t.pos = pos
            t.text, t.stopped = text, False
            yield t


def french_analyzer():
    """The one analyzer of the product: words cut by a regex, then their terms (`term`)."""
    return RegexTokenizer(WORD_PATTERN) | FrenchTermFilter()


_FRENCH_ANALYZER = french_analyzer()
_WORD = re.compile(WORD_PATTERN)


class FrenchPositions(Positions):
    """Whoosh's `Positions` postings of a text field, computed in one loop when the field's
    analyzer is `french_analyzer()`: words cut by the same pattern, their `term`s, and the
    positions `FrenchTermFilter` gives (the first kept word keeps its own, the next ones
    follow it), without a Token object per word. The same terms, counts, weights and bytes
    as `Positions` through the analyzer (a test compares them); any other analyzer or
    option goes through `Positions`.
    """

    def word_values(self, value, analyzer, **kwargs):
        if (not isinstance(value, str) or kwargs.keys() - {"mode"}
                or not (analyzer is _FRENCH_ANALYZER or analyzer == _FRENCH_ANALYZER)):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        pos = None
        for index, text in enumerate(map(term, _WORD.findall(value))):
            if text is None:
                continue
            pos = index if pos is None else pos + 1
            found = positions.get(text)
            if found is None:
                positions[text] = [pos]
            else:
                found.append(pos)
        boost = self.field_boost
        for text, poslist in positions.items():
            if len(poslist) == 1:  # most words of a text
                yield text, 1, boost, _one_position(poslist[0])
                continue
            deltas = [poslist[0], *(b - a for a, b in itertools.pairwise(poslist))]
            yield text, len(poslist), len(poslist) * boost, _encode_positions(deltas)


def _encode_positions(deltas: list[int]) -> bytes:
    """Positions.encode: the count, then the pickled gaps."""
    return pack_uint(len(deltas)) + dumps(deltas, 2)


@lru_cache(maxsize=100_000)
def _one_position(pos: int) -> bytes:
    return _encode_positions([pos])


def analyze(text: str) -> list[str]:
    """The terms the index holds for `text` (for tests and tools)."""
    return [t.text for t in french_analyzer()(text)]
