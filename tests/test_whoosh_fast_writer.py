"""`search.whoosh_fast.writer`: our faster writing writes what Whoosh's own writer writes."""

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import index as index_module
from search import store as store_module
from search.copies import signature
from search.index import rebuild
from search.whoosh_fast import writer as writer_module
from search.whoosh_fast.reading import misfit_columns

from .conftest import index_content, write_export


def test_the_writing_codec_writes_what_whoosh_s_own_writes(tmp_path, monkeypatch, block_corpus):
    from whoosh.codec.whoosh3 import W3Codec

    corpus = block_corpus
    rebuild([corpus], tmp_path / "ours")
    monkeypatch.setattr(writer_module, "WritingCodec", W3Codec)
    rebuild([corpus], tmp_path / "whoosh")
    assert (index_content(store_module.open_index(tmp_path / "ours"))
            == index_content(store_module.open_index(tmp_path / "whoosh")))


@pytest.mark.parametrize("word", ["ministre", "visite"])  # frequencies all 1; mixed
def test_posting_blocks_are_pickled_with_bytes_as_bytes(tmp_path, block_corpus, word):
    """Our writer pickles a block with protocol 3 (its positions as bytes, not as calls);
    Whoosh's reader reads it as the one Whoosh writes (the test above)."""
    import zlib

    from search.analysis import analyze
    from search.whoosh_fast.postings import _heads

    term = analyze(word)[0]
    rebuild([block_corpus], tmp_path / "index")
    with store_module.open_index(tmp_path / "index").reader() as top:
        blocks = 0
        for reader in [reader for reader, _ in top.leaf_readers()] or [top]:
            postings = reader.postings("body", term)
            postings = getattr(postings, "child", postings)
            for head in _heads(postings):
                data = postings._postfile.get(head.data, head.end - head.data)
                data = zlib.decompress(data) if head.compression else data
                assert data[:2] == bytes([0x80, writer_module.BLOCK_PROTOCOL]) == b"\x80\x03"
                assert head.protocol == 3  # its header's, read where the header is
                blocks += 1
        assert blocks > 1


def _whoosh_s_own_writer(ix):
    from whoosh.codec.whoosh3 import W3Codec
    from whoosh.writing import SegmentWriter

    return SegmentWriter(ix, limitmb=writer_module.WRITER_LIMIT_MB, codec=W3Codec())


@pytest.mark.parametrize("limit_mb, max_runs, runs", [
    (256, 128, range(0, 1)),  # every posting in memory
    (0.05, 128, range(2, 129)),  # postings written to runs, then merged
    (0.05, 2, range(3, 1000)),  # more runs than are read at once: the oldest merged first
])
def test_postings_pooled_by_term_are_whoosh_s_postings(tmp_path, monkeypatch, block_corpus,
                                                       limit_mb, max_runs, runs):
    monkeypatch.setattr(writer_module, "SUB_WRITERS", False)
    monkeypatch.setattr(writer_module, "WRITER_LIMIT_MB", limit_mb)
    monkeypatch.setattr(writer_module.TermPool, "max_runs", max_runs)
    saves = []
    save = writer_module.TermPool.save
    monkeypatch.setattr(writer_module.TermPool, "save",
                        lambda pool: saves.append(bool(pool.terms)) or save(pool))
    rebuild([block_corpus], tmp_path / "ours")
    assert sum(saves) in runs
    monkeypatch.setattr(index_module, "new_writer", _whoosh_s_own_writer)
    rebuild([block_corpus], tmp_path / "whoosh")
    assert (index_content(store_module.open_index(tmp_path / "ours"))
            == index_content(store_module.open_index(tmp_path / "whoosh")))


LONG = ("Le ministre des affaires étrangères a reçu son homologue pour parler de la coopération "
        "énergétique, des transports, de la pêche et de la sécurité au Sahel, avant une "
        "commission mixte prévue à Rabat le mois prochain.")


@pytest.mark.parametrize("ours", [True, False])
@pytest.mark.parametrize("records, column, expected", [
    # one copy signature, then articles too short for one: the filling grows the offsets
    # from one byte to two
    ([{"id": "1", "article": LONG}, *({"id": f"{n}", "article": "Brève."}
                                      for n in range(2, 140))],
     "copy_signature", lambda record: signature(record["article"])),
    # 26 dates of 10 bytes, the last ending past 255, then undated articles
    ([*({"id": f"{n}", "date": "2020-05-02", "article": "Brève."} for n in range(26)),
      *({"id": f"u{n}", "article": "Brève."} for n in range(40))],
     "date", lambda record: record.get("date")),
])
def test_a_column_whose_last_documents_have_no_value_reads_right(
        tmp_path, monkeypatch, records, column, expected, ours):
    """Whoosh writes a column's offsets before filling the documents after its last value
    (its own writer gets it wrong, which the test shows, and `search check` finds);
    offsets written from the first document, as Whoosh writes them past 32,768."""
    from whoosh import columns
    from whoosh.codec.whoosh3 import W3Codec

    monkeypatch.setattr(columns.VarBytesColumn.__init__, "__defaults__", (True, 0))
    monkeypatch.setattr(columns.VarBytesColumn.Writer.__init__, "__defaults__", (True, 0))
    monkeypatch.setattr(writer_module, "SUB_WRITERS", False)
    if not ours:
        monkeypatch.setattr(writer_module, "WritingCodec", W3Codec)
    export = tmp_path / "export.jsonl"
    write_export(export, records)
    rebuild([export], tmp_path / "index")
    with store_module.open_index(tmp_path / "index").reader() as reader:
        assert reader.is_atomic()
        values = reader.column_reader(column)
        found = {reader.stored_fields(docnum)["id"]: values[docnum] or None
                 for docnum in range(reader.doc_count_all())}
        misfit = misfit_columns(reader)
    wanted = {f"export.jsonl#{record['id']}": expected(record) for record in records}
    assert (found == wanted) is ours
    assert misfit == ([] if ours else [
        f"segment 0, column {column!r}: lengths and offsets do not fit its bytes"])
    problems = store_module.check(tmp_path / "index").problems
    assert problems == (() if ours else (
        f"The index in {tmp_path / 'index'}{os.sep} is damaged (segment 0, column "
        f"{column!r}: lengths and offsets do not fit its bytes). Run `search rebuild` to "
        "rebuild it.",))


class _KeptOpen(io.BytesIO):
    def close(self) -> None:  # the writer closes its file: its bytes are read after
        pass


def _term_table(keys: list[bytes], compact: bool) -> bytes:
    from whoosh.filedb.filetables import OrderedHashWriter
    from whoosh.filedb.structfile import StructFile

    from search.whoosh_fast.writer import CompactTermTable

    buffer = _KeptOpen()
    writer = OrderedHashWriter(StructFile(buffer))
    if compact:
        CompactTermTable.replacing(writer)
    writer.extras["fieldmap"] = {"body": 0}
    for number, key in enumerate(keys):
        writer.add(key, number.to_bytes(3, "big") * (number % 4))
    writer.close()
    return buffer.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.sets(st.binary(min_size=1, max_size=12), max_size=700))
def test_a_compact_term_table_is_whoosh_s_byte_for_byte(keys):
    ordered = sorted(keys)
    assert _term_table(ordered, compact=True) == _term_table(ordered, compact=False)


def test_a_compact_term_table_refuses_keys_out_of_order():
    with pytest.raises(ValueError):
        _term_table([b"rabat", b"maroc"], compact=True)
