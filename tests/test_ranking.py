import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.index import build, update
from search.models import Article
from search.query import parse_query
from search.ranking import (
    COVERAGE_WEIGHT,
    OPENING_POSITIONS,
    OPENING_WEIGHT,
    PROXIMITY_WEIGHT,
    PROXIMITY_WINDOW,
    RERANK_DEPTH,
    idf,
    positional_boost,
    reranked,
)
from search.schema import build_schema
from search.searcher import _ranked_terms, open_searcher, search

LATE = OPENING_POSITIONS + 10
SAME_IDF = {"accord": 1.0, "gazi": 1.0}
QUERY = ["accord", "gazi"]


@pytest.mark.parametrize(
    "positions, expected",
    [
        ({}, 1.0),
        ({"accord": [LATE]}, 1 + COVERAGE_WEIGHT / 2),
        ({"accord": [0]}, 1 + (OPENING_WEIGHT + COVERAGE_WEIGHT) / 2),
        ({"accord": [LATE], "gazi": [LATE + 20]}, 1 + COVERAGE_WEIGHT),
        # In the query's order, within the window: the rarer word's IDF over the distance.
        ({"accord": [LATE], "gazi": [LATE + 1]}, 1 + COVERAGE_WEIGHT + PROXIMITY_WEIGHT / 2),
        ({"accord": [LATE], "gazi": [LATE + 2]}, 1 + COVERAGE_WEIGHT + PROXIMITY_WEIGHT / 4),
        ({"accord": [LATE], "gazi": [LATE + PROXIMITY_WINDOW + 1]}, 1 + COVERAGE_WEIGHT),
        ({"accord": [LATE + 1], "gazi": [LATE]}, 1 + COVERAGE_WEIGHT),
        # The closest pair counts, wherever it is.
        ({"accord": [LATE, LATE + 30], "gazi": [LATE + 3, LATE + 31]},
         1 + COVERAGE_WEIGHT + PROXIMITY_WEIGHT / 2),
        ({"accord": [0], "gazi": [1]},
         1 + OPENING_WEIGHT + COVERAGE_WEIGHT + PROXIMITY_WEIGHT / 2),
    ],
)
def test_positional_boost(positions, expected):
    assert positional_boost(QUERY, SAME_IDF, positions) == pytest.approx(expected)


def test_a_rare_word_weighs_more_than_a_common_one():
    idf = {"accord": 1.0, "gazi": 3.0}
    assert positional_boost(QUERY, idf, {"gazi": [LATE]}) > positional_boost(
        QUERY, idf, {"accord": [LATE]})


def test_a_query_repeating_words_in_a_new_order_stays_bounded():
    boost = positional_boost(list("cbcbcb"), {"b": 1.0, "c": 1.0}, {"b": [1, 3], "c": [0, 2]})
    assert boost == pytest.approx(1 + OPENING_WEIGHT + PROXIMITY_WEIGHT + COVERAGE_WEIGHT)


@pytest.mark.parametrize(
    "text, terms",
    [
        ("accord gazier", ["accord", "gazi"]),
        ('"accord gazier" Moscou', ["accord", "gazi", "moscou"]),
        ("l'accord (gazier OR pétrolier)", ["accord", "gazi", "petroli"]),
        # excluded words, other zones, truncated and fuzzy words are not re-scored
        ("accord -gazier", ["accord"]),
        ("accord NOT gazier", ["accord"]),
        ("title:accord gazier", ["gazi"]),
        ("parlementair* Tachkent", ["tachk"]),
        ("Tokaiev~ Astana", ["astan"]),
    ],
)
def test_words_the_second_stage_reads(text, terms):
    assert _ranked_terms(parse_query(text, build_schema())) == terms


def test_a_query_of_unknown_words_changes_nothing():
    assert positional_boost(["inconnu"], {"inconnu": 0.0}, {}) == 1.0


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6),
    st.dictionaries(st.sampled_from(["a", "b", "c"]),
                    st.lists(st.integers(0, 200), min_size=1, max_size=5, unique=True)
                    .map(sorted)),
)
def test_boost_is_bounded(query, positions):
    idf = {"a": 0.5, "b": 2.0, "c": 7.0}
    boost = positional_boost(query, idf, positions)
    assert 1.0 <= boost <= 1 + OPENING_WEIGHT + COVERAGE_WEIGHT + PROXIMITY_WEIGHT + 1e-9


# Two articles with the same words, so the same BM25 score: in one, the query's words
# open the article side by side; in the other they come late and apart.
FILLER = ("ministre visite capitale entretien delegation cooperation echanges commerce "
          "energie transport frontiere sommet").split() * 8


def body(*insertions: tuple[int, str]) -> str:
    words = list(FILLER)
    for position, word in sorted(insertions):
        words.insert(position, word)
    return " ".join(words)


OPENING = body((0, "accord"), (1, "gazier"))
SCATTERED = body((LATE, "accord"), (LATE + 20, "gazier"))


def test_words_side_by_side_in_the_opening_rank_first(tmp_path):
    index_dir = tmp_path / "index"
    build([Article(id="scattered", path="a.txt", title="", body=SCATTERED),
           Article(id="opening", path="b.txt", title="", body=OPENING)], index_dir)
    assert [hit.id for hit in search(index_dir, "accord gazier").hits] == ["opening", "scattered"]
    with open_searcher(index_dir) as searcher:
        assert [doc_id for doc_id, _ in searcher.rank_words("accord gazier")] == [
            "opening", "scattered"]


def test_positions_are_read_across_segments(tmp_path):
    # Each `update` commits a segment of its own: the searcher reads two.
    index_dir = tmp_path / "index"
    for name, doc_id, text in (("1.jsonl", "scattered", SCATTERED),
                                ("2.jsonl", "opening", OPENING)):
        record = {"id": doc_id, "title": "Dépêche", "text": text}
        (path := tmp_path / name).write_text(json.dumps(record) + "\n", "utf-8")
        update([path], index_dir)
    hits = search(index_dir, "accord gazier").hits
    assert [hit.id for hit in hits] == ["2.jsonl#opening", "1.jsonl#scattered"]
    assert hits[0].score > hits[1].score


def test_date_order_is_not_reranked(tmp_path):
    index_dir = tmp_path / "index"
    build([Article(id="opening", path="a.txt", title="", body=OPENING, date="2020"),
           Article(id="scattered", path="b.txt", title="", body=SCATTERED, date="2021")],
          index_dir)
    assert [hit.id for hit in search(index_dir, "accord gazier", sort="date").hits] == [
        "scattered", "opening"]


def test_more_hits_than_are_re_scored(tmp_path):
    index_dir = tmp_path / "index"
    build([Article(id=str(n), path=f"{n}.txt", title="", body=f"Le climat, numéro {n}. " * (n + 1))
           for n in range(50)], index_dir)
    assert len(search(index_dir, "climat", limit=45).hits) == 45
    with open_searcher(index_dir) as searcher:
        assert len(searcher.rank_words("climat", limit=45)) == 45


@pytest.mark.parametrize(("candidates", "positions", "expected"), [
    # Side by side in the opening lifts "near" above a slightly better BM25 score.
    ([(1.2, "far"), (1.0, "near")], {"far": {"accord": [LATE]}, "near": {
        "accord": [0], "gazi": [1]}}, ["near", "far"]),
    # Ties keep their order.
    ([(1.0, "x"), (1.0, "y")], {"x": {"accord": [0]}, "y": {"accord": [0]}}, ["x", "y"]),
    # Beyond RERANK_DEPTH, candidates keep their place below the re-scored ones.
    ([(2.0 - n / 100, n) for n in range(RERANK_DEPTH + 2)], {RERANK_DEPTH + 1: {
        "accord": [0], "gazi": [1]}}, list(range(RERANK_DEPTH + 2))),
])
def test_reranked(candidates, positions, expected):
    assert [key for _, key in reranked(candidates, QUERY, SAME_IDF, positions)] == expected


def test_idf_is_whooshs(tmp_path):
    """A backend that counts articles itself gets the IDF the Whoosh reader reads."""
    index_dir = tmp_path / "index"
    build([Article(id=str(n), path="a.txt", title="", body=body) for n, body in enumerate(
        ["accord gazier", "accord", "autre chose"])], index_dir)
    with open_searcher(index_dir) as reader:
        searcher = reader._searcher
        for term in ("accord", "gazi", "absent"):
            assert idf(3, searcher.doc_frequency("body", term)) == pytest.approx(
                searcher.idf("body", term))
