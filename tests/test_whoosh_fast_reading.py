"""`search.whoosh_fast.reading`: an index read through our mapped storage reads as Whoosh
reads it through its own."""

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import columns
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile

from search.index import rebuild, update
from search.store import CURRENT
from search.whoosh_fast import reading
from search.whoosh_fast.reading import MappedStorage, remember_term_keys

from .conftest import index_content


def test_a_mapped_index_reads_as_whoosh_reads_it(tmp_path, block_corpus):
    corpus = block_corpus
    rebuild([corpus], tmp_path / "index")
    (corpus / "300.txt").write_text("Dépêche\n\nUn seul mot : Cotonou.", encoding="utf-8")
    (corpus / "007.txt").unlink()
    update([corpus], tmp_path / "index")  # a second segment, and a deleted article
    generation = str(tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip())
    whoosh_ix = FileStorage(generation).open_index()
    assert len(whoosh_ix._segments()) == 2 and whoosh_ix.doc_count() == 300
    expected = index_content(whoosh_ix)
    assert len(expected) > 1000
    assert index_content(MappedStorage(generation).open_index()) == expected


def test_an_index_reads_alike_once_its_pages_are_given_back(tmp_path, block_corpus):
    """`release_pages` drops the pages read from the process, not what they hold."""
    rebuild([block_corpus], tmp_path / "index")
    generation = str(tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip())
    storage = MappedStorage(generation)
    ix = storage.open_index()
    expected = index_content(ix)
    storage.release_pages()
    assert index_content(ix) == expected


def test_an_empty_file_is_opened_without_a_map(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert MappedStorage(str(tmp_path)).open_file("empty").read() == b""


def term_answers(reader) -> list:
    """Whoosh's public answers that go through a term table's binary search."""
    words = ["ministre", "lome", "visite", "numero", "zzz", "a", "depeche", "etape"]
    return [
        [sorted(reader.terms_within("body", word, maxdist, prefix))
         for word in words for maxdist in (1, 2) for prefix in (0, 1)],
        [list(reader.expand_prefix("body", word[:2])) for word in words],
        [(word, reader.frequency("body", word), reader.doc_frequency("body", word))
         for word in words],
        [("body", word) in reader for word in words],
    ]


def test_remembered_term_keys_answer_as_whoosh(tmp_path, block_corpus):
    rebuild([block_corpus], tmp_path / "index")
    generation = str(tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip())
    with FileStorage(generation).open_index().reader() as reader:
        expected = term_answers(reader)
    assert any(expected[0]) and any(expected[1])
    with MappedStorage(generation).open_index().reader() as reader:
        remember_term_keys(reader)
        assert term_answers(reader) == expected
        assert term_answers(reader) == expected  # asked again, from the keys remembered
        remembered = [leaf._terms._tindex for leaf, _ in reader.leaf_readers()]
        assert all(table.__dict__.get("_keys_read") for table in remembered)


def test_only_the_first_levels_of_the_search_are_remembered(tmp_path, block_corpus,
                                                            monkeypatch):
    monkeypatch.setattr(reading, "REMEMBERED_LEVELS", 2)
    rebuild([block_corpus], tmp_path / "index")
    generation = str(tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip())
    with FileStorage(generation).open_index().reader() as reader:
        expected = term_answers(reader)
    with MappedStorage(generation).open_index().reader() as reader:
        remember_term_keys(reader)
        assert term_answers(reader) == expected
        assert 0 < len(reader._terms._tindex.__dict__["_keys_read"]) <= 3  # 1 + 2 keys


def written_column(column, values: list[bytes], doccount: int, cutoff: int) -> BufferFile:
    """`values` (the empty ones left out, as Whoosh's writer leaves documents without
    one) written by Whoosh's writer of `column`, offsets written past `cutoff` documents."""
    out = StructFile(io.BytesIO())
    writer = column.writer(out)
    writer.cutoff = cutoff
    for docnum, value in enumerate(values):
        if value:
            writer.add(docnum, value)
    writer.finish(doccount)
    return BufferFile(out.file.getvalue())


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.binary(max_size=70000 // 40), max_size=40),
       past=st.integers(0, 3), compressed=st.booleans(), offsets=st.booleans())
def test_a_column_read_in_place_answers_as_whoosh(values, past, compressed, offsets):
    column = columns.CompressedBytesColumn() if compressed else columns.VarBytesColumn()
    doccount = len(values) + past
    dbfile = written_column(column, values, doccount, cutoff=-1 if offsets else 2**15)
    length = len(dbfile.get(0, 10**9))
    whoosh = column.reader(dbfile, 0, length, doccount)
    ours = reading.in_place(column, dbfile, 0, length, doccount)
    assert (type(ours) is reading.InPlaceBytes) == offsets
    assert [ours[docnum] for docnum in range(doccount)] == [
        whoosh[docnum] for docnum in range(doccount)]


def segment_by_segment(reader, fieldname: str) -> list:
    """Each document's value in a column, as each segment's reader gives it (Whoosh's
    reader of several segments leaves out those without the column, and reads the ones
    after them wrong)."""
    values = []
    for leaf, _ in reader.leaf_readers():
        column = leaf.column_reader(fieldname)
        values.extend(column[docnum] for docnum in range(leaf.doc_count_all()))
    return values


def test_stored_fields_and_columns_read_in_place_answer_as_whoosh(tmp_path, block_corpus,
                                                                  monkeypatch):
    """An index whose columns all wrote their offsets (as Whoosh's do past 32,768
    documents), two segments and a deleted article."""
    monkeypatch.setattr(columns.VarBytesColumn.__init__, "__defaults__", (True, 0))
    monkeypatch.setattr(columns.VarBytesColumn.Writer.__init__, "__defaults__", (True, 0))
    rebuild([block_corpus], tmp_path / "index")
    (block_corpus / "300.txt").write_text("Dépêche\n\nUn seul mot : Cotonou.", encoding="utf-8")
    (block_corpus / "007.txt").unlink()
    update([block_corpus], tmp_path / "index")
    generation = str(tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip())
    with FileStorage(generation).open_index().reader() as reader:
        docnums = range(reader.doc_count_all())
        stored = [reader.stored_fields(docnum) for docnum in docnums]
        bodies = segment_by_segment(reader, "body")
    assert len(stored) == len(bodies) == 301 and all(bodies)
    with MappedStorage(generation).open_index().reader() as reader:
        reading.read_stored_fields_in_place(reader)
        leaves = [leaf._perdoc._readers["_stored"] for leaf, _ in reader.leaf_readers()]
        assert all(type(found) is reading._InPlaceStored for found in leaves)
        assert [reader.stored_fields(docnum) for docnum in docnums] == stored
        stored_of = reading.stored_fields_of(reader)
        assert [stored_of(docnum) for docnum in docnums] == stored
        text = reading.column_values(reader, "body")
        assert [text(docnum) for docnum in docnums] == bodies
        in_place = [reading.in_place(leaf.schema[name].column_type,
                                     *reading._column_file(leaf._perdoc, name),
                                     leaf.doc_count_all())
                    for leaf, _ in reader.leaf_readers() for name in ("body", "copy_signature")
                    if leaf._perdoc.has_column(name)]
        assert in_place and all(type(found) is reading.InPlaceBytes for found in in_place)
        signatures = reading.column_values(reader, "copy_signature")
        expected = [value or None for value in segment_by_segment(reader, "copy_signature")]
        assert any(expected) and [signatures(docnum) for docnum in docnums] == expected


@pytest.mark.parametrize(("offsets", "at_end", "byte"), [
    (True, 2, b"z"),      # the offsets' typecode is no array's
    (True, 3, b"?"),      # the lengths' typecode
    (False, 1, b"!"),     # the lengths' typecode, no offsets written
    (True, 2, b"q"),      # arrays that would begin before the column
])
def test_a_column_with_damaged_last_bytes_is_read_as_damaged(offsets, at_end, byte):
    """A damaged column raises what reading damaged bytes raises (struct.error: the
    searcher says the index is damaged), and `search check` finds it."""
    values = [b"un", b"", b"trois"] * 20
    column = columns.VarBytesColumn()
    written = written_column(column, values, len(values), cutoff=-1 if offsets else 2**15)
    data = bytearray(written.get(0, 10**9))
    data[len(data) - at_end:len(data) - at_end + 1] = byte
    damaged = BufferFile(bytes(data))
    if offsets:
        with pytest.raises(struct.error):
            reading.in_place(column, damaged, 0, len(data), len(values))
    assert reading._fits(written, 0, len(data), len(values))
    assert not reading._fits(damaged, 0, len(data), len(values))


@pytest.mark.parametrize("misnamed", [False, True])
def test_a_segment_without_stored_fields_is_one_whoosh_cannot_read_them_from(tmp_path,
                                                                              misnamed):
    """`without_stored_fields` names the segments whose stored fields Whoosh's public
    reader cannot give: their part's name garbled in the segment's directory."""
    from whoosh.index import open_dir

    from .conftest import SEEDS

    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    if misnamed:
        [segment] = generation.glob("*.seg")
        data = segment.read_bytes()
        at = data.index(b"._stored.col") + 3
        segment.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
    with open_dir(str(generation)).reader() as whoosh_reader:
        try:
            whoosh_reader.stored_fields(0)
            readable = True
        except TypeError:
            readable = False
    with MappedStorage(str(generation)).open_index().reader() as reader:
        assert reading.without_stored_fields(reader) == ([] if readable else [0])
    assert readable is not misnamed
