"""`search.whoosh_fast.writer`: our faster writing writes what Whoosh's own writer writes."""


from search import store as store_module
from search.index import rebuild
from search.whoosh_fast import writer as writer_module

from .conftest import index_content


def test_the_writing_codec_writes_what_whoosh_s_own_writes(tmp_path, monkeypatch):
    from whoosh.codec.whoosh3 import W3Codec

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(300):  # terms in more than one block of 128 postings
        (corpus / f"{n:03}.txt").write_text(
            f"Dépêche {n}\n\nLe ministre est arrivé à Lomé{' pour la visite' * (n % 5)} "
            f"numéro {n}, étape {n % 7}.", encoding="utf-8")
    rebuild([corpus], tmp_path / "ours")
    monkeypatch.setattr(writer_module, "WritingCodec", W3Codec)
    rebuild([corpus], tmp_path / "whoosh")
    assert (index_content(store_module.open_index(tmp_path / "ours"))
            == index_content(store_module.open_index(tmp_path / "whoosh")))
