"""The index's settings and mappings on OpenSearch, generated from the definitions the
Whoosh analyzer uses (search.words, search.analysis, search.lexicon), never written twice.

The `french` analyzer gives each word the term `search.analysis.term` gives it:

    pattern tokenizer (WORD_PATTERN, and paragraph breaks as tokens of their own)
    → elision (ELISIONS, both apostrophes) → lexicon forms whose case matters (`ONU`)
    → lowercase → asciifolding → what is left that is not a letter or digit removed (`fold`)
    → lexicon forms of several words (synonyms, whose term is added at the first word)
    → lexicon forms of one word (`@maroc`) → stop words (search/data/stopwords.txt)
    → our stemmer's own stems, as `stemmer_override` rules for the archive's words where it
      differs from Snowball → Snowball French for every other word;
    and, at the same position, a name's transliteration key (`%tokaev`): a character
    filter marks the capitalised words inside a sentence, which the multiplexer at the end
    gives their key besides their stem (search.analysis.name_key). Another marks a Roman
    numeral after a name, whose term is then `#vi` (`Mohammed VI`), not a stem.

Paragraph breaks become the token PARAGRAPH_TOKEN, so that a phrase, NEAR or SAME never
spans two paragraphs (search.analysis.PARAGRAPH_STRIDE does that in Whoosh). Each text
field has an `exact` subfield holding its surface forms (search.surface: folded words as
written, stop words kept), which exact phrases, truncation and fuzzy words search.

Known differences with Whoosh (measured by bench/opensearch_parity.py: 99.996 % of the
token occurrences of the 36,152 OrangeSum articles are the same): the words of a form of
several words that the form hides (`Guinée` in `Guinée-Bissau`) keep their own entity
term; stop words leave a gap in positions where Whoosh renumbers; a gap of more than 20
characters between two words, or of two line breaks, ends the sentence for the marks; a
private-use U+E000 or U+E002 written right after a word in an article marks it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import Stemmer
from unidecode import unidecode

from search.analysis import (
    ABBREVIATIONS,
    MIN_KEYED_LETTERS,
    PARAGRAPH_BREAK,
    ROMAN_MARK,
    ROMAN_NUMERALS,
    SENTENCE_BREAK,
    STOP_WORDS,
    TRANSLITERATION_MARK,
    TRANSLITERATION_RULES,
    stem,
)
from search.lexicon import ENTITY_MARK, entries, hides, normalized_words, word_entities
from search.schema import SEARCHABLE_FIELDS
from search.words import ELISIONS, fold

# `search.words.WORD_PATTERN` in Java's syntax: Python's `[^\W_]` (a letter or digit in
# any script) is `[\p{L}\p{N}]` there.
_JAVA_LETTER = r"[\p{L}\p{N}\u0300-\u036f]"
_JAVA_WORD = rf"{_JAVA_LETTER}+(?:['’ʼ]{_JAVA_LETTER}+)*"
# `search.analysis.PARAGRAPH_BREAK`, a token of its own.
_JAVA_BREAK = PARAGRAPH_BREAK.pattern
PARAGRAPH_TOKEN = "zzparagraphzz"
# A lexicon phrase's synonym, a plain word the synonym parser leaves whole, replaced by the
# entity's term afterwards (the synonym rules are analyzed by the tokenizer, which drops `@`).
_PHRASE_MARK = "zzphrasezz"

# A word of a lexicon phrase that gets its plain term there, not its entity's.
_PLAIN_MARK = "zzplainzz"

_SNOWBALL = Stemmer.Stemmer("french")

# A capitalised word that follows another word of its sentence, a name, gets its
# transliteration key as a second term at its position (search.analysis.name_key): a
# character filter marks it with NAME_MARK at its end (the analyzer's filters see one
# token at a time), and the multiplexer at the end of the chain gives a marked word its
# key besides its stem. The conditions are search.analysis._in_sentence's: a word before
# it in its paragraph, with nothing that ends a sentence between them, unless a full stop
# after an abbreviation or an initial; the word's letters, elision aside, all letters.
NAME_MARK = "\ue000"
_GAP_LIMIT = 20  # Java's look-behinds are bounded: the longest gap read between two words
_BREAKS = SENTENCE_BREAK.pattern[1:-1]
_WORD_CHARS = r"\p{L}\p{N}\u0300-\u036f"  # what a word is made of, inside a class
_LETTERS = r"[\p{L}\u0300-\u036f]"
_GAP = (rf"[^{_WORD_CHARS}{_BREAKS}\n]{{0,{_GAP_LIMIT}}}"
        rf"(?:\n[^{_WORD_CHARS}{_BREAKS}\n]{{0,{_GAP_LIMIT}}})?")
_ABBREVIATION = "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))
_ELISION = "|".join(sorted(ELISIONS, key=len, reverse=True))
_NUMERAL = "|".join(sorted(ROMAN_NUMERALS, key=len, reverse=True))
_NAME_IN_SENTENCE = (
    # a capital or an elision next, at the start of a word (checked first: cheap, where
    # the look-behind after it is not)
    rf"(?=(?:(?i:{_ELISION})['’ʼ])?\p{{Lu}})(?<![{_WORD_CHARS}])(?<![{_WORD_CHARS}]['’ʼ])"
    # after a word's last letter, or after an abbreviation's or initial's full stop
    rf"(?<=(?:[{_WORD_CHARS}]|(?<![{_WORD_CHARS}])(?:{_ABBREVIATION}|\p{{Lu}})\.){_GAP})"
    # its elision, then a capital, letters only, and not a Roman numeral
    rf"(?:(?i:{_ELISION})['’ʼ](?=\p{{Lu}})|(?!(?i:{_ELISION})['’ʼ]))"
    rf"(?!(?:{_NUMERAL})(?![{_WORD_CHARS}]))"
    rf"\p{{Lu}}{_LETTERS}*(?:['’ʼ]{_LETTERS}+)*(?![{_WORD_CHARS}]|['’ʼ][{_WORD_CHARS}])")


# A Roman numeral after a name (`Mohammed VI`, `Jean-Paul II`) is a number, not a word
# (search.analysis._numbered): a character filter marks it with NUMERAL_MARK when the word
# before it in its paragraph is capitalised, not a stop word and not a numeral itself, and
# its term is then ROMAN_MARK + the numeral (`#vi`), as in Whoosh.
NUMERAL_MARK = "\ue002"
_ANY_GAP = (rf"(?:[^{_WORD_CHARS}\n]{{1,{_GAP_LIMIT}}}"
            rf"|[^{_WORD_CHARS}\n]{{0,{_GAP_LIMIT}}}\n[^{_WORD_CHARS}\n]{{0,{_GAP_LIMIT}}})")
_STOP_WORD = "|".join(sorted(STOP_WORDS, key=len, reverse=True))
_WORD_LIMIT = 30
_NUMERAL_AFTER_NAME = (
    # the numeral, a word of its own (matched first: the look-behind that follows is
    # costly, and only tried where a numeral stands)
    rf"(?<![{_WORD_CHARS}])(?:{_NUMERAL})(?![{_WORD_CHARS}]|['’ʼ][{_WORD_CHARS}])"
    # after a name: at the start of a word, its elision, then a capital, and neither a
    # stop word nor a numeral
    rf"(?<=(?<![{_WORD_CHARS}])(?:(?i:{_ELISION})['’ʼ])?"
    rf"(?!(?iu:{_STOP_WORD})(?![{_WORD_CHARS}]|['’ʼ][{_WORD_CHARS}]))"
    rf"(?!(?:{_NUMERAL})(?![{_WORD_CHARS}]))"
    rf"\p{{Lu}}[{_WORD_CHARS}]{{0,{_WORD_LIMIT}}}(?:['’ʼ][{_WORD_CHARS}]{{1,{_WORD_LIMIT}}})?"
    rf"{_ANY_GAP}(?:{_NUMERAL}))")


# The letters and digits that `fold` (unidecode) writes otherwise than OpenSearch's
# asciifolding would: Greek and Cyrillic transliterated (`Путин` → `Putin`), `µ` → `u`,
# `¼` → `14`; mapped before the tokenizer, as unidecode maps them, case kept.
_FOLDED_RANGES = ((0x00A0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x052F), (0x1F00, 0x1FFF))


@lru_cache(maxsize=1)
def _script_folding() -> list[str]:
    """The mapping char filter's rules: each such character that is not an accented ASCII
    letter to its unidecode letters and digits (nothing, for a sign it drops)."""
    rules = []
    for start, end in _FOLDED_RANGES:
        for point in range(start, end + 1):
            char = chr(point)
            if unicodedata.category(char)[0] not in "LN":
                continue
            folded = "".join(ch for ch in unidecode(char) if ch.isalnum())
            base = "".join(ch for ch in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(ch))
            # A letter with an accent (`ç`) is left to asciifolding, after the elisions
            # are read (`ç'eut` is no elision, `c'eut` would be).
            if folded != char and folded != base:
                rules.append(f"{char} => {folded}")
    return rules


def _case_variants(form: str) -> list[str]:
    """The spellings, before lowercasing, of a one-word form whose case matters in text
    (`search.lexicon._written_as`): as written, and without its accents."""
    word = form
    plain = fold(form)
    if word.isupper():
        variants = [word, plain.upper()]
    elif word.islower():
        variants = [word, plain]
    else:
        variants = [word, plain.capitalize()]
    return list(dict.fromkeys(variants))


def _entity_rules() -> tuple[list[str], list[str]]:
    """stemmer_override rules of the lexicon's one-word forms: those whose case matters
    (matched before lowercasing), the others (matched folded)."""
    cased, folded_rules = [], []
    for folded, term, form, case_matters in word_entities():
        if case_matters:
            cased.extend(f"{variant} => {term}" for variant in _case_variants(form))
        else:
            folded_rules.append(f"{folded} => {term}")
    return cased, folded_rules


def _phrases() -> dict[tuple[str, ...], str]:
    """Every lexicon form of several words, as its folded words, and its entity term."""
    return {words: entry.term for entry in entries() for form in entry.forms
            if len(words := normalized_words(form)) > 1}


def _phrase_mark(term: str) -> str:
    """The plain word standing for an entity term in the synonym rules."""
    return _PHRASE_MARK + re.sub(r"[^a-z0-9]", "", term.removeprefix(ENTITY_MARK).replace(
        "_", "x"))


Snowball = Callable[[list[str]], list[str]]


def python_snowball(words: list[str]) -> list[str]:
    """Snowball French as PyStemmer has it (OpenSearch's may be an older version: the
    loader asks the cluster instead, search.opensearch.loading.cluster_snowball)."""
    return _SNOWBALL.stemWords(words)


def _plain_words(words: tuple[str, ...], phrase_term: str) -> list[str]:
    """The words of a lexicon phrase, those that lose their own entity term in it marked
    _PLAIN_MARK (search.analysis._in_context): the words that name the phrase's entity
    (`Errachid` in `Ould Errachid`) or that it hides (`Guinée` in `Guinée-Bissau`)."""
    plain = []
    for word in words:
        own = word_terms().get(word)
        if own is not None and (own == phrase_term or hides(phrase_term, own)):
            word = _PLAIN_MARK + word
        plain.append(word)
    return plain


@lru_cache(maxsize=1)
def word_terms() -> dict[str, str]:
    """The entity term of each folded one-word form whose case does not matter."""
    return {folded: term for folded, term, _, case_matters in word_entities()
            if not case_matters}


def stem_rules(vocabulary: Iterable[str], snowball: Snowball = python_snowball) -> list[str]:
    """stemmer_override rules for the folded words of `vocabulary` that our stemmer
    (search.analysis.stem) stems otherwise than `snowball` (the cluster's Snowball French,
    which then stems every other word)."""
    lexicon = {folded for folded, *_ in word_entities()}
    words = sorted(word for word in set(vocabulary) if word and word not in STOP_WORDS
                   and word not in lexicon and word.isascii() and word.isalnum())
    theirs = snowball(words)
    return [f"{word} => {ours}" for word, other in zip(words, theirs, strict=True)
            if (ours := stem(word)) != other]


def _marked(rule_side: str) -> str:
    """A rule's word as NAME_MARK leaves it on a name."""
    return rule_side + NAME_MARK


def _marked_variants(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The spellings of a lexicon phrase's words as they reach its synonym rule: a word
    written with a capital inside a sentence carries NAME_MARK: none, all, or all but the
    first (the phrase opening a sentence), the same for the words that are not stop
    words, and every combination of these when there are four or fewer."""
    every = set(range(len(words)))
    opened = {i for i, word in enumerate(words) if word not in STOP_WORDS}
    chosen = {frozenset(), frozenset(every), frozenset(every - {0}), frozenset(opened),
              frozenset(opened - {0})}
    for marked in (every, opened):
        if len(marked) <= 4:
            chosen.update(frozenset(c) for n in range(len(marked) + 1)
                          for c in itertools.combinations(sorted(marked), n))
    return [tuple(_marked(word) if i in marks else word for i, word in enumerate(words))
            for marks in sorted(chosen, key=sorted)]


def _name_key_filters() -> dict[str, dict]:
    """The token filters that turn a marked word into its transliteration key, in order
    (search.analysis.transliteration_key): unmarked words are emptied, then dropped."""
    filters = {
        "name_only": {"type": "pattern_replace", "pattern": rf"\A[^{NAME_MARK}]*\z",
                      "replacement": ""},
        "name_long_enough": {"type": "length", "min": MIN_KEYED_LETTERS + len(NAME_MARK)},
        "unmark": {"type": "pattern_replace", "pattern": NAME_MARK, "replacement": ""},
    }
    for number, (pattern, sound) in enumerate(TRANSLITERATION_RULES):
        filters[f"name_rule_{number}"] = {"type": "pattern_replace", "pattern": pattern,
                                          "replacement": re.sub(r"\\(\d)", r"$\1", sound)}
    filters["name_key_mark"] = {"type": "pattern_replace", "pattern": r"\A(.+)\z",
                                "replacement": f"{TRANSLITERATION_MARK}$1"}
    return filters


def analysis(vocabulary: Iterable[str] = (), snowball: Snowball = python_snowball) -> dict:
    """The `analysis` section of the index settings; `vocabulary` is the archive's folded
    words, whose stems are ours, `snowball` the cluster's Snowball French."""
    cased, folded_rules = _entity_rules()
    phrases = _phrases()
    marks = {}
    synonyms = []
    for words, term in phrases.items():
        mark = _phrase_mark(term)
        marks[mark] = term
        plain = " ".join(_plain_words(words, term))
        synonyms.extend(f"{' '.join(spelt)} => {plain}, {mark}"
                        for spelt in _marked_variants(words))
    shared = ["elision_fr"]
    folding = ["lowercase", "asciifolding", "fold_rest", "not_empty"]
    key_filters = _name_key_filters()
    return {
        "char_filter": {
            # ʼ (U+02BC), an apostrophe to WORD_PATTERN, is one to the elision filter too.
            "apostrophes": {"type": "mapping", "mappings": ["\u02bc => \u2019"]},
            "scripts": {"type": "mapping", "mappings": _script_folding()},
            "names": {"type": "pattern_replace", "pattern": _NAME_IN_SENTENCE,
                      "replacement": f"$0{NAME_MARK}"},
            "numerals": {"type": "pattern_replace", "pattern": _NUMERAL_AFTER_NAME,
                         "replacement": f"$0{NUMERAL_MARK}"},
        },
        "tokenizer": {
            "words": {"type": "pattern", "pattern": f"{_JAVA_WORD}|{_JAVA_BREAK}", "group": 0},
            "marked_words": {"type": "pattern", "group": 0,
                             "pattern": f"{_JAVA_WORD}[{NAME_MARK}{NUMERAL_MARK}]?|{_JAVA_BREAK}"},
        },
        "filter": {
            "elision_fr": {"type": "elision", "articles": sorted(ELISIONS),
                           "articles_case": True},
            "paragraphs": {"type": "pattern_replace", "pattern": r"\A\s+\z",
                           "replacement": PARAGRAPH_TOKEN},
            "entities_cased": {"type": "stemmer_override", "rules": _with_marked(cased)},
            "fold_rest": {"type": "pattern_replace",
                          "pattern": rf"[^\p{{L}}\p{{N}}_{ENTITY_MARK}{NAME_MARK}{NUMERAL_MARK}]",
                          "replacement": ""},
            "not_empty": {"type": "length", "min": 1},
            "entity_phrases": {"type": "synonym", "synonyms": synonyms, "lenient": True},
            "entities": {"type": "stemmer_override", "rules": _with_marked(folded_rules) + [
                f"{mark} => {term}" for mark, term in marks.items()] + [
                f"{numeral.lower()}{NUMERAL_MARK} => {ROMAN_MARK}{numeral.lower()}"
                for numeral in sorted(ROMAN_NUMERALS)]},
            "unplain": {"type": "pattern_replace", "pattern": f"\\A{_PLAIN_MARK}",
                        "replacement": ""},
            "stop_fr": {"type": "stop", "stopwords": sorted(
                STOP_WORDS | {_marked(word) for word in STOP_WORDS})},
            "keep_paragraphs": {"type": "keyword_marker", "keywords": [PARAGRAPH_TOKEN]},
            "our_stems": {"type": "stemmer_override",
                          "rules": stem_rules(vocabulary, snowball) or ["zzz => zzz"]},
            "snowball_fr": {"type": "stemmer", "language": "french"},
            **key_filters,
            # A word's term, and a marked word's key at its position.
            "terms_and_keys": {"type": "multiplexer", "preserve_original": False, "filters": [
                "unmark, keep_paragraphs, our_stems, snowball_fr", ", ".join(key_filters)]},
        },
        "analyzer": {
            "french": {
                "type": "custom",
                "char_filter": ["apostrophes", "scripts", "names", "numerals"],
                "tokenizer": "marked_words",
                "filter": ["paragraphs", *shared, "entities_cased", *folding, "entity_phrases",
                           "entities", "unplain", "stop_fr", "terms_and_keys"],
            },
            "surface": {
                "type": "custom", "char_filter": ["apostrophes", "scripts"], "tokenizer": "words",
                "filter": ["paragraphs", *shared, *folding],
            },
            # Query terms are already ours (search.query): searched as they are.
            "terms": {"type": "custom", "tokenizer": "whitespace"},
        },
    }


def _with_marked(rules: list[str]) -> list[str]:
    """stemmer_override rules, each also for its word marked as a name (a lexicon form
    has no key: the mark goes)."""
    return [*rules, *(f"{_marked(word)} => {term}" for word, term in
                      (rule.split(" => ") for rule in rules))] or ["zzz => zzz"]


def _text_field() -> dict:
    # Offsets in the postings: the highlighter reads where the words are instead of
    # analyzing each article shown again.
    return {"type": "text", "analyzer": "french", "search_analyzer": "terms",
            "index_options": "offsets",
            "fields": {"exact": {"type": "text", "analyzer": "surface",
                                 "search_analyzer": "terms", "index_options": "offsets"}}}


# Bumped when the fields change, or what they hold (2: `copy_group`, the key queries collapse
# on); the version is the mapping's `_meta`, and an index of another version is rebuilt.
MAPPING_VERSION = 2


def mappings() -> dict:
    """The fields of an article document (those of search.schema, the surface twins as
    `exact` subfields, and the key of its group of copies)."""
    keyword = {"type": "keyword"}
    stored_only = {"type": "keyword", "index": False, "doc_values": False}
    return {
        "dynamic": "strict",
        "_meta": {"version": MAPPING_VERSION},
        "properties": {
            **{name: _text_field() for name in SEARCHABLE_FIELDS},
            "id": keyword, "path": stored_only, "url": stored_only,
            "source": keyword, "source_name": stored_only, "source_match": keyword,
            "source_label": keyword, "category_key": keyword, "date": keyword,
            "copy_signature": {"type": "binary"}, "copy_bands": keyword, "copy_group": keyword,
        },
    }


def index_body(vocabulary: Iterable[str] = (), snowball: Snowball = python_snowball, *,
               shards: int = 1, replicas: int = 0) -> dict:
    """The whole body of an index creation."""
    return {"settings": {"index": {"number_of_shards": shards, "number_of_replicas": replicas,
                                   "max_result_window": 100_000},
                         "analysis": analysis(vocabulary, snowball)},
            "mappings": mappings()}
