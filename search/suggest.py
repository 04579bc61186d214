""""Did you mean": the archive's words closest to a query's rare or unknown words.

When a query finds at most `FEW_HITS` articles or dispatches (`few_hits`), each of its
words whose family (its index term) the archive has in at most `FEW_HITS` articles is
compared with the archive's surface forms (`search.surface`: folded, unstemmed) by edit
distance (rapidfuzz's Levenshtein, in C: a 200,000-word vocabulary in tens of
milliseconds); the closest forms, the most frequent first among close ones (an edit is
worth a hundred times the articles: `FREQUENCY_PER_EDIT`), replace it in the suggested
queries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from search.analysis import term
from search.words import surface_form

# A query that finds this many articles or fewer gets suggestions.
FEW_HITS = 2
MAX_SUGGESTIONS = 3
# Edits allowed between a word and a suggestion: one for short words, two from this length.
TWO_EDITS_FROM = 6
# The closest forms of the vocabulary compared with a word.
SUGGESTER_CANDIDATES = 20
# A form one edit further from the word ranks alike when this many times more frequent.
FREQUENCY_PER_EDIT = 100

# The words of a query that are words to correct: not operators (`NEAR/3`, `w/3`), fields,
# or marked words.
_QUERY_WORD = re.compile(r"(?<![\w*?~@/])([^\W\d_][^\W_]*(?:['’][^\W_]+)*)(?![\w*?~:/])")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ET", "OU", "SAUF", "NEAR", "SAME"})


def vocabulary(frequencies: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Surface forms and the number of articles that have each, from (form, count) pairs
    (one per field: the largest count is kept)."""
    found: dict[str, int] = {}
    for form, count in frequencies:
        if count > found.get(form, 0):
            found[form] = count
    return found


class CountedWhenAsked(Mapping[str, int]):
    """Known forms whose counts are read only when asked (`count(form)`, then kept; 0 for
    a form that is not one of them): `closest_words` asks for a few of hundreds of
    thousands, and reading every count with the forms doubles the reading (0.6 of 0.8 s
    on 360,000 articles). The forms keep their order (`process.extract` keeps the first
    of equally close ones)."""

    def __init__(self, forms: Sequence[str], count: Callable[[str], int]) -> None:
        self._forms = forms  # each once
        self._count = count
        self._counted: dict[str, int] = {}

    def __getitem__(self, form: str) -> int:
        found = self._counted.get(form)
        if found is None:
            found = self._counted[form] = self._count(form)
        if not found:
            raise KeyError(form)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._forms)

    def __len__(self) -> int:
        return len(self._forms)

    def keys(self) -> Sequence[str]:  # type: ignore[override]
        """The forms, in their order (`process.extract` takes a sequence whole)."""
        return self._forms


def closest_words(word: str, known: Mapping[str, int]) -> list[str]:
    """The known forms at most one or two edits from `word` (folded), ranked by their
    edits less the log of their frequency (`FREQUENCY_PER_EDIT`); never a form as rare as
    the word itself, nor one of its own family (`parlementaires` for `parlementaire`)."""
    form = surface_form(word)
    if not form or form.isdigit():
        return []
    family = term(form)
    edits = 2 if len(form) >= TWO_EDITS_FROM else 1
    own = known.get(form, 0)
    matches = process.extract(form, known.keys(), scorer=Levenshtein.distance,
                              score_cutoff=edits, limit=SUGGESTER_CANDIDATES)
    # A listed form that no article has (a damaged index: its forms and its counts read
    # from different files) is no candidate.
    counts = {candidate: known.get(candidate, 0) for candidate, _, _ in matches}
    ranked = sorted(((distance - math.log(counts[candidate], FREQUENCY_PER_EDIT),
                      -counts[candidate], candidate)
                     for candidate, distance, _ in matches
                     if counts[candidate] > own and term(candidate) != family),
                    key=lambda item: item[:2])
    return [candidate for *_, candidate in ranked[:MAX_SUGGESTIONS]]


def query_words(query: str) -> list[str]:
    """The words of `query` that `suggestions` may correct: not operators, fields, marked
    words, nor words with no term (stop words)."""
    return [match.group(1) for match in _word_matches(query)]


def _word_matches(query: str) -> Iterator[re.Match]:
    for match in _QUERY_WORD.finditer(query):
        word = match.group(1)
        if word not in _OPERATORS and term(word) is not None:
            yield match


def few_hits(total: int, shown: int, limit: int, offset: int) -> bool:
    """Whether a query found few enough articles for "did you mean": at most `FEW_HITS`
    articles, or at most `FEW_HITS` dispatches where copies are shown once (`shown` hits
    of a first page that has room for more: every group is shown). A misspelt word that
    matches one dispatch and its nine copies gets suggestions as if it matched one."""
    return total <= FEW_HITS or (offset == 0 and shown <= FEW_HITS < limit)


def suggestions(query: str, vocabulary: Callable[[], Mapping[str, int]],
                family_count: Callable[[str], int]) -> list[str]:
    """Rewrites of `query` with its rare or unknown words (`family_count`: the articles
    that have the word's family) replaced by the closest known ones: the best for each,
    then the next best for the first such word. `vocabulary()` gives the known forms, and
    is asked only if a word is rare (it is read from the whole index: about a second of
    CPU on a million articles)."""
    replacements: list[tuple[re.Match, list[str]]] = []
    for match in _word_matches(query):
        word = match.group(1)
        if family_count(word) > FEW_HITS:
            continue
        closest = closest_words(word, vocabulary())
        if closest:
            replacements.append((match, closest))
    if not replacements:
        return []
    first, alternatives = replacements[0]
    found = []
    for choice in alternatives:
        chosen = {first.start(): choice}
        chosen.update({match.start(): words[0] for match, words in replacements[1:]})
        found.append(_rewritten(query, replacements, chosen))
    return found


def _rewritten(query: str, replacements, chosen: dict[int, str]) -> str:
    out, position = [], 0
    for match, _ in replacements:
        out.append(query[position:match.start(1)])
        out.append(chosen[match.start()])
        position = match.end(1)
    out.append(query[position:])
    return "".join(out)
