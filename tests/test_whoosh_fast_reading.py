"""`search.whoosh_fast.reading`: an index read through our mapped storage reads as Whoosh
reads it through its own."""

from whoosh.filedb.filestore import FileStorage

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
