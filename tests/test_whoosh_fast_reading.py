"""`search.whoosh_fast.reading`: an index read through our mapped storage reads as Whoosh
reads it through its own."""

from whoosh.filedb.filestore import FileStorage

from search.index import rebuild, update
from search.store import CURRENT
from search.whoosh_fast.reading import MappedStorage

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


def test_an_empty_file_is_opened_without_a_map(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert MappedStorage(str(tmp_path)).open_file("empty").read() == b""
