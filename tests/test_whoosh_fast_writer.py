"""`search.whoosh_fast.writer`: our faster writing writes what Whoosh's own writer writes."""

from pathlib import Path

from search import store as store_module
from search.index import rebuild
from search.whoosh_fast import writer as writer_module


def index_content(index_dir: Path) -> list:
    """Every posting of every term with its block's statistics, and every document's stored
    fields and lengths: what a writer puts in an index, whatever the file layout."""
    content = []
    with store_module.open_index(index_dir).reader() as reader:
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            content.append((fieldname, text, info.weight(), info.doc_frequency(),
                            info.min_length(), info.max_length(), info.max_weight()))
            matcher = reader.postings(fieldname, text)
            while matcher.is_active():
                content.append((matcher.id(), matcher.weight(), matcher.value(),
                                matcher.block_min_length(), matcher.block_max_length(),
                                matcher.block_max_weight()))
                matcher.next()
        for docnum in range(reader.doc_count_all()):
            content.append(sorted(reader.stored_fields(docnum).items()))
            content.append([reader.doc_field_length(docnum, name)
                            for name in reader.indexed_field_names()])
    return content


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
    assert index_content(tmp_path / "ours") == index_content(tmp_path / "whoosh")
