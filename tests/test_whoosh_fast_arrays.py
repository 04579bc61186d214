"""`search.whoosh_fast.arrays`: posting lists as numpy arrays give what the Python paths
give, scores to the last bit."""

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .test_whoosh_fast_postings import _word_index


@pytest.mark.parametrize(("lists", "expected"), [
    ([], []),
    ([[1, 5, 9]], [1, 5, 9]),
    ([[1, 5, 9], [2, 5, 10]], [1, 2, 5, 9, 10]),
    ([[3], [], [1, 3, 4], [4]], [1, 3, 4]),
])
def test_united(lists, expected):
    from search.whoosh_fast.arrays import united

    assert united([np.array(ids, dtype=np.int64) for ids in lists]).tolist() == expected


@pytest.mark.parametrize(("documents", "others", "expected"), [
    ([1, 5, 9], [2, 5, 9, 11], [5, 9]),
    ([1, 2], [3, 4], []),
    ([], [1], []),
])
def test_intersection(documents, others, expected):
    from search.whoosh_fast.arrays import intersection

    assert intersection(np.array(documents, dtype=np.int64),
                        np.array(others, dtype=np.int64)).tolist() == expected


def _climat_index(counts, segments, deleted=()):
    """An index whose article n has `Climat.` counts[n][0] times in its body and
    `Sommet.` counts[n][1] times: fields of every length."""
    return _word_index([{"body": "Climat. " * count + "Sommet. " * other}
                        for count, other in counts], segments, deleted=deleted)


@given(counts=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30)), min_size=1,
                       max_size=40),
       segments=st.integers(1, 2), boost=st.sampled_from([1.0, 0.5, 2.5]),
       deleted=st.sets(st.integers(0, 39), max_size=5))
def test_a_term_s_postings_and_scores_are_the_python_paths(counts, segments, boost, deleted):
    """`read` gives the postings `postings.blocks` gives, deleted documents left out, and
    `scores` the scores `TermScorer` gives them, bit for bit."""
    from search.whoosh_fast.arrays import read, scores
    from search.whoosh_fast.matchers import TermScorer
    from search.whoosh_fast.postings import blocks

    ix = _climat_index(counts, segments, deleted=[n for n in deleted if n < len(counts)])
    with ix.searcher() as searcher:
        for leaf, _ in searcher.leaf_searchers():
            if (("body", b"climat")) not in leaf.reader():
                continue
            expected_ids, expected_weights = [], []
            for block in blocks(leaf.reader(), "body", b"climat"):
                expected_ids += block.ids
                expected_weights += block.weights
            postings = read(leaf.reader(), "body", b"climat")
            assert postings.ids.tolist() == expected_ids
            assert postings.weights.tolist() == expected_weights
            scorer = TermScorer(leaf, "body", b"climat", boost)
            assert scores(scorer, postings.ids, postings.weights).tolist() == [
                scorer.score(docnum, tf) for docnum, tf in zip(expected_ids, expected_weights,
                                                                strict=True)]


def test_a_document_past_the_length_column_has_length_one():
    """A document numbered past a field's length column (the field empty in every later
    article) is scored with the length Whoosh reads for it, as `TermScorer` scores it."""
    from search.whoosh_fast.arrays import scores
    from search.whoosh_fast.matchers import TermScorer
    from search.whoosh_fast.postings import length_column

    ix = _word_index([{"body": "Climat sommet."}, {"title": "Climat."}, {"title": "Sommet."}])
    with ix.searcher() as searcher:
        scorer = TermScorer(searcher, "body", b"climat", 1.0)
        past = np.array([len(length_column(searcher.reader(), "body")) + 1], dtype=np.int64)
        assert scores(scorer, past, np.array([2.0])).tolist() == [scorer.score(past[0], 2.0)]


@given(terms=st.lists(st.dictionaries(st.integers(0, 30), st.floats(0.01, 50.0), max_size=12),
                      min_size=1, max_size=6))
def test_sums_are_summed_into_s(terms):
    """A document's sum over several terms, added in the terms' order, is the sum that
    `queries.summed_into` adds term after term, bit for bit."""
    from search.whoosh_fast import arrays
    from search.whoosh_fast.queries import summed_into

    expected: dict[int, float] = {}
    for found in terms:
        summed_into(expected, dict(found))
    scored = [(np.array(sorted(found), dtype=np.int64),
               np.array([found[docnum] for docnum in sorted(found)])) for found in terms]
    assert arrays.as_dict(arrays.summed(scored)) == expected


@pytest.mark.parametrize(("words", "expected"), [
    # "climat sommet": climat at p, sommet at p + 1
    ([(0, {1: [0, 5], 2: [3]}), (1, {1: [6], 2: [3]})], [1]),
    # "le le": the same positions, one apart
    ([(0, {1: [2, 3], 2: [4, 9]}), (1, {1: [2, 3], 2: [4, 9]})], [1]),
    # words 0 and 2 of a phrase whose word 1 is read later: two apart
    ([(0, {1: [0], 2: [7]}), (2, {1: [2], 2: [8]})], [1]),
    # a word at position 0 that a word before it in the phrase would need before it
    ([(0, {1: [4], 2: [0]}), (1, {1: [5], 2: [0]})], [1]),
])
def test_in_phrase(words, expected):
    from search.whoosh_fast.arrays import Positions, in_phrase

    assert in_phrase([1, 2], [(place, Positions.of_lists([1, 2], positions))
                              for place, positions in words]) == expected
    # the positions of more documents than asked about: those of the others are left out
    assert in_phrase([2], [(place, Positions.of_lists([1, 2], positions))
                           for place, positions in words]) == [n for n in expected if n == 2]


@given(lists=st.lists(st.lists(st.integers(0, 500), min_size=1, max_size=8, unique=True)
                      .map(sorted), max_size=12),
       kept=st.sets(st.integers(0, 11)))
def test_positions_from_gaps_are_the_lists(lists, kept):
    """Positions added up at once from each document's gaps (the first, its first
    position) are each document's positions; `among` keeps some documents' positions."""
    from search.whoosh_fast.arrays import Positions

    documents = list(range(10, 10 + len(lists)))
    gaps = [[found[0], *(b - a for a, b in pairwise(found))] for found in lists]
    added = Positions.of_gaps(documents, gaps)
    expected = Positions.of_lists(documents, dict(zip(documents, lists, strict=True)))
    assert (added.counts.tolist(), added.flat.tolist()) == (
        expected.counts.tolist(), expected.flat.tolist()) == (
        [len(found) for found in lists], [p for found in lists for p in found])
    some = [docnum for at, docnum in enumerate(documents) if at in kept]
    assert added.among(some).flat.tolist() == [
        p for at, found in enumerate(lists) if at in kept for p in found]


@given(scores=st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]), max_size=60),
       limit=st.integers(1, 12))
def test_the_best_of_arrays_hold_the_best_by_score_then_lowest_number(scores, limit):
    """`best_of` keeps what Whoosh's collector would keep of every document: the best
    `limit` by score, the lowest number first among equal scores."""
    import heapq

    from search.whoosh_fast.arrays import best_of

    documents = np.arange(0, 3 * len(scores), 3, dtype=np.int64)
    ids, kept = best_of(documents, np.array(scores), limit)
    assert len(ids) == min(limit, len(scores))
    every = zip(documents.tolist(), scores, strict=True)
    assert heapq.nlargest(limit, ((score, -docnum) for docnum, score in every)) == \
        heapq.nlargest(limit, ((score, -docnum) for docnum, score in zip(ids, kept, strict=True)))


@given(positions=st.dictionaries(st.integers(0, 200), st.lists(st.integers(0, 70_000),
                                                                 max_size=6).map(sorted),
                                 max_size=30),
       data=st.data())
def test_the_positions_among_some_documents_are_theirs(positions, data):
    """`Positions.among` gathers the positions of the documents asked for only, from
    positions stored as unsigned 16 or 32 bits as from Python's integers."""
    from search.whoosh_fast.arrays import Positions

    documents = sorted(positions)
    among = sorted(data.draw(st.sets(st.sampled_from(documents))) if documents else [])
    whole = Positions.of_lists(documents, positions)
    dtype = data.draw(st.sampled_from([np.int64, np.uint32]))
    stored = Positions(whole.documents, whole.counts, whole.flat.astype(dtype))
    found = stored.among(np.array(among, dtype=np.int64))
    assert found.documents.tolist() == among
    assert found.counts.tolist() == [len(positions[docnum]) for docnum in among]
    assert found.flat.tolist() == [at for docnum in among for at in positions[docnum]]
