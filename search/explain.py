"""`search explain`: for each word of a query, the index terms it searches, where each came
from, and the words as written in the archive that each stands for, with article counts.

A word's terms are the leaves of its parsed query: a term of a stemmed field is the word's
family (`stem`) or a lexicon entry (`lexicon`, terms starting with "@"); a term of a surface
field is the word as written (`exact`: quoted phrases, `=word`); truncated and fuzzy words
add each word they stand for (`truncated`, `fuzzy`). The forms of a stemmed or lexicon
term are the surface forms whose analysis gives that term (`search.analysis.term` over the
surface vocabulary, computed once per open index).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

from whoosh import query as wq

from search import analysis
from search.errors import QuerySyntaxError
from search.models import ExplainedTerm, ExplainedWord, Explanation, FormCount
from search.query import ENTITY_MARK, expanded_words, parse_query, query_words
from search.surface import is_surface_field, stemmed_field

ORIGINS = ("lexicon", "stem", "transliteration", "exact", "truncated", "fuzzy")


def terms_of_form(form: str) -> list[str]:
    """The index terms a surface form stands for: its term, and its transliteration key
    when it may be a name's spelling (`analysis.name_key`)."""
    term = analysis.term(form)
    if term is None:
        return []
    if form.isalpha() and len(form) >= analysis.MIN_KEYED_LETTERS:
        return [term, analysis.TRANSLITERATION_MARK + analysis.transliteration_key(form)]
    return [term]


def stem_prefixes(stem: str) -> set[str]:
    """What the forms of a stem start with, for an index that cannot list the forms of
    a term (OpenSearch): the stem less up to two letters (`social` → `socia`: `sociaux`),
    `-i` as `-y` (`envoi` → `envoy`: `envoyer`), `-eur` as `-ric` (`actrice`,
    `ambassadrice`). On the forms of 8,000 OrangeSum articles, 99.9 % of a stem's forms
    start with one of these."""
    prefixes = {stem[:max(3, len(stem) - 2)]}
    if stem.endswith("i"):
        prefixes.add(stem[:-1] + "y")
    if stem.endswith("eur"):
        prefixes.add(stem[:-3] + "ric")
    return prefixes


def forms_by_term(vocabulary: Mapping[str, int]) -> dict[str, list[FormCount]]:
    """Each index term and the surface forms that analyze to it, the most frequent first."""
    found: dict[str, list[FormCount]] = defaultdict(list)
    for form, documents in vocabulary.items():
        for term in terms_of_form(form):
            found[term].append(FormCount(form, documents))
    for forms in found.values():
        forms.sort(key=by_frequency)
    return dict(found)


def by_frequency(count: FormCount) -> tuple[int, str]:
    """The order of a term's forms: the most frequent first."""
    return -count.documents, count.form


def explain(text: str, schema, reader, vocabulary: Mapping[str, int],
            forms: Callable[[], Mapping[str, list[FormCount]]]) -> Explanation:
    """What each word of `text` searches in the index `reader` reads."""
    return explain_words(text, schema, lambda word, parsed: _word(word, parsed, reader,
                                                                  vocabulary, forms))


Expand = Callable[[wq.Query], set[str]]


def explain_words(text: str, schema,
                  explained: Callable[[str, object], ExplainedWord]) -> Explanation:
    """Each word of `text` parsed alone and `explained(word, parsed query)`, by whichever
    backend reads the index; a word that searches nothing alone (a stop word, a symbol)
    is listed with no terms."""
    words = []
    for word in query_words(text):
        try:
            parsed = parse_query(word, schema)
        except QuerySyntaxError:
            words.append(ExplainedWord(word, ()))
            continue
        words.append(explained(word, parsed))
    return Explanation(text, tuple(words))


def _word(word: str, parsed, reader, vocabulary, forms) -> ExplainedWord:
    leaves = list(parsed.leaves()) if not parsed.is_leaf() else [parsed]
    fields: dict[str, None] = {}
    searched: dict[tuple[str, str], set[str]] = {}  # (origin, term) → fields
    own_terms = {leaf.text for leaf in leaves if type(leaf) is wq.Term}
    for leaf in leaves:
        fieldname = leaf.field()
        fields[stemmed_field(fieldname)] = None
        for origin, term in searched_terms(leaf, lambda leaf: expanded_words(leaf, reader),
                                           own_terms):
            searched.setdefault((origin, term), set()).add(fieldname)
    terms = []
    for (origin, term), fieldnames in searched.items():
        documents = _documents(reader, fieldnames, term)
        if origin == "transliteration" and not documents:
            continue  # no name spelt like the word: nothing to show
        if origin in ("exact", "truncated") or any(map(is_surface_field, fieldnames)):
            term_forms = (FormCount(term, vocabulary.get(term, documents)),)
        else:
            term_forms = tuple(forms().get(term, ()))
        terms.append(ExplainedTerm(term, origin, documents, term_forms, _entity(term)))
    return ExplainedWord(word, tuple(fields), tuple(in_order(terms)))


def in_order(terms: list[ExplainedTerm]) -> list[ExplainedTerm]:
    """A word's terms as listed: by origin, a phrase's words in their order, the others the
    most frequent first."""
    return sorted(terms, key=lambda found: (ORIGINS.index(found.origin),
                                            0 if found.origin == "exact" else -found.documents))


def searched_terms(leaf, expand: Expand, own_terms: set[str]):
    """(origin, term) of each term a leaf of a word's query searches; `expand` gives the
    words a truncated or fuzzy leaf stands for in the index."""
    surface = is_surface_field(leaf.field())
    if isinstance(leaf, wq.Phrase):
        yield from (("exact", word) for word in leaf.words)
    elif isinstance(leaf, wq.FuzzyTerm):
        # Over the words as written (a surface field), the typed word's own forms are left
        # out: its term already stands for them.
        yield from (("fuzzy", word) for word in sorted(expand(leaf))
                    if word not in own_terms
                    and not (surface and analysis.term(word, query=True) in own_terms))
    elif isinstance(leaf, (wq.Prefix, wq.Wildcard)):
        yield from (("truncated", word) for word in sorted(expand(leaf)))
    elif type(leaf) is wq.Term:
        origin = ("exact" if surface else "lexicon" if leaf.text.startswith(ENTITY_MARK)
                  else "transliteration" if leaf.text.startswith(analysis.TRANSLITERATION_MARK)
                  else "stem")
        yield origin, leaf.text


def _documents(reader, fieldnames: set[str], term: str) -> int:
    """The articles that have `term` in any of `fieldnames`."""
    found: set[int] = set()
    for fieldname in fieldnames:
        if (fieldname, term) in reader:
            found.update(reader.postings(fieldname, term).all_ids())
    return len(found)


def _entity(term: str) -> str | None:
    """A lexicon term's name and kind, `Maroc (country)`, when the lexicon knows it."""
    if not term.startswith(ENTITY_MARK):
        return None
    try:  # TODO(lexdata): a plain import once search/lexicon.py has landed
        from search import lexicon
    except ImportError:
        return None
    entry = lexicon.entry(term)
    return f"{entry.name} ({entry.kind})" if entry else None
