"""The French analyzer: one chain used at index time, at query time and by the highlighter.

tokenize → strip elisions → lowercase and fold accents and ligatures → lexicon form? →
drop stop words → stem, each step a pure function, composed and cached in `term`, applied by
one Whoosh filter. Folding comes before stemming so that `securite`, `sécurité` and
`SÉCURITÉ` give one term; the stemmer is Snowball French adapted to folded words (`stem`).

The lexicon (search.lexicon) names countries, organisations and people: a word that is one
of its forms gets the entity's term instead of a stem (`Maroc`, `marocaines`, `maroco-` →
`@maroc`), so a country is never stemmed into a common word (`Mali` ≠ `mal`); a form of
several words (`Organisation des Nations unies`) adds the entity's term at the position of
its first word, spanning the whole form, beside the words' own terms. A Roman numeral in
capitals after a name (`Mohammed VI`) gets a term no word shares (`#vi`, where `vie` gives
`vi`). Paragraphs (blank lines) start their words' positions at multiples of
PARAGRAPH_STRIDE, so no phrase spans two of them.

Every filter keeps the token's character offsets, which point at the original text, so
snippets can highlight the article's own spelling.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pickle import dumps

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer, Token
from whoosh.formats import Positions
from whoosh.system import pack_uint

from search.lexicon import (
    ENTITY_MARK,
    LEXICON_VERSION,
    entity_of_word,
    entries,
    entry,
    hides,
    longest_phrase,
    normalized_words,
)
from search.words import WORD_PATTERN, fold, load_words, strip_elision, surface_form

STOP_WORDS = frozenset(load_words("stopwords.txt"))


_SNOWBALL = Stemmer.Stemmer("french")
# Bumped whenever a change to this module gives some text other terms: an index holds the
# terms of the version that built it, and must be rebuilt (search.store checks). The
# lexicon's data gives terms too: its checksum is the low 32 bits.
ANALYZER_RULES_VERSION = 5
ANALYZER_VERSION = ANALYZER_RULES_VERSION << 32 | LEXICON_VERSION

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
def term(word: str, query: bool = False) -> str | None:
    """The index term of a word as the tokenizer cut it, or None when it has none.

    strip elision → lowercase and fold accents (`fold`) → the lexicon's entity term
    (`@maroc`), or None for a stop word, or the stem. None too for a word that folds to
    nothing (symbols, emoji). `query` says the word comes from a query, where acronyms
    that could be ordinary text (`UE`) count in any case, in text only in capitals.
    One cached function for the whole chain: a press archive repeats the same words
    millions of times.
    """
    folded = fold(strip_elision(word))
    if not folded:
        return None
    entity = entity_of_word(folded, word, query=query)
    if entity is not None:
        return entity
    if folded in STOP_WORDS:
        return None
    return stem(folded)


# A name's spellings in transliteration (`Tokaïev`, `Tokayev`, `Tokaev`; `Zelensky`,
# `Zelenskyy`; `Loukachenko`, `Lukashenko`) share one key: each rule maps the spellings
# French and English press give one sound to one (`y`, `ï` → `i`; `ou` → `u`; `sh` → `ch`;
# `dj`, `zh` → `j`; `kh` → `h`; `dh`, `th` → `d`, `t`; doubled letters single; `-iev` →
# `-ev`; a final `-ine` → `-in`, `Prigojine`/`Prigozhin`). A capitalised word inside a
# sentence, which is a name, gets its key as a second term (TRANSLITERATION_MARK + key) at
# its position (not a word of a lexicon form); a query word also searches its key
# (search.query), so `Tokaev` finds `Tokayev`. Common words are not merged: they are keyed
# only where written as names.
TRANSLITERATION_MARK = "%"
# The rules, in order, as regular expressions that Python and Java read alike (the
# OpenSearch analyzer applies the same ones, search.opensearch.settings): a group is
# referred to as `\1` here, `$1` there.
TRANSLITERATION_RULES = (
    ("sch", "ch"), ("sh", "ch"), ("tch", "ch"), ("dzh", "j"), ("zh", "j"), ("dj", "j"),
    ("kh", "h"), ("dh", "d"), ("th", "t"), ("ou", "u"), ("y", "i"),
    (r"(.)\1+", r"\1"), (r"iev$", "ev"), (r"ine$", "in"))
_KEY_RULES = tuple((re.compile(pattern), sound) for pattern, sound in TRANSLITERATION_RULES)
MIN_KEYED_LETTERS = 4
# What ends a sentence, or opens a quotation or a parenthesis, between two words: the
# capitalised word after it may be any word, not a name.
SENTENCE_BREAK = re.compile(r"[.!?…:;«»\"“”(\[—–]")


def transliteration_key(folded: str) -> str:
    """The key of a folded name's spellings: `tokayev`, `tokaiev`, `tokaev` → `tokaev`."""
    key = folded
    for pattern, sound in _KEY_RULES:
        key = pattern.sub(sound, key)
    return key


@lru_cache(maxsize=200_000)
def name_key(word: str) -> str | None:
    """The transliteration term of a word read as a name (`Tokayev` → `%tokaev`): None for
    a stop word, a lexicon form, a Roman numeral, a word with digits or of fewer than
    four letters."""
    folded = fold(strip_elision(word))
    text = term(word)
    if (text is None or text.startswith(ENTITY_MARK) or len(folded) < MIN_KEYED_LETTERS
            or not folded.isalpha() or word in ROMAN_NUMERALS):
        return None
    return TRANSLITERATION_MARK + transliteration_key(folded)


# Paragraphs are separated by a blank line; the words of paragraph k take positions from
# k * PARAGRAPH_STRIDE on (no paragraph has that many words), so that a phrase or a
# proximity never spans two paragraphs and `pos // PARAGRAPH_STRIDE` is the paragraph.
PARAGRAPH_STRIDE = 100_000
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

# Roman numerals written after a name (`Mohammed VI`, `Louis XIV`, `Jean-Paul II`), as
# kings and popes number them, get ROMAN_MARK before them instead of a stem: `VI` and
# `vie` were both `vi`. `I` (English text) and `X` (the network) are left out.
ROMAN_MARK = "#"


def _roman(number: int) -> str:
    tens, units = divmod(number, 10)
    return "X" * tens + ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")[units]


ROMAN_NUMERALS = frozenset(_roman(number) for number in range(2, 40)) - {"X"}

_WORD = re.compile(WORD_PATTERN)


# The lexicon's forms of several words, as their folded words.
_SEVERAL_WORDS = [words for entry in entries() for form in entry.forms
                  if len(words := normalized_words(form)) > 1]
# The words that can start a form of several words: the others skip `longest_phrase`. A
# form that starts with a stop word (`la Hollande`, `au Salvador`) is looked for from its
# second word: stop words are the most frequent words, and have no term to come before.
_FORM_STARTS = frozenset(words[0] for words in _SEVERAL_WORDS if words[0] not in STOP_WORDS)
_FORM_SECONDS = frozenset(words[1] for words in _SEVERAL_WORDS if words[0] in STOP_WORDS)
# Their first two words, which most words that start a form (`est`, `pays`) are not followed by.
_FORM_PAIRS = frozenset((words[0], words[1]) for words in _SEVERAL_WORDS)


# What `_word_info` says of a word besides its term, as bits: a word more than a name
# (`kind > _NAME`) needs a look at the words around it. In a query, typed in any case, a
# word that its stem leaves whole (`mohammed`, `elizabeth`) may be a name too.
_NAME, _STARTS_FORM, _ROMAN, _SECOND_IN_FORM = 1, 2, 4, 8


def _word_info(word: str, query: bool) -> tuple[str | None, str, int]:
    """A word's term, its folded form and what it may be in context: the start of a form
    of several words, a Roman numeral, a capitalised name (which a numeral may follow)."""
    return _query_word_info(word) if query else _text_word_info(word)


def _info(word: str, query: bool) -> tuple[str | None, str, int]:
    text = term(word, query)
    folded = fold(strip_elision(word))
    kind = ((_STARTS_FORM if folded in _FORM_STARTS else 0)
            | (_SECOND_IN_FORM if folded in _FORM_SECONDS else 0)
            | (_ROMAN if _is_numeral(word, text, query) else 0))
    if text is not None and (strip_elision(word)[:1].isupper() or (
            query and text == folded)):
        kind |= _NAME
    return text, folded, kind


def _is_numeral(word: str, text: str | None, query: bool) -> bool:
    """A Roman numeral: in capitals in text; in a query in any case (`mohammed vi`), unless
    it is a lexicon form (`xi`)."""
    if not query:
        return word in ROMAN_NUMERALS
    return word.upper() in ROMAN_NUMERALS and not (text or "").startswith(ENTITY_MARK)


# One cache for each, keyed on the word alone: the fast path looks up every word of a text.
_text_word_info = lru_cache(maxsize=500_000)(lambda word: _info(word, False))
_query_word_info = lru_cache(maxsize=50_000)(lambda word: _info(word, True))


_Infos = Sequence[tuple[str | None, str, int]]


def _numbered(infos: _Infos, i: int) -> bool:
    """Whether word `i`, a Roman numeral, follows a name."""
    return i > 0 and bool(infos[i - 1][2] & _NAME) and not infos[i - 1][2] & _ROMAN


class _Folded(Sequence):
    """The folded words of a paragraph's `_word_info`s, as `longest_phrase` reads them."""

    def __init__(self, infos: _Infos) -> None:
        self.infos = infos

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, i):
        return self.infos[i][1]


def _in_context(infos: list[tuple[str | None, str, int]], words: Sequence[str], i: int,
                form_end: int) -> tuple[str | None, int, tuple[int, int, str] | None]:
    """The term of word `i` of a paragraph, a word more than a name, among the words around
    it: a Roman numeral after a name gets its own; a form of several words may start at it
    (or at the stop word before it).

    Returns the term, the end of the last form found (`form_end`, updated: the forms inside
    a form do not count) and the form found here, as (first word, number of words, entity
    term), or None. The words of a form that name the form's entity (`Errachid` in `Ould
    Errachid`, counted once) or that the form hides (`Guinée` in `Guinée-Bissau`:
    `lexicon.hides`) get their plain terms, written into `infos`.
    """
    text, _, kind = infos[i]
    if kind & _ROMAN and _numbered(infos, i):
        text = ROMAN_MARK + words[i].lower()
    found = None
    for start, flag in ((i - 1, _SECOND_IN_FORM), (i, _STARTS_FORM)):
        if (kind & flag and start >= form_end and (start == i or infos[start][0] is None)
                and start + 1 < len(infos)
                and (infos[start][1], infos[start + 1][1]) in _FORM_PAIRS
                and (phrase := longest_phrase(_Folded(infos), start)) is not None):
            found = (start, *phrase)
            break
    if found is None:
        return text, form_end, None
    start, length, entity = found
    form_end = start + length
    for j in range(start, form_end):
        named, folded, word_kind = infos[j]
        if named is not None and named.startswith(ENTITY_MARK) and (
                named == entity or hides(entity, named)):
            infos[j] = (None if folded in STOP_WORDS else stem(folded), folded, word_kind)
            if j == i:
                text = infos[j][0]
    return text, form_end, found


def phrase_entity(text: str) -> str | None:
    """The entity term when the words of `text` are exactly one form of several words
    (`États-Unis`, `Nations-unies`): a query word that stands for the entity."""
    folded = normalized_words(text)
    if len(folded) < 2:
        return None
    found = longest_phrase(folded, 0)
    return found[1] if found is not None and found[0] == len(folded) else None


# The gender and number endings a compound's last word may take (`-kazakh(e)(s)`,
# `-syrien(ne)(s)`), kept only where they give the word's own term.
_INFLECTIONS = ("", "e", "s", "es", "ne", "nes")


def inflected_forms(word: str) -> tuple[str, ...]:
    """The surface forms of `word` in both genders and numbers that have its term:
    `syrienne` → syrien, syrienne, syriennes, syriens; `allemand` → allemand, allemande,
    allemandes, allemands (never the country `allemagne`, another word)."""
    folded = surface_form(word)
    own = term(folded, True)
    bases = {folded} | {folded[: -len(ending)] for ending in _INFLECTIONS[1:]
                        if folded.endswith(ending) and len(folded) - len(ending) >= 3}
    found = {base + ending for base in bases for ending in _INFLECTIONS}
    return tuple(sorted(form for form in found if term(form, True) == own))


def compound_forms(word: str) -> tuple[tuple[str, ...], ...] | None:
    """The surface forms (words as written, folded) that a compound query word made of
    countries' forms stands for: `maroco-kazakhes` → (maroco, kazakh), (maroco,
    kazakhe), (maroco, kazakhes), (maroco, kazakhs). None for one word, a lexicon form of
    several words (`États-Unis`), a compound without a country's form (`cessez-le-feu`,
    whose word families are searched side by side) or with a name (`al-Assad`).

    Searched as the entities side by side, `indo-pakistanais` also matched "l'Inde et le
    Pakistan" (stop words leave no gap between the terms): 13 articles for 1."""
    pieces = _WORD.findall(word)
    if len(pieces) < 2 or phrase_entity(word) is not None:
        return None
    kinds = {found.kind for piece in pieces
             if (found := entry(term(piece, True) or "")) is not None}
    if kinds != {"country"}:  # `al-Assad`, `Ben-Salmane`: a name, not a compound
        return None
    first = tuple(surface_form(piece) for piece in pieces[:-1])
    if not all(first):
        return None
    return tuple((*first, last) for last in inflected_forms(pieces[-1]))


def query_word_groups(words: Sequence[str]) -> Iterator[tuple[int, int]]:
    """Runs `(start, end)` of consecutive query words to search as one word, because Whoosh's
    parser analyzes query words one at a time: a form of several words of the lexicon
    (`Nations unies`, `Côte d'Ivoire`), a name and its Roman numeral (`Mohammed VI`)."""
    pieces: list[str] = []  # the words the analyzer cuts, and the query word of each
    spans: list[tuple[int, int]] = []
    for word in words:
        cut = _WORD.findall(word)
        spans.append((len(pieces), len(pieces) + len(cut)))
        pieces.extend(cut)
    infos = [_word_info(piece, True) for piece in pieces]
    folded = [info[1] for info in infos]
    ends = {end: number for number, (_, end) in enumerate(spans)}
    number = 0
    while number < len(words):
        end = number + 1
        first, last = spans[number]
        if first < last:
            found = longest_phrase(folded, first)
            if found is not None and first + found[0] > last and first + found[0] in ends:
                end = ends[first + found[0]] + 1
        first, last = spans[end - 1]
        if (end < len(words) and last < len(infos) and spans[end] == (last, last + 1)
                and infos[last][2] & _ROMAN and first < last and _numbered(infos, last)):
            end += 1
        if end > number + 1:
            yield number, end
        number = end


class FrenchTokenizer(RegexTokenizer):
    """Words as WORD_PATTERN cuts them, each a token of its own that knows its paragraph
    (`paragraph`, counted from 0 at each blank line) and takes the position of its rank in
    it from `paragraph * PARAGRAPH_STRIDE` on."""

    def __init__(self) -> None:
        super().__init__(WORD_PATTERN)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        if not tokenize:
            yield from super().__call__(
                value, positions, chars, keeporiginal, removestops, start_pos, start_char,
                tokenize, mode, **kwargs)
            return
        for paragraph, (start, end) in enumerate(paragraph_spans(value)):
            previous = None  # the word before, in this paragraph
            for rank, match in enumerate(self.expression.finditer(value, start, end)):
                t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
                t.text, t.boost, t.stopped, t.paragraph = match.group(), 1.0, False, paragraph
                t.in_sentence = previous is not None and _in_sentence(
                    value, previous.group(), previous.end(), match.start())
                previous = match
                if keeporiginal:
                    t.original = t.text
                if positions:
                    t.pos = start_pos + paragraph * PARAGRAPH_STRIDE + rank
                if chars:
                    t.startchar, t.endchar = start_char + match.start(), start_char + match.end()
                yield t


# Words whose full stop ends an abbreviation, not a sentence: `M. Kuznetsov`, `George W. Bush`.
ABBREVIATIONS = frozenset("M MM Mme Mmes Mlle Dr Mgr Me Pr St Ste Gal Gén Col Cdt Lt".split())


def _in_sentence(value: str, previous: str | None, after: int, start: int) -> bool:
    """Whether a word starting at `start` follows another word of its sentence,
    `previous`, which ended at `after` (`previous` is None for the first word of a
    paragraph). A full stop after an abbreviation or an initial ends no sentence."""
    if previous is None:
        return False
    found = SENTENCE_BREAK.search(value, after, start)
    if found is None:
        return True
    return (found.group() == "." and (previous in ABBREVIATIONS or (
        len(previous) == 1 and previous.isupper()))
        and SENTENCE_BREAK.search(value, found.end(), start) is None)


def paragraph_spans(value: str) -> Iterator[tuple[int, int]]:
    """The (start, end) of each paragraph of `value`, as `PARAGRAPH_BREAK.split` cuts it."""
    start = 0
    for found in PARAGRAPH_BREAK.finditer(value):
        yield start, found.start()
        start = found.end()
    yield start, len(value)


class FrenchTermFilter(Filter):
    """Replaces each token's text by its term (`term`), keeping the offsets; adds the terms
    of the lexicon's forms of several words, and gives Roman numerals after a name theirs.

    Stop words are removed with their positions, as Whoosh's StopFilter(renumber=True)
    does, because Whoosh builds a quoted phrase from its remaining words as adjacent terms:
    "président de la République" must match the text it was copied from. Where Whoosh asks
    to keep stop words (`removestops=False`), they come marked `stopped`.

    The first kept word of a paragraph is at `paragraph * PARAGRAPH_STRIDE`, the next ones
    follow it. A form of several words (`Nations unies`) adds its entity term before its
    first word, at the position the next kept word takes, spanning the form's characters;
    its stop words count (`Organisation des Nations unies`). Query
    text gets no such term: Whoosh makes a phrase of a query's terms in their order, and
    query.py searches a whole form as its entity (`phrase_entity`).
    """

    def __call__(self, tokens):
        for _, paragraph in itertools.groupby(tokens, _paragraph_of):
            tokens = list(paragraph)
            query = tokens[0].mode == "query"
            words = [t.text for t in tokens]
            infos = [_word_info(word, query) for word in words]
            # The first word of a paragraph is at its start: `paragraph * PARAGRAPH_STRIDE`.
            pos = tokens[0].pos - 1 if tokens[0].positions else None
            form_end = 0
            for i, t in enumerate(tokens):
                text, _, kind = infos[i]
                if kind > _NAME:
                    text, form_end, found = _in_context(infos, words, i, form_end)
                    if found is not None and not query:
                        start, length, entity_term = found
                        entity = tokens[start].copy()
                        entity.text, entity.stopped = entity_term, False
                        if t.positions:
                            entity.pos = pos + 1
                        if t.chars:
                            entity.endchar = tokens[start + length - 1].endchar
                        yield entity
                if text is None:
                    if not t.removestops and (kept := surface_form(t.text)):
                        t.text, t.stopped = kept, True
                        yield t
                    continue
                if t.positions:
                    pos += 1
                    t.pos = pos
                t.text, t.stopped = text, False
                yield t
                if (not query and kind & _NAME and i >= form_end
                        and getattr(t, "in_sentence", False)
                        and (key := name_key(words[i])) is not None):
                    name = t.copy()
                    name.text = key
                    yield name


def _paragraph_of(token: Token) -> int:
    return getattr(token, "paragraph", 0)


def french_analyzer():
    """The one analyzer of the product: words cut by a regex, then their terms (`term`)."""
    return FrenchTokenizer() | FrenchTermFilter()


_FRENCH_ANALYZER = french_analyzer()


def is_french(analyzer) -> bool:
    """Whether `analyzer` is `french_analyzer()`, whose tokens `text_tokens` gives faster."""
    return analyzer is _FRENCH_ANALYZER or analyzer == _FRENCH_ANALYZER


class FrenchPositions(Positions):
    """Whoosh's `Positions` postings of a text field, computed in one loop when the field's
    analyzer is `french_analyzer()`: words cut by the same pattern, paragraph by paragraph,
    their `term`s, and the positions `FrenchTermFilter` gives, without a Token object per
    word. The same terms, counts, weights and bytes as `Positions` through the analyzer (a
    test compares them); any other analyzer or option goes through `Positions`.
    """

    def word_values(self, value, analyzer, **kwargs):
        if (not isinstance(value, str) or kwargs.keys() - {"mode"}
                or kwargs.get("mode") == "query"
                or not is_french(analyzer)):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        yield from position_postings(term_positions(value), self.field_boost)


def term_positions(value: str) -> dict[str, list[int]]:
    """Each term the index holds for a text, with its ascending positions, as
    `french_analyzer()` gives them: what `FrenchPositions` stores, and what the second-stage
    ranking of a backend without them in its index (OpenSearch) reads from the text."""
    positions: dict[str, list[int]] = {}
    for paragraph, text_of_paragraph in enumerate(PARAGRAPH_BREAK.split(value)):
        matches, words, infos = _paragraph_words(text_of_paragraph, 0,
                                                 len(text_of_paragraph))
        pos = paragraph * PARAGRAPH_STRIDE - 1
        form_end = 0
        for i, (text, _, kind) in enumerate(infos):
            if kind > _NAME:
                text, form_end, found = _in_context(infos, words, i, form_end)
                if found is not None:
                    positions.setdefault(found[2], []).append(pos + 1)
            if text is None:
                continue
            pos += 1
            found = positions.get(text)
            if found is None:
                positions[text] = [pos]
            else:
                found.append(pos)
            if kind & _NAME and i >= form_end and (key := _name_key_in_sentence(
                    text_of_paragraph, matches, i)) is not None:
                positions.setdefault(key, []).append(pos)
    return positions


def text_tokens(value: str) -> Iterator[tuple[str, int, int, int, bool]]:
    """The tokens `french_analyzer()` gives a text in index mode with its stop words kept
    (`removestops=False`, as Whoosh's highlighter asks), as plain tuples (text, pos,
    startchar, endchar, stopped), in its order: one loop, without a Token object per
    word, for the snippets, which read every word of a body (a test compares it with the
    analyzer). `term_positions` keeps a loop of its own: through this one, indexing a body's
    postings took 13 % more CPU (bench of 2026-12-04)."""
    for paragraph, (start, end) in enumerate(paragraph_spans(value)):
        matches, words, infos = _paragraph_words(value, start, end)
        pos = paragraph * PARAGRAPH_STRIDE - 1
        form_end = 0
        for i, (text, _, kind) in enumerate(infos):
            if kind > _NAME:
                text, form_end, found = _in_context(infos, words, i, form_end)
                if found is not None:
                    first, length, entity = found
                    yield (entity, pos + 1, matches[first].start(),
                           matches[first + length - 1].end(), False)
            if text is None:
                if kept := surface_form(words[i]):
                    yield (kept, paragraph * PARAGRAPH_STRIDE + i, matches[i].start(),
                           matches[i].end(), True)
                continue
            pos += 1
            yield text, pos, *matches[i].span(), False
            if kind & _NAME and i >= form_end and (key := _name_key_in_sentence(
                    value, matches, i)) is not None:
                yield key, pos, *matches[i].span(), False


def _paragraph_words(text: str, start: int, end: int) -> tuple[list, list[str], _Infos]:
    """The words of a paragraph (`text[start:end]`): their matches, texts and
    `_word_info`s."""
    matches = list(_WORD.finditer(text, start, end))
    words = [match.group() for match in matches]
    return matches, words, list(map(_text_word_info, words))


def _name_key_in_sentence(text: str, matches: list, i: int) -> str | None:
    """The transliteration key of word `i` of a paragraph, a name, when it follows a word
    of its sentence (a sentence's first word is capitalised whatever it is)."""
    if not i:
        return None
    word = matches[i].group()
    key = name_key(word)
    if key is None or not _in_sentence(text, matches[i - 1].group(), matches[i - 1].end(),
                                       matches[i].start()):
        return None
    return key


def position_postings(positions: dict[str, list[int]], boost: float):
    """`Positions.word_values`' tuples (term, frequency, weight, encoded positions) of
    each term and its ascending positions in one text."""
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
