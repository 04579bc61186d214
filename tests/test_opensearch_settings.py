"""search.opensearch.settings: the index's analysis, generated from the analyzer's data,
and what a real node's `_analyze` makes of it."""

import re
from collections import Counter

import pytest

from search.analysis import STOP_WORDS, TRANSLITERATION_MARK, analyze, transliteration_key
from search.opensearch.settings import (
    NAME_MARK,
    PARAGRAPH_TOKEN,
    _case_variants,
    _marked_variants,
    _name_key_filters,
    _plain_words,
    analysis,
    index_body,
    stem_rules,
)
from search.words import ELISIONS, WORD_PATTERN, surface_form


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
    stopwords = filters["stop_fr"]["stopwords"]
    assert [word for word in stopwords if NAME_MARK not in word] == sorted(STOP_WORDS)
    assert {word for word in stopwords if NAME_MARK in word} == {
        word + NAME_MARK for word in STOP_WORDS}
    assert filters["elision_fr"]["articles"] == sorted(ELISIONS)


def test_the_text_fields_have_an_exact_subfield():
    body = index_body()["mappings"]["properties"]["body"]
    assert (body["analyzer"], body["fields"]["exact"]["analyzer"]) == ("french", "surface")
    # the highlighter reads offsets instead of analyzing the articles shown again
    assert body["index_options"] == body["fields"]["exact"]["index_options"] == "offsets"


@pytest.mark.parametrize(("words", "variants"), [
    (("otan",), [("otan",), ("otan\ue000",)]),
    (("le", "drian"), [("le", "drian"), ("le", "drian\ue000"), ("le\ue000", "drian"),
                       ("le\ue000", "drian\ue000")]),
])
def test_a_phrase_rule_for_each_way_its_words_may_be_marked(words, variants):
    assert sorted(_marked_variants(words)) == sorted(variants)


def test_a_long_phrase_gets_the_likely_markings_only():
    words = ("organisation", "de", "la", "cooperation", "et", "du", "developpement")
    marked = _marked_variants(words)
    assert words in marked and tuple(w + NAME_MARK for w in words) in marked
    assert ("organisation", "de", "la", "cooperation\ue000", "et", "du",
            "developpement\ue000") in marked
    assert len(marked) == len(set(marked)) < 2 ** len(words)


@pytest.mark.parametrize("folded", ["tokayev", "tokaiev", "zelenskyy", "loukachenko",
                                    "prigozhine", "mirziyoyev", "philippe", "dzhokhar"])
def test_the_key_filters_are_the_python_rules(folded):
    """The Java rules, applied in order as Python's re reads them, give Python's key."""
    key = folded
    for name, rule in _name_key_filters().items():
        if name.startswith("name_rule_"):
            key = re.sub(rule["pattern"], rule["replacement"].replace("$", "\\"), key)
    assert key == transliteration_key(folded)


# What the cluster's analyzer must give exactly as ours: names inside a sentence get their
# transliteration key (after an abbreviation's full stop, after an elision), and not at a
# sentence's or paragraph's start, after a quotation mark, for a stop word, a lexicon form,
# a word with digits or of three letters; lexicon phrases whatever their capitals; a
# Roman numeral after a name is a number (`#vi`), elsewhere a word; other scripts and
# signs folded as unidecode folds them.
ANALYZED = [
    "Le président Tokayev a reçu M. Zelenskyy, puis Loukachenko.",
    "Tokayev est arrivé. Mirziyoyev aussi ; Prigojine : non.",
    "Il a salué « Zelenskyy » et (Tokayev) au Kremlin",
    "Il a vu L'avion de O'Neil chez Sotheby's, d'Alembert et l'Élysée.",
    "le COVID19 et Les Mills de Rio",
    "l'Organisation des Nations Unies, la Corée du Nord et le ministre Le Drian",
    "Une phrase.\n\nNouveau paragraphe Avec Majuscule\nKazakhstan Washington",
    "Kassym-Jomart Tokaïev et le Dr. Philippe Dupont",
    "Le roi Mohammed VI a reçu Louis XIV et Jean-Paul II. Le VI est là ; VI II, Henri IV.",
    "Il cite Σωκράτης, Платон et Путин ; 5 µg, 4¼ litres, ç'eut été la Straße.",
    "Le sénateur Dupont a reçu M. Smithson, puis Karlsson. Berg aussi",
]


@pytest.fixture(scope="module")
def analyzed_by_cluster(cluster_url):
    """The `french` analyzer of an index made for ANALYZED, on a real node: its tokens
    for a text (term, position)."""
    from opensearchpy import OpenSearch

    from search.opensearch.loading import cluster_snowball
    client = OpenSearch(cluster_url)
    words = {surface_form(word) for text in ANALYZED for word in re.findall(WORD_PATTERN, text)}
    client.indices.create(index="analysis-parity",
                          body=index_body(words, cluster_snowball(client)))

    def tokens(text: str) -> list[tuple[str, int]]:
        found = client.indices.analyze(index="analysis-parity",
                                       body={"analyzer": "french", "text": text})
        return [(token["token"], token["position"]) for token in found["tokens"]
                if token["token"] != PARAGRAPH_TOKEN]
    yield tokens
    client.indices.delete(index="analysis-parity")


@pytest.mark.parametrize("text", ANALYZED)
def test_the_cluster_analyzes_as_we_do(text, analyzed_by_cluster):
    theirs = analyzed_by_cluster(text)
    assert Counter(term for term, _ in theirs) == Counter(analyze(text))
    word_positions = {position for term, position in theirs
                      if not term.startswith(TRANSLITERATION_MARK)}
    assert {position for term, position in theirs
            if term.startswith(TRANSLITERATION_MARK)} <= word_positions


def test_keys_are_made_for_names_only(analyzed_by_cluster):
    terms = [term for term, _ in analyzed_by_cluster(ANALYZED[-1])]
    assert [term for term in terms if term.startswith(TRANSLITERATION_MARK)] == [
        "%dupont", "%smitson", "%karlson"]
