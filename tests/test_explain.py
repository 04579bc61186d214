import pytest

from search import analysis
from search.searcher import explain

from .conftest import index_of

CORPUS = {
    "a.txt": "Sommet de Rabat\n\nLes ministres veulent renforcer la coopération. Le président "
             "Tokayev est arrivé.",
    "b.txt": "Coopération renforcée\n\nLe renforcement de la coopération. Un pistolet Tokarev. "
             "Sarah Cooper.",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_of(tmp_path_factory.mktemp("explain"), CORPUS)


def searched(index, text):
    """(word, [(term, origin, documents, forms)]) of each word of `text`."""
    return [(word.word, [(term.term, term.origin, term.documents,
                          [(form.form, form.documents) for form in term.forms])
                         for term in word.terms])
            for word in explain(index, text).words]


STEM = analysis.term("coopération")


@pytest.mark.parametrize(
    "text, expected",
    [
        # `Cooper` folds as `coopérer` typed without accents: one of the family now.
        ("coopération", [("coopération", [(STEM, "stem", 2, [("cooperation", 2),
                                                             ("cooper", 1)])])]),
        ('"renforcer la coopération"', [('"renforcer la coopération"', [
            ("renforcer", "exact", 1, [("renforcer", 1)]), ("la", "exact", 2, [("la", 2)]),
            ("cooperation", "exact", 2, [("cooperation", 2)])])]),
        ("=Tokayev", [('"Tokayev"', [("tokayev", "exact", 1, [("tokayev", 1)])])]),
        ("coop*", [("coop*", [("cooperation", "truncated", 2, [("cooperation", 2)]),
                              ("cooper", "truncated", 1, [("cooper", 1)])])]),
        ("Tokayev~", [("Tokayev~", [
            ("@tokaiev", "lexicon", 1, [("tokayev", 1)]),
            ("tokarev", "fuzzy", 1, [("tokarev", 1)])])]),
        ("title:Rabat la", [("title:Rabat", [(analysis.term("Rabat"), "stem", 1,
                                              [("rabat", 1)]),
                                             # the title names Rabat inside a sentence
                                             ("%rabat", "transliteration", 1,
                                              [("rabat", 1)])]),
                            ("la", [])]),
        ("xyzzy", [("xyzzy", [("xyzzy", "stem", 0, [])])]),
    ],
)
def test_explain(index, text, expected):
    assert searched(index, text) == expected


def test_explain_leaves_proximity_operators_out(index):
    assert [word.word for word in explain(index, "Rabat NEAR/3 coopération SAME la").words] == [
        "Rabat", "coopération", "la"]


def test_explain_names_the_fields(index):
    assert [word.fields for word in explain(index, "title:Rabat coopération la").words] == [
        ("title",), ("title", "lead", "dateline", "body"), ()]
