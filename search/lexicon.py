"""The diplomatic lexicon: countries, organisations and people, however the press writes them.

Every entry has a key and an index term (`ENTITY_MARK + key`: "@maroc", "@onu", "@poutine") and
the forms that name it ("Maroc", "marocaines", "maroco", "Royaume du Maroc"). The data lives in
search/data/lexicon/ (its README names the sources and the line format); this module reads it once
at import, derives the inflections of demonyms, folds every form as the analyzer folds words and
refuses data where one word or one phrase would name two entries.

Two lookups serve the analyzer and the query parser: `entity_of_word` for one word (a dict
lookup, called once per distinct word), `longest_phrase` for multi-word forms (called at every
word of every text: its first step is one dict lookup that fails fast). `hides` tells which
single-word terms inside a phrase no longer name their entity ("Guinée" in "Guinée-Bissau").
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources

from search.errors import LexiconError
from search.words import WORD_PATTERN, load_words, strip_elision, surface_form

ENTITY_MARK = "@"  # fold() never yields "@": no ordinary word has an entity's term

KINDS = ("country", "organisation", "person")
_FILES = {"country": "countries.txt", "organisation": "organisations.txt", "person": "people.txt"}
_ALSO_NAMED_FILE = "also_named.txt"

# How a form's case matters (a suffix on the form in the data files):
_ANY_CASE = 0  # no suffix: any case, in text and in queries
_CASE_IN_TEXT = 1  # "!": in text only as written (ONU in capitals); in queries any case
_CASE_ALWAYS = 2  # "!!": as written in queries too ("EAU" is a country, "eau" is water)

_WORD_RE = re.compile(WORD_PATTERN)
_KEY_RE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_LAST_PHRASE_WORD = None  # the key, in a node of the phrase tree, holding the term of a phrase


@dataclass(frozen=True)
class Entry:
    """One country, organisation or person: `forms` as written in the data, inflections included."""

    key: str
    kind: str
    name: str
    forms: tuple[str, ...]

    @property
    def term(self) -> str:
        return ENTITY_MARK + self.key


def normalized_words(form: str) -> tuple[str, ...]:
    """The folded words of a form, as the analyzer sees them.

    "Côte d'Ivoire" → ("cote", "ivoire"); "nord-coréen" → ("nord", "coreen").
    """
    return tuple(map(surface_form, _WORD_RE.findall(form)))


def inflections(masculine: str, feminine: str | None = None) -> tuple[str, ...]:
    """A demonym in both genders and numbers, from its masculine singular.

    The feminine adds -e, doubles the n of -en (algérien → algérienne) and leaves a final -e
    alone (belge); words ending in -s, -x or -z keep their masculine plural (français, kirghiz).
    Irregular feminines are given in the data ("grec/grecque").
    """
    if feminine is None:
        if masculine.endswith("e"):
            feminine = masculine
        elif masculine.endswith("en"):
            feminine = masculine + "ne"
        else:
            feminine = masculine + "e"
    masculine_plural = masculine if masculine.endswith(("s", "x", "z")) else masculine + "s"
    return tuple(dict.fromkeys((masculine, feminine, masculine_plural, feminine + "s")))


def _fields(line: str) -> list[str]:
    """A data line's fields: split at "|", stripped, after dropping a comment (" # ...")."""
    return [part.strip() for part in line.split(" #")[0].split("|")]


def _split_list(field: str) -> list[str]:
    return [item.strip() for item in field.split(";") if item.strip()]


def _case_rule(form: str) -> tuple[str, int]:
    if form.endswith("!!"):
        return form[:-2], _CASE_ALWAYS
    if form.endswith("!"):
        return form[:-1], _CASE_IN_TEXT
    return form, _ANY_CASE


def _written_as(form: str, original: str) -> bool:
    """Whether `original` has the case of `form`: all capitals, all lowercase or Capitalised."""
    word = strip_elision(original)
    if form.isupper():
        return word.isupper()
    if form.islower():
        return word.islower()
    return word[:1].isupper() and word[1:].islower()


def _name_and_forms(kind: str, fields: list[str]) -> tuple[str, list[str]]:
    """The display name and the forms (with their case suffixes) of one data line's fields.

    countries: name | other names | demonyms and adjectives | compound prefixes
    organisations: name | acronyms | other names
    people: display name | surname forms
    The name of a country or an organisation is one of its forms, unless written in
    parentheses ("(Maurice)": a first name too, so only "île Maurice" names the country).
    """
    name, *rest = fields
    if kind == "person":
        return name, [form for field in rest for form in _split_list(field)]
    forms = []
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1]
    else:
        forms.append(name)
        name = _case_rule(name)[0]
    if kind == "organisation":
        return name, forms + [form for field in rest for form in _split_list(field)]
    other_names, adjectives, prefixes = (rest + [""] * 3)[:3]
    forms.extend(_split_list(other_names))
    for adjective in _split_list(adjectives):
        parts = [part.strip() for part in adjective.split("/")]
        if len(parts) == 4:  # every form given: an invariable or irregular demonym
            forms.extend(dict.fromkeys(parts))
        else:
            forms.extend(inflections(*parts))
    forms.extend(_split_list(prefixes))
    return name, forms


@dataclass(frozen=True)
class Lexicon:
    """The entries and the two lookup tables built from them."""

    entries: dict[str, Entry]  # by term
    words: dict[str, tuple[str, str, int]]  # folded word → (term, form as written, case rule)
    phrases: dict  # a tree of folded words; the key None in a node holds the phrase's term
    also_named: dict[str, frozenset[str]] = field(default_factory=dict)  # phrase term → terms

    @classmethod
    def load(cls) -> Lexicon:
        """The lexicon of the data files beside this module."""
        return cls.from_lines(
            {kind: load_words(f"lexicon/{_FILES[kind]}") for kind in KINDS},
            load_words(f"lexicon/{_ALSO_NAMED_FILE}"))

    @classmethod
    def from_lines(
        cls, lines_by_kind: dict[str, Iterable[str]], also_named_lines: Iterable[str] = ()
    ) -> Lexicon:
        """Build from data lines (comments already dropped); LexiconError on bad data.

        `lines_by_kind` holds the lines of each kind's file, `also_named_lines` those of
        also_named.txt ("key | keys of the entries its phrases also name").
        """
        entries: dict[str, Entry] = {}
        words: dict[str, tuple[str, str, int]] = {}
        phrases: dict = {}
        phrase_owner: dict[tuple[str, ...], str] = {}
        for kind, lines in lines_by_kind.items():
            for line in lines:
                key, *fields = _fields(line)
                if not _KEY_RE.fullmatch(key) or not fields or not fields[0]:
                    raise LexiconError(f"Lexicon line not understood ({kind}): {line!r}")
                term = ENTITY_MARK + key
                if term in entries:
                    raise LexiconError(f"Lexicon key {key!r} is used twice")
                name, forms_with_case = _name_and_forms(kind, fields)
                forms: list[str] = []
                for written in forms_with_case:
                    form, case = _case_rule(written)
                    folded = normalized_words(form)
                    if not folded or not all(folded):
                        raise LexiconError(f"Lexicon form {written!r} of {key!r} has no word")
                    if len(folded) == 1:
                        _add_word(words, folded[0], term, form, case)
                    elif case != _ANY_CASE:
                        raise LexiconError(
                            f"Lexicon form {written!r} of {key!r}: a case rule needs one word")
                    else:
                        _add_phrase(phrases, phrase_owner, folded, term, form)
                    forms.append(form)
                if not forms:
                    raise LexiconError(f"Lexicon entry {key!r} has no form")
                entries[term] = Entry(key, kind, name, tuple(dict.fromkeys(forms)))
        return cls(entries, words, phrases, _also_named(also_named_lines, entries))

    def entity_of_word(self, folded: str, original: str, *, query: bool) -> str | None:
        """The entity term of one word; `folded` is fold(strip_elision(original)).

        Forms with a case rule ("ONU!" in the data) match text only when `original` is written
        in that case; in a query they match in any case, unless the rule holds there too ("!!").
        """
        hit = self.words.get(folded)
        if hit is None:
            return None
        term, form, case = hit
        if case == _ANY_CASE or (query and case == _CASE_IN_TEXT) or _written_as(form, original):
            return term
        return None

    def longest_phrase(self, folded_words: Sequence[str], start: int) -> tuple[int, str] | None:
        """The longest multi-word form starting at folded_words[start]: (its length, its term)."""
        node = self.phrases.get(folded_words[start])
        if node is None:
            return None
        found = None
        end = start + 1
        while end < len(folded_words):
            node = node.get(folded_words[end])
            if node is None:
                break
            end += 1
            if _LAST_PHRASE_WORD in node:
                found = (end - start, node[_LAST_PHRASE_WORD])
        return found

    def hides(self, phrase_term: str, word_term: str) -> bool:
        """Whether a word inside a phrase of `phrase_term` stops naming its own entity.

        "Guinée" inside "Guinée-Bissau" is not Guinea: hidden. "Corée" inside "Corée du Sud"
        is still Korea, "Palestine" inside "Organisation de libération de la Palestine" still
        Palestine: not hidden (also_named.txt lists such pairs).
        """
        return word_term != phrase_term and word_term not in self.also_named.get(phrase_term, ())

    def entry(self, term: str) -> Entry | None:
        return self.entries.get(term)

    def forms_of(self, term: str) -> tuple[str, ...]:
        """The forms of an entity term as written in the data, for `search explain`."""
        found = self.entries.get(term)
        return found.forms if found else ()


def _add_word(words: dict, folded: str, term: str, form: str, case: int) -> None:
    previous = words.get(folded)
    if previous is None or (previous[0] == term and case > previous[2]):
        words[folded] = (term, form, case)  # the strictest rule wins within one entry
    elif previous[0] != term:
        raise LexiconError(
            f"Lexicon conflict: {form!r} ({term}) and {previous[1]!r} ({previous[0]}) "
            f"are both the word {folded!r}")


def _add_phrase(phrases: dict, owner: dict, folded: tuple[str, ...], term: str, form: str) -> None:
    if owner.get(folded, term) != term:
        raise LexiconError(
            f"Lexicon conflict: {form!r} ({term}) and {owner[folded]} "
            f"are both the words {' '.join(folded)!r}")
    owner[folded] = term
    node = phrases
    for word in folded:
        node = node.setdefault(word, {})
    node[_LAST_PHRASE_WORD] = term


def _also_named(lines: Iterable[str], entries: dict[str, Entry]) -> dict[str, frozenset[str]]:
    also_named = {}
    for line in lines:
        key, *fields = _fields(line)
        others = _split_list(fields[0]) if len(fields) == 1 else []
        for named in [key, *others]:
            if ENTITY_MARK + named not in entries:
                raise LexiconError(f"Lexicon also_named line names no entry {named!r}: {line!r}")
        if not others:
            raise LexiconError(f"Lexicon also_named line not understood: {line!r}")
        also_named[ENTITY_MARK + key] = frozenset(ENTITY_MARK + other for other in others)
    return also_named


def _data_checksum() -> int:
    """Changes whenever a data file changes, so an index built with other data is rebuilt."""
    folder = resources.files("search").joinpath("data/lexicon")
    checksum = 0
    for name in [*_FILES.values(), _ALSO_NAMED_FILE]:
        checksum = zlib.crc32(folder.joinpath(name).read_bytes(), checksum)
    return checksum


_LEXICON = Lexicon.load()
LEXICON_VERSION: int = _data_checksum()

entity_of_word = _LEXICON.entity_of_word
longest_phrase = _LEXICON.longest_phrase
entry = _LEXICON.entry
forms_of = _LEXICON.forms_of
hides = _LEXICON.hides


def word_entities() -> Iterator[tuple[str, str, str, bool]]:
    """(folded word, entity term, form as written, whether its case matters in text) of
    every one-word form: the OpenSearch analyzer's rules (search.opensearch.settings)."""
    for folded, (term, form, case) in _LEXICON.words.items():
        yield folded, term, form, case != _ANY_CASE


def entries() -> Iterator[Entry]:
    """Every entry, countries first, then organisations, then people, in the data's order."""
    return iter(_LEXICON.entries.values())
