"""`search.whoosh_fast.writer`: our faster writing writes what Whoosh's own writer writes."""

import pytest

from search import index as index_module
from search import store as store_module
from search.index import rebuild
from search.whoosh_fast import writer as writer_module

from .conftest import index_content


def test_the_writing_codec_writes_what_whoosh_s_own_writes(tmp_path, monkeypatch, block_corpus):
    from whoosh.codec.whoosh3 import W3Codec

    corpus = block_corpus
    rebuild([corpus], tmp_path / "ours")
    monkeypatch.setattr(writer_module, "WritingCodec", W3Codec)
    rebuild([corpus], tmp_path / "whoosh")
    assert (index_content(store_module.open_index(tmp_path / "ours"))
            == index_content(store_module.open_index(tmp_path / "whoosh")))


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
