"""`search.whoosh_fast.writer`: our faster writing writes what Whoosh's own writer writes."""


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
