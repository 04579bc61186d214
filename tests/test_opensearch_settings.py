"""search.opensearch.settings: the index's analysis, generated from the analyzer's data."""

import pytest

from search.analysis import STOP_WORDS
from search.opensearch.settings import (
    _case_variants,
    _plain_words,
    analysis,
    index_body,
    stem_rules,
)
from search.words import ELISIONS


def unchanged(words):
    """A stand-in for the cluster's Snowball that stems nothing."""
    return list(words)


def test_stem_rules_cover_the_words_the_cluster_stems_otherwise():
    words = ["negocie", "visites", "maroc", "de", "2024", "l'etat", "deleguee"]
    assert stem_rules(words, unchanged) == [
        "deleguee => delegu", "negocie => negoci", "visites => visit"]


def test_no_rule_where_the_cluster_agrees():
    theirs = {"visites": "visit", "negocie": "negoci"}
    assert stem_rules(["visites", "negocie"], lambda words: [theirs[w] for w in words]) == []


@pytest.mark.parametrize(("form", "variants"), [
    ("ONU", ["ONU"]),
    ("Bénin", ["Bénin", "Benin"]),
    ("hispano", ["hispano"]),
    ("ÉAU", ["ÉAU", "EAU"]),
])
def test_case_rules_match_the_spellings_the_lexicon_accepts(form, variants):
    assert _case_variants(form) == variants


@pytest.mark.parametrize(("words", "term", "plain"), [
    (("guinee", "bissau"), "@guinee_bissau", ["zzplainzzguinee", "bissau"]),
    (("coree", "du", "sud"), "@coree_du_sud", ["coree", "du", "sud"]),
])
def test_phrase_words_that_lose_their_entity(words, term, plain):
    assert _plain_words(words, term) == plain


def test_the_stop_list_and_elisions_are_ours():
    filters = analysis()["filter"]
    assert filters["stop_fr"]["stopwords"] == sorted(STOP_WORDS)
    assert filters["elision_fr"]["articles"] == sorted(ELISIONS)


def test_the_text_fields_have_an_exact_subfield():
    body = index_body()["mappings"]["properties"]["body"]
    assert (body["analyzer"], body["fields"]["exact"]["analyzer"]) == ("french", "surface")
