"""`search.whoosh_fast.lists`: a segment's long posting lists, written beside it as raw
arrays, give Whoosh's postings, and queries read from them answer as from the blocks."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import analyze
from search.errors import IndexCorruptError
from search.index import rebuild, update
from search.searcher import open_searcher
from search.store import CURRENT, check
from search.whoosh_fast import lists

from .test_whoosh_fast_postings import _word_index


@given(ids=st.sets(st.integers(0, 300_000), max_size=300),
       top=st.sampled_from([1, 255, 256, 65_535]), data=st.data())
def test_a_list_is_decoded_as_it_was_encoded(ids, top, data):
    ids = np.array(sorted(ids), dtype=np.int64)
    frequencies = np.array(data.draw(st.lists(st.integers(1, top), min_size=len(ids),
                                              max_size=len(ids))), dtype=np.float64)
    encoded, width, highs = lists.encoded(ids, frequencies)
    assert width == (1 if len(ids) == 0 or frequencies.max() < 256 else 2)
    assert len(encoded) % 2 == 0 and sum(highs) == len(ids)
    found_ids, found_frequencies = lists.decoded(encoded, len(ids), width, highs)
    assert found_ids.tolist() == ids.tolist()
    assert found_frequencies.tolist() == frequencies.tolist()


def _public_postings(leaf, fieldname: str, text: bytes
                     ) -> tuple[list[int], list[float], list[int]]:
    """A term's postings as Whoosh's matcher steps through them (deleted ones left out),
    with every document's positions one after the other."""
    postings = leaf.postings(fieldname, text)
    ids, weights, positions = [], [], []
    while postings.is_active():
        ids.append(postings.id())
        weights.append(postings.weight())
        positions += postings.value_as("positions")
        postings.next()
    return ids, weights, positions


@given(counts=st.lists(st.integers(0, 300), min_size=1, max_size=40),
       segments=st.integers(1, 2), deleted=st.sets(st.integers(0, 39), max_size=5),
       compact=st.booleans())
def test_the_written_lists_are_whoosh_s_postings(tmp_path_factory, counts, segments, deleted,
                                                 compact):
    """Every list of a segment's scored fields that reaches `LIST_POSTINGS` (here 3) is
    written, with Whoosh's documents and frequencies (from 1 to 300: one byte or two),
    and with its positions in the fields asked for, when the blocks are ours (protocol 3:
    their positions read with them), decoded two blocks of three postings at a time."""
    from unittest import mock

    from search.whoosh_fast.reading import MappedStorage

    folder = tmp_path_factory.mktemp("lists")
    _word_index([{"body": "Visite. " + "Climat. " * count, "surface_body": "le " * count}
                 for count in counts], segments, [n for n in deleted if n < len(counts)],
                blocklimit=3, compact=compact, folder=folder)
    with mock.patch.multiple(lists, LIST_POSTINGS=3, _BLOCKS_AT_ONCE=2), \
            MappedStorage(str(folder)).open_index().reader() as reader:
        for leaf, _ in reader.leaf_readers():
            written = lists.write(lists.lists_file(folder, leaf), leaf, ["surface_body"])
            found = lists.of_reader(leaf)
            assert written == (found is not None)
            for fieldname in ("body", "surface_body"):
                for text in leaf.lexicon(fieldname):
                    ids, weights, positions = _public_postings(leaf, fieldname, text)
                    if leaf.doc_frequency(fieldname, text) < 3 or not ids:
                        assert found is None or not found.holds(fieldname, text)
                        continue
                    found_ids, frequencies = found.postings(fieldname, text)
                    assert (found_ids.tolist(), frequencies.tolist()) == (ids, weights)
                    with_positions = found.with_positions(fieldname, text)
                    if fieldname == "body" or not compact:
                        assert with_positions is None
                    else:
                        assert with_positions[2].tolist() == positions


QUERIES = ["ministre", "visite", "Lomé", "ministre visite", "ministre numéro", "vis*",
           "visit~", "ministre OR étape", '"la visite"', '"ministre est arrivé"',
           "ministre -visite", "arrivé title:dépêche", "dépêche"]


def _answers(index_dir: Path) -> dict:
    with open_searcher(index_dir) as searcher:
        found = {}
        for text in QUERIES:
            for copies in (False, True):
                results = searcher.search(text, limit=7, copies=copies)
                found[text, copies] = (results.total, results.total_exact, [
                    (hit.id, hit.score, hit.copies, str(hit.snippet)) for hit in results.hits])
        return found


@pytest.fixture
def arrays_always(monkeypatch):
    """Lists of any length matched as numpy arrays."""
    from search.whoosh_fast import matchers

    monkeypatch.setattr(matchers, "ARRAY_POSTINGS", 0)
    monkeypatch.setattr(matchers, "LOADING_POSTINGS", 0)


def _built(corpus: Path, index_dir: Path, list_postings: int, monkeypatch) -> Path:
    monkeypatch.setattr(lists, "LIST_POSTINGS", list_postings)
    rebuild([corpus], index_dir)
    return index_dir


def _lists_files(index_dir: Path) -> list[Path]:
    return sorted((index_dir / (index_dir / CURRENT).read_text().strip()).glob(
        f"*{lists.LISTS_SUFFIX}"))


def test_queries_answer_from_the_lists_as_from_the_blocks(tmp_path, block_corpus, monkeypatch,
                                                         arrays_always):
    """The same hits, scores, copies, snippets and totals, before and after an update
    that deletes an article from the first segment and writes a second."""
    with_lists = _built(block_corpus, tmp_path / "with", 20, monkeypatch)
    without = _built(block_corpus, tmp_path / "without", 10**9, monkeypatch)
    assert len(_lists_files(with_lists)) == 1 and not _lists_files(without)
    assert _answers(with_lists) == _answers(without)

    (block_corpus / "007.txt").write_text("Dépêche 7\n\nLe ministre est parti de Lomé.",
                                          encoding="utf-8")
    for index_dir in (with_lists, without):
        monkeypatch.setattr(lists, "LIST_POSTINGS", 20 if index_dir == with_lists else 10**9)
        update([block_corpus], index_dir)
    # the new segment has no long list; the old one's file came along
    assert len(_lists_files(with_lists)) == 1
    assert _answers(with_lists) == _answers(without)


def test_a_lists_file_goes_with_its_segment(tmp_path, block_corpus, monkeypatch):
    """Whoosh removes a segment's files when it merges it away: its lists too."""
    index_dir = _built(block_corpus, tmp_path / "index", 2, monkeypatch)
    for n in range(12):  # enough small segments for Whoosh to merge them
        (block_corpus / f"new{n}.txt").write_text(
            f"Dépêche nouvelle {n}\n\nLe ministre est arrivé à Lomé.", encoding="utf-8")
        update([block_corpus], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    segments = {path.name.split(".")[0] for path in generation.glob("*.seg")}
    assert {path.name.split(".")[0] for path in _lists_files(index_dir)} <= segments
    assert len(_lists_files(index_dir)) >= 1


def _flipped_in_list(data: bytes) -> bytes:
    """One bit of the list of `ministre` in the body flipped (the layout's directory read
    as the module's docstring gives it)."""
    at = int.from_bytes(data[-16:-8], "little")
    [offset, *_] = json.loads(data[at:-16])["body"][analyze("ministre")[0]]
    return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1:]


def _flipped_in_positions(data: bytes) -> bytes:
    """One bit of the positions of `la` as written flipped."""
    at = int.from_bytes(data[-16:-8], "little")
    offset = json.loads(data[at:-16])["surface_body"]["la"][5]
    return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1:]


@pytest.mark.parametrize(("damage", "text"), [
    (_flipped_in_list, "ministre visite"),
    (_flipped_in_positions, '"la visite"'),
    (lambda data: data[:-20] + b"}" + data[-19:], "ministre visite"),  # its directory
    (lambda data: data[:-1] + b"!", "ministre visite"),  # its closing magic
    (lambda data: b"X" + data[1:], "ministre visite"),  # its opening magic
], ids=["list", "positions", "directory", "end", "start"])
def test_a_garbled_lists_file_of_its_size_is_one_clear_error(tmp_path, block_corpus,
                                                             monkeypatch, arrays_always, damage,
                                                             text):
    index_dir = _built(block_corpus, tmp_path / "index", 20, monkeypatch)
    [path] = _lists_files(index_dir)
    data = path.read_bytes()
    path.write_bytes(damage(data))
    assert path.stat().st_size == len(data)  # not seen by the checks made at every opening
    with pytest.raises(IndexCorruptError) as raised:
        with open_searcher(index_dir) as searcher:
            searcher.search(text)
    assert re.fullmatch(rf"The index in {re.escape(str(index_dir))}/ could not be read "
                        r"\(CorruptIndexError\)\. Run `search rebuild` to rebuild it\.",
                        str(raised.value))
    assert check(index_dir).problems != ()
