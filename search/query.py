"""Query text → Whoosh query.

The syntax: words (ANDed), `"phrases"` (also « » and “ ”), `OR`, `NOT`, `-word`,
parentheses, `title:`/`body:`/`dateline:`/`category:` fields, `word*` truncation and
`word~` fuzzy terms. French operators `ET`, `OU`, `SAUF` work too.

Words find their word family (`coopération` finds `coopérer`); a quoted phrase and a word
marked `=` (`=Maroc`, the same as `"Maroc"`) find the words as written, case, accents and
elisions aside, stop words in their place (`search.surface`): `"renforcer la coopération"`
does not find "renforcement de la coopération". `"a b"~5` is a quoted phrase too: its words
as written, at most 5 words apart. `word*` completes what was typed over the words as
written in the archive (`visit*`: visite, visiteurs, not visières). `word~` finds the word
itself first, then the words one edit away. Whoosh's parser accepts
anything without complaint, so the text is checked first and every mistake gets a message
that says how to fix it; the text handed to Whoosh then holds no syntax but ours (a colon
inside a word is not a field, a `~` only ends a checked fuzzy word).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from whoosh import matching, qparser
from whoosh import query as wq
from whoosh.query import spans
from whoosh.util import make_binary_tree

from search.analysis import (
    PARAGRAPH_STRIDE,
    compound_forms,
    name_key,
    phrase_entity,
    query_word_groups,
    stem,
    term,
)
from search.dates import ISO_DATE, PRESETS_WRITTEN, iso
from search.errors import QuerySyntaxError, QueryTooBroadError
from search.schema import (
    DEFAULT_FIELDS,
    SEARCHABLE_FIELDS,
    SURFACE_FIELDS,
    category_key,
    source_key,
)
from search.surface import stemmed_field, surface_field
from search.whoosh_fast.queries import (
    AllWords,
    Expansion,
    OneWord,
    PhraseInFields,
    PhraseWords,
    PrefixFilter,
    SummedOr,
    TermRangeFilter,
    field_terms,
)
from search.words import WORD_PATTERN, fold, strip_elision

MAX_QUERY_CHARS = 1000
MIN_TRUNCATION_CHARS = 3
MAX_FUZZY_EDITS = 2
# Whoosh compiles a fuzzy word into an automaton whose making grows with the word (a
# word of 900 letters took 5 s), once per field and segment (0.2 s a word on OrangeSum's
# two segments): a query has few fuzzy words, of ordinary length.
MAX_FUZZY_CHARS = 40
MAX_FUZZY_WORDS = 5
# `"a b"~5`: the words of a phrase at most this many words apart.
MAX_PHRASE_SLOP = 50
# Parentheses nest at most this deep: Whoosh's parser and the query tree recurse on them.
MAX_NESTING = 32
# The work of truncated and fuzzy words, whose expanded terms' postings are all read: a
# word may stand for at most MAX_EXPANDED_TERMS terms of a field in a segment, and the
# words of a query for at most MAX_EXPANDED_POSTINGS postings in all (a few seconds:
# `con*` reads 0.12 M of them in 1.6 s on OrangeSum's 36,000 articles, `con* pre*` 0.23 M).
MAX_EXPANDED_TERMS = 2000
MAX_EXPANDED_POSTINGS = 250_000
# A word's fuzzy neighbours weigh this much of the word itself (`word~`): an article with
# the word as typed, or its lexicon entry, ranks above one with a neighbour only.
FUZZY_WEIGHT = 0.25
# Lexicon terms start with this mark (`search.lexicon.ENTITY_MARK`).
ENTITY_MARK = "@"

_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"'})
# The question marks that Whoosh's parser takes for wildcards besides `?` (Armenian,
# Arabic, Ethiopic) are punctuation here.
_NEUTRAL = str.maketrans({"\u055e": " ", "\u061f": " ", "\u1367": " "})
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<phrase>"[^"]*"(?:~[0-9]+(?=[\s()"]|\Z))?)
      | (?P<quote>")
      | (?P<open>\()
      | (?P<close>\))
      | (?P<word>[^\s()"]+)""",
    re.X,
)
_OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
# Words that Whoosh's parser would take for operators of its own.
_WHOOSH_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"})
_OPERATOR_WORDS = ("AND ", "OR ", "NOT ", "NEAR/", "SAME ")  # spaced before: `(a)NEAR/2 b`
# A field is a name and a colon at the start of a word (the name as Whoosh's parser reads
# one, so that `category_key:` is an unknown field rather than a plain word).
_FIELD = re.compile(r"\A(?P<name>[^\W\d]\w*):(?P<value>.*)\Z", re.S)
_WILDCARDS = "*?"
_FUZZY = re.compile(r"\A(?P<edits>[0-9]?)(?:/(?P<prefix>[1-9][0-9]*))?\Z")
# The pieces of a word that the analyzer keeps apart (`sud-coop*` → `sud`, `coop*`).
_LETTER_OR_WILDCARD = r"(?:[^\W_]|[\u0300-\u036f*?])"
_PIECE = re.compile(rf"{_LETTER_OR_WILDCARD}+(?:['’ʼ]{_LETTER_OR_WILDCARD}+)*")
_FUZZY_MESSAGE = ("Fuzzy words are written word~, word~2 (at most {edits} edits) or word~2/3 "
                  "(the first 3 letters kept), not '{word}'.")


@dataclass
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]


def shown(text: str) -> str:
    """`text` fit for a one-line message: characters that do not print are escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def normalize_query(text: str) -> str:
    """Check the query and rewrite it into Whoosh's syntax; raises `QuerySyntaxError`."""
    # One form of every accented letter, so that a query typed decomposed (NFD) finds
    # what its composed twin finds, and is measured alike.
    text = unicodedata.normalize("NFC", text).translate(_NEUTRAL)
    if not text.strip():
        raise QuerySyntaxError("The query is empty: give one or more words to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"The query is too long ({len(text)} characters; at most {MAX_QUERY_CHARS})."
        )
    tokens = _tokens(text.translate(_QUOTES))
    if any(t.kind == "quote" for t in tokens):
        raise QuerySyntaxError('Unbalanced quote: close the phrase with another ".')
    _check_parentheses(tokens)
    tokens = _grouped(tokens)
    out: list[str] = []
    previous = "start"  # the kind of the last meaningful token, for operator checks
    fuzzy_words = 0
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "space":
            _append(out, " ")
            continue
        kind, rewritten = _classify(token, following)
        if kind in ("binary", "not"):
            word = token.text
            if kind == "binary" and previous in ("start", "open", "binary", "not"):
                raise QuerySyntaxError(f"{word} needs a word on each side.")
        elif kind == "close" and previous in ("binary", "not"):
            raise QuerySyntaxError("An operator needs a word after it, not ')'.")
        elif kind == "close" and previous == "open":
            raise QuerySyntaxError("Empty parentheses: put words inside them or remove them.")
        fuzzy_words += kind in ("word", "not_word") and "~" in rewritten
        if fuzzy_words > MAX_FUZZY_WORDS:
            raise QuerySyntaxError(
                f"A query has at most {MAX_FUZZY_WORDS} fuzzy words (~): keep the ~ on the "
                "words you are least sure of."
            )
        _append(out, rewritten)
        previous = kind
    if previous in ("binary", "not"):
        raise QuerySyntaxError("The query ends with an operator: add a word after it.")
    return "".join(out).strip()


def query_words(text: str) -> list[str]:
    """The words and phrases of a query, each in Whoosh's syntax with its field
    (`title:"a b"`, `coop*`, `-` and operators left out), for `search explain`."""
    words = []
    for token in _tokens(normalize_query(text)):
        if token.kind == "phrase" or (token.kind == "word" and token.text not in _OPERATORS
                                      and not _is_proximity(token.text)):
            if words and words[-1].endswith(":"):  # `title:` before a phrase
                words[-1] += token.text
            else:
                words.append(token.text)
    return words


def _grouped(tokens: list[_Token]) -> list[_Token]:
    """Plain words that are searched as one (a lexicon form of several words such as
    `Nations unies`, a name and its Roman numeral such as `Mohammed VI`:
    `analysis.query_word_groups`) joined into one word by hyphens, as `États-Unis` is
    written: Whoosh's parser would analyze them one at a time. Quoted phrases stay."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        if not _is_plain_word(tokens[i]):
            out.append(tokens[i])
            i += 1
            continue
        run = [i]  # plain words separated by single spaces
        while (run[-1] + 2 < len(tokens) and tokens[run[-1] + 1].kind == "space"
               and _is_plain_word(tokens[run[-1] + 2])):
            run.append(run[-1] + 2)
        words = [tokens[j].text for j in run]
        groups = dict(query_word_groups(words))
        k = 0
        while k < len(run):
            end = groups.get(k, k + 1)
            out.append(_Token("word", "-".join(words[k:end])) if end > k + 1 else tokens[run[k]])
            if end < len(run):
                out.append(tokens[run[end] - 1])
            k = end
        i = run[-1] + 1
    return out


def _is_plain_word(token: _Token) -> bool:
    """A word without operator, field, exclusion, truncation or fuzziness."""
    text = token.text
    return (token.kind == "word" and text not in _OPERATORS and not text.startswith("-")
            and not any(ch in text for ch in ":~*?"))


def _append(out: list[str], text: str) -> None:
    """Adds `text` to the rewritten query, with the spaces that Whoosh's parser needs
    around an operator (`a AND(b)`, `"x"-y`) and without doubling them."""
    if text.startswith(_OPERATOR_WORDS) and out and not out[-1].endswith(" "):
        out.append(" ")
    if text == " " and (not out or out[-1].endswith(" ")):
        return
    out.append(text)


def _check_parentheses(tokens: list[_Token]) -> None:
    depth = 0
    for token in tokens:
        depth += {"open": 1, "close": -1}.get(token.kind, 0)
        if depth < 0:
            raise QuerySyntaxError("Unbalanced parentheses: a ')' has no '(' before it.")
        if depth > MAX_NESTING:
            raise QuerySyntaxError(
                f"Parentheses nest too deep: at most {MAX_NESTING} levels, one inside another."
            )
    if depth:
        raise QuerySyntaxError("Unbalanced parentheses: a '(' is never closed.")


def _classify(token: _Token, following: _Token | None) -> tuple[str, str]:
    """The role of a token and its text in Whoosh's syntax."""
    if token.kind == "phrase":
        phrase, _, slop = token.text.rpartition("~") if token.text[-1] != '"' else (
            token.text, "", "")
        _check_truncations(phrase[1:-1], quoted=None)
        if slop and not 1 <= int(slop) <= MAX_PHRASE_SLOP:
            raise QuerySyntaxError(
                f'A phrase\'s words are 1 to {MAX_PHRASE_SLOP} words apart: write '
                f'"a b"~5, not \'{shown(token.text)}\'.')
        # Whoosh's phrase pattern stops at a line break: the rest would be read as syntax.
        return token.kind, re.sub(r"\s+", " ", phrase) + (f"~{int(slop)}" if slop else "")
    if token.kind in ("open", "close"):
        return token.kind, token.text
    word = token.text
    attached = following is not None and following.kind in ("phrase", "open")
    if word in _OPERATORS:
        operator = _OPERATORS[word]
        return ("not" if operator == "NOT" else "binary"), operator + " "
    proximity = _proximity_operator(word)
    if proximity:
        return "binary", proximity
    if word == "-":
        if not attached:
            raise QuerySyntaxError("A '-' must touch the word it excludes: write -word.")
        return "not", "NOT "
    if word.startswith("-") and len(word) > 1:
        return "not_word", "NOT " + _check_word(word[1:], attached)
    return "word", _check_word(word, attached)


def _check_word(word: str, attached: bool) -> str:
    field = _FIELD.match(word)
    if field:
        name, value = field["name"].lower(), field["value"]
        if name not in SEARCHABLE_FIELDS and not value and not attached:
            return _plain(word[:-1])  # "Sommet de Paris: accord": a colon, not a field
        if name not in SEARCHABLE_FIELDS:
            raise QuerySyntaxError(
                f"Unknown field '{shown(field['name'])}:'. Fields are: "
                + ", ".join(f"{f}:" for f in SEARCHABLE_FIELDS)
                + "."
            )
        if not value and not attached:
            raise QuerySyntaxError(
                f"The field '{name}:' has no value: write {name}:word or {name}:\"a phrase\"."
            )
        return f"{name}:" + _check_value(value)
    return _check_value(word)


def _check_value(value: str) -> str:
    """A word (a field's value, or one without a field) checked and in Whoosh's syntax."""
    if not value:
        return value
    if value.startswith("="):
        return _exact_word(value)
    word, tilde, options = value.partition("~")
    if tilde:
        return _fuzzy(value, word, options)
    _check_truncations(value, quoted=value)
    pieces = _PIECE.findall(value)
    if any(ch in value for ch in _WILDCARDS) and pieces != [value]:
        # `sud-coop*`: Whoosh would fold the whole into one truncated `sudcoop`; the pieces
        # are searched as the words the analyzer would have made of them.
        return "(" + " ".join(pieces) + ")"
    return _plain(value)


def _exact_word(value: str) -> str:
    """`=Maroc` → `"Maroc"`: a word searched as written, a one-word phrase; a truncated
    word (`=visit*`) is already matched over the words as written."""
    word = value[1:]
    if "~" in word:
        raise QuerySyntaxError(
            f"A word is exact (=) or fuzzy (~), not both: '{shown(value)}'.")
    if any(ch in word for ch in _WILDCARDS):
        return _check_value(word)
    if not _PIECE.findall(word):
        return value  # `=`, `=★`: a symbol, which the analyzer drops
    return f'"{word}"'


def _check_truncations(text: str, quoted: str | None) -> None:
    """Every truncated word in `text` has `MIN_TRUNCATION_CHARS` letters before its first
    wildcard (`co*` would stand for thousands of words); the message quotes `quoted`, or
    the word itself when None (in a phrase)."""
    for piece in _PIECE.findall(text):
        if not any(ch in piece for ch in _WILDCARDS):
            continue
        head = re.split(r"[*?]", strip_elision(piece), maxsplit=1)[0]
        if len(fold(head)) < MIN_TRUNCATION_CHARS:
            raise QuerySyntaxError(
                f"Truncation needs at least {MIN_TRUNCATION_CHARS} letters before * or ?: "
                f"'{shown(quoted or piece)}'."
            )


def _plain(word: str) -> str:
    """`word` as a word, never one of Whoosh's operators (`ANDNOT` would be one)."""
    return word.lower() if word in _WHOOSH_OPERATORS else word


def _fuzzy(value: str, word: str, options: str) -> str:
    """`word~`, `word~2`, `word~2/3`: at most `MAX_FUZZY_EDITS` edits, as Whoosh writes
    them; anything else would reach Whoosh as something it reads otherwise, or costs
    minutes (an edit distance of 9)."""
    found = _FUZZY.match(options)
    edits = int(found["edits"] or 1) if found else 0
    prefix = int(found["prefix"]) if found and found["prefix"] else 1
    if not found or not 1 <= edits <= MAX_FUZZY_EDITS:
        raise QuerySyntaxError(_FUZZY_MESSAGE.format(edits=MAX_FUZZY_EDITS, word=shown(value)))
    if not _PIECE.findall(word) and (word or not options):
        return word  # `★~`, `~`: a symbol, which the analyzer drops, tilde or not
    if _PIECE.findall(word) != [word] or not 1 <= prefix <= len(word):
        raise QuerySyntaxError(_FUZZY_MESSAGE.format(edits=MAX_FUZZY_EDITS, word=shown(value)))
    if any(ch in word for ch in _WILDCARDS):
        raise QuerySyntaxError(
            f"A word is truncated (*) or fuzzy (~), not both: '{shown(value)}'.")
    if len(word) > MAX_FUZZY_CHARS:
        raise QuerySyntaxError(
            f"A fuzzy word has at most {MAX_FUZZY_CHARS} letters: write this one without ~."
        )
    return _plain(word) + "~" + options


class _Expansion(Expansion):
    """A truncated or fuzzy word of a query (`whoosh_fast.queries.Expansion`), stopped
    when it stands for more than `MAX_EXPANDED_TERMS` terms of a field in a segment, or
    when the words of its query would read more than their budget of postings."""

    budget: _Budget | None = None  # shared by the expansions of one parsed query
    typed: str | None = None  # the word as the query wrote it, for messages

    def listed(self, count: int) -> None:
        if count > MAX_EXPANDED_TERMS:
            raise self._too_broad()

    def expanded(self, segment, words: list[bytes]) -> None:
        if self.budget is not None:
            fieldname = self.field()
            self.budget.spend(sum(segment.doc_frequency(fieldname, word) for word in words))

    def written(self) -> str:
        """The word as the query wrote it, for messages."""
        word = self.typed or self.text
        return f"{word}~{self.maxdist}" if isinstance(self, wq.FuzzyTerm) else word

    def _too_broad(self) -> QueryTooBroadError:
        return _too_broad([self.written()])


class _RankedFuzzy(SummedOr):
    """`word~` in one field: the word's own term, then its fuzzy neighbours (`_fuzzy_word`).
    Whoosh's fuzzy plugin sets the edits and the prefix it read on the query it is given:
    they are the fuzzy term's."""

    @property
    def maxdist(self) -> int:
        return self.subqueries[1].maxdist

    @maxdist.setter
    def maxdist(self, value: int) -> None:
        self.subqueries[1].maxdist = value

    @property
    def prefixlength(self) -> int:
        return self.subqueries[1].prefixlength

    @prefixlength.setter
    def prefixlength(self, value: int) -> None:
        self.subqueries[1].prefixlength = value


class _Budget:
    """The postings that the truncated and fuzzy words of one query may still read."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.postings_left = MAX_EXPANDED_POSTINGS

    def spend(self, postings: int) -> None:
        self.postings_left -= postings
        if self.postings_left < 0:
            raise _too_broad(self.words)


def _too_broad(words: list[str]) -> QueryTooBroadError:
    names = [f"'{shown(word)}'" for word in dict.fromkeys(words)]
    if len(names) == 1:
        return QueryTooBroadError(
            f"{names[0]} stands for too many words to search them all: make it more specific "
            "(more letters before * or ?, or fewer edits after ~)."
        )
    return QueryTooBroadError(
        f"{', '.join(names[:-1])} and {names[-1]} stand for too many words to search them "
        "all: make them more specific (more letters before * or ?, or fewer edits after ~), "
        "or use fewer of them."
    )


def _with_budget(query: wq.Query) -> wq.Query:
    """`query` with one work budget shared by its truncated and fuzzy words."""
    expansions = [leaf for leaf in (query.leaves() if not query.is_leaf() else [query])
                  if isinstance(leaf, _Expansion)]
    budget = _Budget([leaf.written() for leaf in expansions])
    for leaf in expansions:
        leaf.budget = budget
    return query


def expanded_words(leaf: wq.Query, reader) -> set[str]:
    """The words a truncated or fuzzy word of a query stands for in the segments of
    `reader` (listed once, as matching lists them)."""
    if not isinstance(leaf, _Expansion):
        return set()
    return {word.decode() if isinstance(word, bytes) else word
            for segment, _ in reader.leaf_readers() for word in leaf.words(segment)}


def expand_first(query: wq.Query, reader) -> None:
    """Lists the terms of every truncated and fuzzy word of `query` in each segment of
    `reader` before any postings are read, so that a query over its budget stops at once
    rather than after reading most of it."""
    leaves = list(query.leaves()) if not query.is_leaf() else [query]
    for segment, _ in reader.leaf_readers():
        for leaf in leaves:
            if isinstance(leaf, _Expansion):
                leaf.words(segment)


def _all_words(query: wq.Query) -> wq.Query:
    """Every AND of plain words in `query` matched as `AllWords`."""
    if type(query) is wq.And and query.boost == 1.0 and all(
            field_terms(group) is not None for group in query.subqueries):
        return AllWords(query.subqueries)
    if isinstance(query, wq.CompoundQuery):
        query.subqueries = [_all_words(child) for child in query.subqueries]
    return query


def _phrase_words(query: wq.Query) -> wq.Query:
    """Every phrase of `query` matched as `PhraseWords`, except inside a NEAR or SAME,
    which reads its phrases' spans; an OR of phrases alone (a phrase in its fields) as
    `PhraseInFields`."""
    if type(query) is wq.Phrase:
        return PhraseWords(query.fieldname, list(query.words), slop=query.slop,
                           boost=query.boost, char_ranges=query.char_ranges,
                           degrade=query.degrade)
    if isinstance(query, Proximity) or query.is_leaf():
        return query
    if isinstance(query, wq.BinaryQuery):
        query.a, query.b = _phrase_words(query.a), _phrase_words(query.b)
        query.subqueries = (query.a, query.b)
    elif isinstance(query, wq.CompoundQuery):
        query.subqueries = [_phrase_words(child) for child in query.subqueries]
        if type(query) is wq.Or and not query.scale and query.subqueries and all(
                type(child) is PhraseWords for child in query.subqueries):
            return PhraseInFields(query.subqueries, boost=query.boost)
    elif isinstance(query, wq.Not):
        query.query = _phrase_words(query.query)
    elif isinstance(query, wq.WrappingQuery):
        query.child = _phrase_words(query.child)
    return query


def _one_word(query: wq.Query) -> wq.Query:
    """A query of one plain word in several fields as `OneWord`."""
    if type(query) is wq.Or and not query.scale and field_terms(query) is not None:
        return OneWord(query.subqueries, boost=query.boost)
    return query


class _Prefix(_Expansion, wq.Prefix):
    pass


class _Wildcard(_Expansion, wq.Wildcard):
    pass


class _FirstLetterFuzzyTerm(_Expansion, wq.FuzzyTerm):
    """A fuzzy term whose first letter must match: `Tokaiev~` finds `Tokayev` without
    comparing `tokaiev` with every term of a large index (Elasticsearch's fuzzy queries
    are commonly given a prefix for the same reason)."""

    @property
    def prefixlength(self) -> int:
        # At most the term's length: the word's stem can be shorter than the prefix it
        # was given (`marocaines~/10` is `marocain`), which Whoosh's automaton indexes past.
        # A lexicon term's mark is not a letter.
        first = 2 if self.text.startswith(ENTITY_MARK) else 1
        return min(max(first, self._prefixlength), len(self.text))

    @prefixlength.setter
    def prefixlength(self, value: int) -> None:
        self._prefixlength = value

    @property
    def maxdist(self) -> int:
        return self._maxdist

    @maxdist.setter
    def maxdist(self, value: int) -> None:
        """`normalize_query` lets no more edits through; were one to reach here, its
        automaton would take minutes to make (9 edits)."""
        if value > MAX_FUZZY_EDITS or len(self.text) > MAX_FUZZY_CHARS:
            raise QuerySyntaxError(
                _FUZZY_MESSAGE.format(edits=MAX_FUZZY_EDITS, word=shown(f"{self.text}~{value}")))
        self._maxdist = value


class _FrenchParser(qparser.QueryParser):
    """Whoosh's parser, with truncated words completed over the words as written, quoted
    phrases searched as written, and fuzzy words ranked below the word itself."""

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        if termclass is wq.Prefix:
            return truncation_query(SURFACE_FIELDS.get(fieldname, fieldname), text + "*", boost)
        if termclass is wq.Wildcard:
            return truncation_query(SURFACE_FIELDS.get(fieldname, fieldname), text, boost)
        if termclass is wq.FuzzyTerm:
            # A stop word or symbol with `~` gives an empty group, which takes the
            # attributes Whoosh's fuzzy plugin sets and then vanishes from the query.
            return _fuzzy_word(self.schema, fieldname, text, boost) or wq.Or([])
        if termclass is wq.Term and (entity := phrase_entity(text)) is not None:
            # `États-Unis`, `Nations-unies` (grouped by `_grouped`): the entity, in any form.
            return wq.Term(fieldname, entity, boost=boost)
        if termclass is wq.Term and (compound := _compound(fieldname, text, boost)):
            return compound
        own = super().term_query(fieldname, text, termclass, boost, tokenize, removestops)
        if (termclass is wq.Term and type(own) is wq.Term and fieldname in SURFACE_FIELDS
                and len(_WORD.findall(text)) == 1 and (key := name_key(text)) is not None):
            # `Tokaev` also finds the names spelt `Tokayev`, `Tokaïev`, ranked below.
            return wq.Or([own, wq.Term(fieldname, key, boost=boost * FUZZY_WEIGHT)])
        return own


def _compound(fieldname: str, text: str, boost: float) -> wq.Query | None:
    """`maroco-kazakhes` → the compound as written, in any gender and number
    (`analysis.compound_forms`), in the field's surface twin; None for other words."""
    forms = compound_forms(text)
    if not forms or fieldname not in SURFACE_FIELDS:
        return None
    surface = SURFACE_FIELDS[fieldname]
    return wq.Or([wq.Phrase(surface, list(words)) for words in forms], boost=boost)


def _fuzzy_word(schema, fieldname: str, text: str, boost: float) -> _RankedFuzzy | None:
    """`word~` in one field: the word's own term (its stem, or its lexicon entry), and the
    words as written one edit away (in the field's surface twin, where the lexicon's words
    keep their spelling: `Tokarev~` finds `Tokayev`) weighing `FUZZY_WEIGHT` of it; None
    for a stop word or symbol."""
    terms = list(schema[fieldname].process_text(text, mode="query"))
    if len(terms) != 1:
        return None
    own = terms[0]
    if fieldname in SURFACE_FIELDS and SURFACE_FIELDS[fieldname] in schema:
        fuzzy = _FirstLetterFuzzyTerm(SURFACE_FIELDS[fieldname], fold(strip_elision(text)),
                                      boost * FUZZY_WEIGHT)
    else:
        # A lexicon entry's neighbours are other entries: the word's stem has the spellings.
        near = stem(fold(strip_elision(text))) if own.startswith(ENTITY_MARK) else own
        fuzzy = _FirstLetterFuzzyTerm(fieldname, near, boost * FUZZY_WEIGHT)
    fuzzy.typed = text
    return _RankedFuzzy([wq.Term(fieldname, own, boost=boost), fuzzy])


def truncation_query(fieldname: str, text: str, boost: float = 1.0) -> wq.Query:
    """`visit*` → the words as written (`fieldname` is a surface field) that start with
    `visit`: visite, visiteurs, not visières, which shares a stem with them."""
    pattern = "".join(ch if ch in "*?" else fold(ch) for ch in strip_elision(text))
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    expansion = (_Prefix(fieldname, head, boost=boost) if pattern == head + "*"
                 else _Wildcard(fieldname, pattern, boost=boost))
    expansion.typed = text
    return expansion


class _ExactPhrases(qparser.Plugin):
    """Quoted phrases search the surface twins of their fields (`search.surface`): the
    words as written, stop words in their place. Runs after Whoosh's multifield filter
    has given each phrase its field."""

    def filters(self, parser):
        return [(self.to_surface, 120)]

    def to_surface(self, parser, group):
        for node in group:
            if isinstance(node, qparser.PhrasePlugin.PhraseNode):
                if node.fieldname in SURFACE_FIELDS:
                    node.set_fieldname(SURFACE_FIELDS[node.fieldname], override=True)
            elif isinstance(node, qparser.GroupNode):
                self.to_surface(parser, node)
        return group


_WHOOSH_FIELD = rf"(?:(?<=[\s(])|^)(?P<text>{'|'.join(SEARCHABLE_FIELDS)}):"


def make_parser(schema, *, match_all: bool = True) -> qparser.QueryParser:
    group = qparser.AndGroup if match_all else qparser.OrGroup
    parser = _FrenchParser(None, schema, group=group)
    parser.add_plugin(qparser.MultifieldPlugin(list(DEFAULT_FIELDS), fieldboosts=DEFAULT_FIELDS))
    # Apostrophes are part of French words (l'Union), never quotes; `^`, ranges and `*:*`
    # are not part of our syntax.
    for plugin in (qparser.SingleQuotePlugin, qparser.BoostPlugin, qparser.RangePlugin,
                   qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(_ExactPhrases())
    # A field is one of ours, at the start of a word: Whoosh's own pattern finds `name:`
    # anywhere (`x.url:y`), stored-only fields included.
    parser.remove_plugin_class(qparser.FieldsPlugin)
    parser.add_plugin(qparser.FieldsPlugin(_WHOOSH_FIELD))
    _with_proximity(parser)
    return parser


def _summed(parsed: wq.Query) -> wq.Query:
    """A ranked OR of many words as `SummedOr`.

    Whoosh's default OR walks a tree of union matchers for every matching document, and a
    20-word query matches most of an archive: its preloaded OR was 4x faster on such
    queries, with the same ranking (bench/evaluate.py), and a list scored at once is
    taken whole by the collector.
    """
    if type(parsed) is wq.Or and not parsed.scale:
        return SummedOr(parsed.subqueries, boost=parsed.boost)
    return parsed


def _expansions_in_fields(query: wq.Query) -> wq.Query:
    """Every truncated or fuzzy word of `query`, searched in several fields, as
    `SummedOr`."""
    if (type(query) is wq.Or and not query.scale
            and all(sub.is_leaf() or type(sub) in (wq.Or, _RankedFuzzy)
                    for sub in query.subqueries)
            and any(isinstance(leaf, _Expansion) for leaf in query.leaves())):
        return SummedOr(query.subqueries, boost=query.boost)
    if isinstance(query, wq.CompoundQuery):
        query.subqueries = [_expansions_in_fields(child) for child in query.subqueries]
    return query


def _is_empty(parsed) -> bool:
    """True when stop words and symbols left nothing to search for."""
    return (parsed is None or parsed is wq.NullQuery
            or not list(parsed.leaves()) and not parsed.is_leaf())


def parse_query(text: str, schema, *, match_all: bool = True) -> wq.Query:
    """The Whoosh query for `text`; raises `QuerySyntaxError` with the fix."""
    whoosh_text = normalize_query(text)
    parsed = make_parser(schema, match_all=match_all).parse(whoosh_text)
    if _is_empty(parsed):
        raise QuerySyntaxError(
            "The query has no word to search for, only very common ones (le, la, de...) "
            "or symbols: add a more specific word."
        )
    return _with_budget(
        _one_word(_all_words(_phrase_words(_expansions_in_fields(parsed)))) if match_all
        else _summed(parsed))


_WORD = re.compile(WORD_PATTERN)


def parse_words(text: str, schema) -> wq.Query | None:
    """`text` as a plain bag of words (no operators, phrases or fields), ORed and ranked
    exactly as the partial matches of `parse_query`; None when no word is left."""
    words = " ".join(word.lower() for word in _WORD.findall(text))
    if not words:
        return None
    parsed = make_parser(schema, match_all=False).parse(words)
    if _is_empty(parsed):
        return None
    return _summed(parsed)


# Dates are stored as ISO prefixes of varying precision; "~" sorts after every digit, so
# `until 2020-06` still takes `2020-06-30`.
_AFTER_ANY_DATE = "~"


def filter_query(
    schema, *, source: str | None = None, category: str | None = None,
    since: str | None = None, until: str | None = None,
) -> wq.Query | None:
    """The restriction that `--source`, `--category`, `--since` and `--until` put on a search."""
    parts: list[wq.Query] = []
    if source:
        # A domain takes its subdomains (`orange.fr` → `actu.orange.fr`); a name is matched
        # whole, case and accents aside (`schema.source_terms`).
        parts.append(wq.Term("source_match", source_key(source) or ""))
    if category:
        # `societe` takes `societe/education` too.
        key = category_key(category)
        parts.append(wq.Or([wq.Term("category_key", key), PrefixFilter("category_key", key + "/")]))
    for name, value in (("since", since), ("until", until)):
        if value:
            _check_date(name, value)
    if since and until and since > until and not since.startswith(until):
        raise QuerySyntaxError(
            f"--since {since} is after --until {until}: no date is in that range; "
            "swap them or widen it."
        )
    if since or until:
        parts.append(TermRangeFilter("date", since or None,
                                     until + _AFTER_ANY_DATE if until else None))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _check_date(name: str, value: str) -> None:
    """`value` is a date of the calendar written 2020, 2020-06 or 2020-06-15, in ASCII
    digits (`\\d` would take `٢٠٢٠`)."""
    found = ISO_DATE.match(value)
    if not found:
        raise QuerySyntaxError(
            f"--{name} takes a date written 2020, 2020-06 or 2020-06-15, or {PRESETS_WRITTEN}, "
            f"not '{shown(value)}'."
        )
    year, month, day = (int(part) if part else None for part in found.groups())
    if iso(year, month, day) is None:
        raise QuerySyntaxError(
            f"--{name} takes a real date (years 1800 to 2200) written 2020, 2020-06 or "
            f"2020-06-15, not '{shown(value)}'."
        )


# Proximity: `a NEAR/5 b`, `a w/5 b` (within 5 words, any order) and `a SAME b` (in the
# same paragraph). `normalize_query` keeps these operators (`_proximity_operator`), the
# parser groups their two sides (`_ProximityPlugin`), and `Proximity` matches them field by
# field with Whoosh's span matchers.

# The analyzer's paragraphs (search.analysis.PARAGRAPH_STRIDE): two words are in the same
# paragraph when their positions // PARAGRAPH_STRIDE are equal.
NEAR_DEFAULT = 10
NEAR_MAX = 1000
_NEAR = re.compile(r"\A(?:NEAR|[wW])/(?P<distance>[^/]*)\Z")
_NEAR_MESSAGE = (f"NEAR takes a distance of 1 to {NEAR_MAX} words, written NEAR/5 or w/5 "
                 "(NEAR alone is NEAR/{default}), not '{word}'.")


def _is_proximity(word: str) -> bool:
    """`NEAR`, `NEAR/n`, `w/n` or `SAME`, written well or not."""
    return word in ("NEAR", "SAME") or _NEAR.match(word) is not None


def _proximity_operator(word: str) -> str | None:
    """`NEAR`, `NEAR/n`, `w/n` as `NEAR/n `, `SAME` as `SAME `; None for any other word."""
    if word == "SAME":
        return "SAME "
    if word == "NEAR":
        return f"NEAR/{NEAR_DEFAULT} "
    found = _NEAR.match(word)
    if not found:
        return None
    distance = found["distance"]
    if not (distance.isascii() and distance.isdigit() and 1 <= int(distance) <= NEAR_MAX):
        raise QuerySyntaxError(_NEAR_MESSAGE.format(default=NEAR_DEFAULT, word=shown(word)))
    return f"NEAR/{int(distance)} "


class Proximity(wq.Query):
    """Both sides within `distance` words of each other in one field, in any order, or in
    one paragraph of one field (`paragraph`). Each side is a word, a phrase, a truncated or
    fuzzy word, or an OR of them; matched in every field that both sides are searched in."""

    def __init__(self, subqueries, boost: float = 1.0, distance: int = NEAR_DEFAULT,
                 paragraph: bool = False) -> None:
        self.subqueries = list(subqueries)
        self.boost = boost
        self.distance = distance
        self.paragraph = paragraph

    def __repr__(self) -> str:
        operator = "SAME" if self.paragraph else f"NEAR/{self.distance}"
        return f"{type(self).__name__}({operator}, {self.subqueries!r})"

    def __eq__(self, other) -> bool:
        return (type(self) is type(other) and self.subqueries == other.subqueries
                and (self.distance, self.paragraph) == (other.distance, other.paragraph))

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.subqueries), self.distance,
                     self.paragraph))

    def is_leaf(self) -> bool:
        return False

    def field(self) -> None:
        return None

    def normalize(self) -> wq.Query:
        return self.apply(lambda query: query.normalize())

    def estimate_size(self, reader) -> int:
        return min(query.estimate_size(reader) for query in self.subqueries)

    def estimate_min_size(self, reader) -> int:
        return 0

    def children(self):
        return list(self.subqueries)

    def apply(self, fn):
        return type(self)([fn(q) for q in self.subqueries], boost=self.boost,
                          distance=self.distance, paragraph=self.paragraph)

    def matcher(self, searcher, context=None):
        return self.in_fields(searcher.reader()).matcher(searcher, context)

    def in_fields(self, reader) -> wq.Query:
        """The span query that matches this one: one branch per field."""
        # A quoted side searches its field's surface twin; proximity is counted in the
        # field itself, where the phrase is searched by its words' terms (`_spanned`).
        fields = [name for name in dict.fromkeys(
            stemmed_field(leaf.field()) for leaf in self.leaves() if leaf.field()) if name]
        branches = []
        for name in fields:
            sides = [_spanned(side, name, reader) for side in self.subqueries]
            if any(side is None for side in sides):
                continue
            if self.paragraph:
                branches.append(SameParagraph(sides))
            else:
                branches.append(spans.SpanNear2(sides, slop=self.distance, ordered=False))
        if not branches:
            return wq.NullQuery
        return wq.Or(branches, boost=self.boost) if len(branches) > 1 else branches[0]


def _spanned(query: wq.Query, fieldname: str, reader) -> wq.Query | None:
    """The part of one side of a proximity that searches `fieldname`, as a query whose
    matcher gives word spans; None if that side does not search the field."""
    if isinstance(query, (wq.Or, spans.SpanOr)) or type(query) is wq.Or:
        parts = [found for child in query.children()
                 if (found := _spanned(child, fieldname, reader)) is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else spans.SpanOr(parts)
    if isinstance(query, Proximity):
        raise QuerySyntaxError(_PROXIMITY_SIDES)
    if not query.is_leaf():
        raise QuerySyntaxError(_PROXIMITY_SIDES)
    if isinstance(query, wq.Phrase) and query.fieldname == surface_field(fieldname):
        return _stemmed_phrase(query, fieldname)
    if isinstance(query, _Expansion) and query.fieldname == surface_field(fieldname):
        return _stemmed_expansion(query, fieldname, reader)
    if type(query) is wq.Term and query.fieldname == surface_field(fieldname):  # `=word`
        found = term(query.text, query=True)
        return wq.Term(fieldname, found) if found else wq.NullQuery
    if query.field() != fieldname:
        return None
    if type(query) is wq.Term or isinstance(query, wq.Phrase):
        return query
    terms = [wq.Term(fieldname, text) for _, text in query.expanded_terms(reader)]
    if not terms:
        return wq.NullQuery
    return terms[0] if len(terms) == 1 else spans.SpanOr(terms)


def _stemmed_phrase(phrase: wq.Phrase, fieldname: str) -> wq.Query:
    """A phrase of words as written, searched in `fieldname` by their terms: positions
    there count no stop word, as NEAR's distances do."""
    terms = [found for word in phrase.words if (found := term(word, query=True))]
    if not terms:
        return wq.NullQuery
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0])
    return wq.Phrase(fieldname, terms)


def _stemmed_expansion(expansion: _Expansion, fieldname: str, reader) -> wq.Query:
    """A truncated word, expanded over the words as written, searched in `fieldname` by
    their terms (`mar*`: `maroc` and `marocaines` as the Morocco term, `marche`...)."""
    terms = sorted({found for _, word in expansion.expanded_terms(reader)
                    if (found := term(word if isinstance(word, str) else word.decode()))})
    if not terms:
        return wq.NullQuery
    leaves = [wq.Term(fieldname, text) for text in terms]
    return leaves[0] if len(leaves) == 1 else spans.SpanOr(leaves)


_PROXIMITY_SIDES = ("NEAR and SAME take a word, a \"phrase\", a truncated or fuzzy word or "
                    "(a OR b) on each side.")


class SameParagraph(spans.SpanQuery):
    """Documents where every one of `subqueries` has a span in one same paragraph
    (`PARAGRAPH_STRIDE`); the spans it gives are those of that paragraph."""

    def __init__(self, subqueries) -> None:
        self.subqueries = list(subqueries)
        self.q = wq.And(self.subqueries)

    def is_leaf(self) -> bool:
        return False

    def children(self):
        return list(self.subqueries)

    def apply(self, fn):
        return type(self)([fn(q) for q in self.subqueries])

    def estimate_size(self, reader) -> int:
        return self.q.estimate_size(reader)

    def estimate_min_size(self, reader) -> int:
        return 0

    def matcher(self, searcher, context=None):
        context = self._span_context(context)
        return self._Matcher([q.matcher(searcher, context) for q in self.subqueries])

    class _Matcher(spans.SpanWrappingMatcher):
        def __init__(self, matchers) -> None:
            self.matchers = matchers
            super().__init__(make_binary_tree(matching.IntersectionMatcher, matchers))

        def copy(self):
            return type(self)([m.copy() for m in self.matchers])

        def replace(self, minquality=0):
            return self if self.is_active() else matching.NullMatcher()

        def _get_spans(self):
            common = None
            found: list = []
            for matcher in self.matchers:
                spans_here = matcher.spans()
                found.extend(spans_here)
                paragraphs = {span.start // PARAGRAPH_STRIDE for span in spans_here}
                common = paragraphs if common is None else common & paragraphs
                if not common:
                    return []
            return sorted(span for span in found if span.start // PARAGRAPH_STRIDE in common)


class _ProximityOperator(qparser.syntax.InfixOperator):
    """`NEAR/n` or `SAME` in the parser's token stream: groups its two sides."""

    def replace_self(self, parser, group, position):
        if 0 < position < len(group) - 1:
            left, right = group[position - 1], group[position + 1]
            if self.text == "SAME":
                kwargs = {"paragraph": True}
            else:
                kwargs = {"distance": int(self.text.split("/")[1])}
            if isinstance(left, _ProximityGroup) and left.kwargs == kwargs == {"paragraph": True}:
                left.append(right)  # `a SAME b SAME c`: all three in one paragraph
                del group[position: position + 2]
                return position
            group[position - 1: position + 2] = [_ProximityGroup([left, right], **kwargs)]
        else:
            del group[position]
        return position


class _ProximityGroup(qparser.syntax.GroupNode):
    qclass = Proximity
    merging = False


def _with_proximity(parser: qparser.QueryParser) -> None:
    """Teaches `parser` the operators `_proximity_operator` writes, binding tighter than
    AND and OR (`a OR b NEAR/3 c` is `a OR (b NEAR/3 c)`), and less than NOT."""
    tagger = qparser.OperatorsPlugin.OpTagger(
        r"(?<=\s)(?:NEAR/[0-9]+|SAME)(?=\s)", _ProximityGroup, _ProximityOperator,
        memo="proximity")
    operators = qparser.OperatorsPlugin()
    operators.ops.insert(1, (tagger, 0))  # after NOT, the first; before AND and OR
    parser.replace_plugin(operators)
