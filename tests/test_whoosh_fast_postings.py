"""`search.whoosh_fast.postings`: postings read a block at a time and field lengths read
at once, against what Whoosh's own reader gives."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import analyze
from search.schema import build_schema


@pytest.mark.parametrize("whole_blocks", [False, True])  # decoded by Whoosh, positions too
@pytest.mark.parametrize("deleted", [False, True])
@pytest.mark.parametrize(
    "term",  # frequencies all 1, all 2, mixed; in every document, every 7th, the 3000th
    [analyze("Kazakhstan")[0], "cooper", "sud", "ambassadeur", "visit", "3000"])
def test_postings_read_a_block_at_a_time_are_the_postings(tmp_path, monkeypatch, term,
                                                          deleted, whole_blocks):
    import re

    import search.whoosh_fast.postings
    from search.index import build
    from search.models import Article
    from search.store import open_index
    from search.whoosh_fast.postings import blocks

    if whole_blocks:  # neither our whole reading nor our reading of their start answers
        monkeypatch.setattr(search.whoosh_fast.postings, "_block_data",
                            lambda postings, head: ([], [], []))
        monkeypatch.setattr(search.whoosh_fast.postings, "_IDS_AND_WEIGHTS", re.compile(b"never"))
    # Enough documents for several posting blocks (Whoosh: 128 postings a block), numbers
    # far apart for gaps of every size.
    build([Article(id=str(n), path=f"{n}.txt", title="",
                   body=f"Visite {n * 1000} visite : coopération Sud-Sud, {'sud ' * (n % 3)}"
                        "Kazakhstan. " + ("L'ambassadrice." if n % 7 == 0 else ""))
           for n in range(300)], tmp_path / "index")
    ix = open_index(tmp_path / "index")
    if deleted:  # the segment keeps their postings, filtered out when read
        with ix.writer() as writer:
            for n in (0, 7, 130, 299):
                writer.delete_by_term("id", str(n))
    with ix.reader() as reader:
        assert reader.has_deletions() == deleted
        expected = []
        postings = reader.postings("body", term)
        while postings.is_active():
            expected.append((postings.id(), postings.weight()))
            postings.next()
        if not whole_blocks:  # every block read from its start, none left to Whoosh
            monkeypatch.setattr(search.whoosh_fast.postings, "ids_and_weights", _not_called)
        assert _read(blocks(reader, "body", term.encode())) == expected
        assert len(expected) > (0 if term == "3000" else 10)


def _not_called(*args):
    raise AssertionError("not expected to be called")


def built_blocks_index(folder):
    """Articles enough for several posting blocks, words in titles and bodies, some
    articles deleted (their postings stay until a merge)."""
    from search.index import build
    from search.models import Article
    from search.store import open_index

    build([Article(id=str(n), path=f"{n}.txt",
                   title=f"Sommet {n}" + (" sur le climat" if n % 5 == 0 else ""),
                   body=f"Visite {n} : coopération Sud-Sud, {'sud ' * (n % 3)}Kazakhstan. "
                        + ("Le climat, l'ambassadrice. " if n % 7 == 0 else "")
                        + ("Accord gazier." if n % 50 == 0 else ""))
           for n in range(400)], folder)
    ix = open_index(folder)
    with ix.writer() as writer:
        for n in (0, 7, 35, 350):
            writer.delete_by_term("id", str(n))
    return ix


@pytest.fixture(scope="module")
def blocks_index(tmp_path_factory):
    return built_blocks_index(tmp_path_factory.mktemp("blocks") / "index")


def test_field_lengths_read_at_once_are_whoosh_s(blocks_index):
    from search.whoosh_fast.postings import field_lengths, length_column

    with blocks_index.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for fieldname in ("title", "body", "dateline"):
                length = field_lengths(leaf, fieldname, length_column(leaf, fieldname))
                assert [length(docnum) for docnum in range(leaf.doc_count_all())] == [
                    leaf.doc_field_length(docnum, fieldname, 1) or 1
                    for docnum in range(leaf.doc_count_all())]


def _word_index(articles: list[dict[str, str]], segments: int = 1, deleted=(),
                blocklimit: int = 128, compact: bool = False, folder=None):
    """An index in memory (or in `folder`) of `articles` (field → text, `id` their
    number), written in `segments` segments with posting blocks of `blocklimit`, the
    `deleted` ones removed (their postings stay in their segment); by Whoosh's codec, or
    `compact`, by our writing codec (blocks pickled with protocol 3)."""
    from whoosh.codec.whoosh3 import W3Codec
    from whoosh.filedb.filestore import FileStorage, RamStorage

    from search.whoosh_fast.writer import WritingCodec

    storage = RamStorage() if folder is None else FileStorage(str(folder))
    ix = storage.create_index(build_schema())
    size = -(-len(articles) // segments)
    for start in range(0, len(articles), size):
        writer = ix.writer(codec=(WritingCodec if compact else W3Codec)(blocklimit=blocklimit))
        for number in range(start, min(start + size, len(articles))):
            writer.add_document(id=str(number), **articles[number])
        writer.commit(merge=False)
    if deleted:
        writer = ix.writer()
        for number in deleted:
            writer.delete_by_term("id", str(number))
        writer.commit(merge=False)
    return ix


@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), segments=st.integers(1, 2))
def test_postings_read_without_their_positions_are_whoosh_s(counts, blocklimit, segments):
    """Blocks of every size, with frequencies all 1, all alike, or mixed."""
    from search.whoosh_fast.postings import blocks

    ix = _word_index([{"body": "Visite. " + "Climat. " * count} for count in counts],
                     segments, blocklimit=blocklimit)
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if not leaf.doc_frequency("body", "climat"):
                continue
            expected = []
            postings = leaf.postings("body", "climat")
            while postings.is_active():
                expected.append((postings.id(), postings.weight()))
                postings.next()
            assert _read(blocks(leaf, "body", b"climat")) == expected


@given(counts=st.lists(st.integers(0, 3), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), deleted=st.sets(st.integers(0, 59), max_size=10),
       order=st.randoms(use_true_random=False))
def test_blocks_decoded_when_asked_are_whoosh_s_postings(counts, blocklimit, deleted, order):
    """`TermBlocks`: each block decoded alone, in any order, and each document's
    frequency looked up, give the postings Whoosh reads, deleted documents left out."""
    from search.whoosh_fast.postings import TermBlocks

    for leaf, expected in _climat_postings(counts, blocklimit, deleted, "weight"):
        terms = TermBlocks(leaf, "body", b"climat")
        blocks = list(range(len(terms.heads)))
        order.shuffle(blocks)
        found = {docnum: weight for at in blocks
                 for docnum, weight in zip(terms.block(at).ids, terms.block(at).weights,
                                           strict=True)}
        assert found == expected
        assert terms.all_decoded()
        assert [terms.frequency(docnum) for docnum in range(leaf.doc_count_all() + 1)] == [
            expected.get(docnum) for docnum in range(leaf.doc_count_all() + 1)]
        assert all(head.last >= max((d for d in expected if d <= head.last), default=-1)
                   for head in terms.heads)


@given(counts=st.lists(st.integers(0, 3), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), deleted=st.sets(st.integers(0, 59), max_size=10),
       decoded=st.sets(st.integers(0, 59)), span=st.tuples(st.integers(0, 61), st.integers(0, 61)))
def test_frequencies_over_decoded_blocks_are_whoosh_s(counts, blocklimit, deleted, decoded,
                                                       span):
    """`TermBlocks.decoded_over`: the frequencies of a stretch of documents, given only
    when every block that may hold one is decoded, are Whoosh's there."""
    from search.whoosh_fast.postings import TermBlocks

    first, last = min(span), max(span)
    for leaf, expected in _climat_postings(counts, blocklimit, deleted, "weight"):
        terms = TermBlocks(leaf, "body", b"climat")
        for at in decoded:
            if at < len(terms.heads):
                terms.block(at)
        found = terms.decoded_over(first, last)
        assert (found is not None) == all(terms.is_decoded(at)
                                          for at in terms.blocks_over(first, last))
        if found is not None:
            assert {docnum: found.get(docnum) for docnum in range(first, last + 1)} == {
                docnum: expected.get(docnum) for docnum in range(first, last + 1)}


@given(words=st.lists(st.lists(st.sampled_from(["climat", "visite", "accord"]), max_size=3),
                      min_size=1, max_size=40),
       segments=st.integers(1, 3), deleted=st.sets(st.integers(0, 39), max_size=8),
       asked=st.lists(st.sampled_from(["climat", "visite", "accord", "absent"]), max_size=4))
def test_documents_with_any_term_are_whoosh_s_documents(words, segments, deleted, asked):
    from whoosh import query as wq

    from search.whoosh_fast.postings import documents_with_any

    ix = _word_index([{"body": "Texte. " + " ".join(these)} for these in words], segments,
                     deleted=[n for n in deleted if n < len(words)], blocklimit=3)
    with ix.searcher() as searcher:
        expected = set(searcher.docs_for_query(wq.Or([wq.Term("body", word)
                                                       for word in asked])))
        assert documents_with_any(searcher.reader(), "body",
                                  [word.encode() for word in asked]) == expected


@given(counts=st.lists(st.integers(0, 3), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), deleted=st.sets(st.integers(0, 59), max_size=10),
       asked=st.sets(st.integers(0, 70), max_size=30))
def test_postings_moved_to_documents_are_where_whoosh_s_skip_to_moves_them(
        counts, blocklimit, deleted, asked):
    """`postings_at`: the documents asked for that have the term, each with its positions,
    as Whoosh's own matcher reads them one posting at a time."""
    from search.whoosh_fast.postings import postings_at

    for leaf, expected in _climat_postings(counts, blocklimit, deleted, "positions"):
        postings = leaf.postings("body", "climat")
        found = {docnum: postings.value_as("positions")
                 for docnum in postings_at(postings, sorted(asked))}
        assert found == {docnum: expected[docnum] for docnum in sorted(asked)
                         if docnum in expected}


@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), deleted=st.sets(st.integers(0, 59), max_size=10),
       asked=st.sets(st.integers(0, 61)))
def test_positions_at_documents_are_whoosh_s(counts, blocklimit, deleted, asked):
    """`positions_at`: the frequency and positions of a term in the documents asked (none
    deleted), as Whoosh's matcher gives them one posting at a time."""
    from search.whoosh_fast.postings import positions_at

    for leaf, expected in _climat_postings(counts, blocklimit, deleted, "positions"):
        documents = sorted(docnum for docnum in asked if not leaf.is_deleted(docnum))
        frequencies, positions = positions_at(leaf, "body", b"climat", documents)
        assert positions == {docnum: expected[docnum] for docnum in documents
                             if docnum in expected}
        # one posting a word: its frequency is its number of positions
        assert frequencies == {docnum: float(len(found)) for docnum, found in positions.items()}


@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), segments=st.integers(1, 3),
       deleted=st.sets(st.integers(0, 59), max_size=10), asked=st.sets(st.integers(0, 61)))
def test_positions_across_segments_are_whoosh_s(counts, blocklimit, segments, deleted, asked):
    """`positions_across`: the positions of a term in the documents asked (index-wide
    numbers, none deleted), as Whoosh's matcher over every segment gives them."""
    from search.whoosh_fast.postings import positions_across

    ix = _word_index([{"body": "Visite. " + "Climat. " * count} for count in counts],
                     segments, blocklimit=blocklimit,
                     deleted=[n for n in deleted if n < len(counts)])
    with ix.reader() as reader:
        expected = {}
        if ("body", b"climat") in reader:
            matcher = reader.postings("body", b"climat")
            while matcher.is_active():
                expected[matcher.id()] = matcher.value_as("positions")
                matcher.next()
        documents = sorted(docnum for docnum in asked if docnum >= reader.doc_count_all()
                           or not reader.is_deleted(docnum))
        assert positions_across(reader, "body", b"climat", documents) == {
            docnum: expected[docnum] for docnum in documents if docnum in expected}


@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), deleted=st.sets(st.integers(0, 59), max_size=10),
       compact=st.booleans())
def test_postings_with_positions_are_whoosh_s(counts, blocklimit, deleted, compact):
    """`postings_with_positions`: every posting's frequency and positions, deleted documents
    left out, as Whoosh's matcher gives them; None for blocks of Whoosh's protocol 2."""
    from search.whoosh_fast.postings import positions_of, postings_with_positions

    ix = _word_index([{"body": "Visite. " + "Climat. " * count} for count in counts],
                     blocklimit=blocklimit, deleted=[n for n in deleted if n < len(counts)],
                     compact=compact)
    with ix.reader() as top:
        for leaf, _ in top.leaf_readers():
            if ("body", b"climat") not in leaf:
                continue
            expected, frequencies = {}, {}
            matcher = leaf.postings("body", b"climat")
            while matcher.is_active():
                expected[matcher.id()] = matcher.value_as("positions")
                frequencies[matcher.id()] = matcher.weight()
                matcher.next()
            found = postings_with_positions(leaf, "body", b"climat")
            if not compact:
                assert found is None
                continue
            assert found[0] == frequencies
            assert positions_of(found[1], sorted(found[0])) == expected


@given(positions=st.lists(st.integers(0, 10**6), max_size=30, unique=True),
       stopped=st.booleans())
def test_positions_decoded_as_whoosh_decodes_them(positions, stopped):
    """One value's gaps (`_gaps`, where values are not unpickled together), added up,
    with or without the final STOP byte."""
    from itertools import accumulate

    from whoosh.formats import Positions

    from search.whoosh_fast.postings import _gaps

    encoded = Positions().encode(sorted(positions))
    encoded = encoded if stopped else encoded[:-1]
    assert list(accumulate(_gaps(encoded))) == Positions().decode_positions(encoded) == sorted(
        positions)


@given(lists=st.lists(st.lists(st.integers(0, 10**6), max_size=30, unique=True), max_size=20),
       stopped=st.lists(st.booleans(), min_size=20, max_size=20))
def test_positions_decoded_together_as_whoosh_decodes_each(lists, stopped):
    """`_decoded_positions_of`, one unpickling for several position lists, each written
    with or without its final STOP byte."""
    from whoosh.formats import Positions

    from search.whoosh_fast.postings import _decoded_positions_of

    encoded = [Positions().encode(sorted(found)) for found in lists]
    encoded = [value if keep else value[:-1] for value, keep in zip(encoded, stopped, strict=False)]
    assert _decoded_positions_of(encoded) == [
        Positions().decode_positions(value) for value in encoded] == [
        sorted(found) for found in lists]


def _read(found) -> list[tuple[int, float]]:
    """(document, term frequency) of every posting of `blocks`, in order."""
    return [posting for block in found
            for posting in zip(block.ids, block.weights, strict=True)]


def _climat_postings(counts, blocklimit, deleted, value: str):
    """(segment reader, {document: its `value` of `climat`}) of an index where article n
    has `climat` counts[n] times, as Whoosh reads them one posting at a time."""
    ix = _word_index([{"body": "Visite. " + "Climat. " * count} for count in counts],
                     blocklimit=blocklimit, deleted=[n for n in deleted if n < len(counts)])
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if not leaf.doc_frequency("body", "climat"):
                continue
            expected = {}
            postings = leaf.postings("body", "climat")
            while postings.is_active():
                expected[postings.id()] = postings.value_as(value)
                postings.next()
            yield leaf, expected
