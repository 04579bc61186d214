import time
from pathlib import Path

import pytest

from search import index as index_module
from search.errors import (
    CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError, IndexOutdatedError,
)
from search.index import CURRENT, rebuild, write_lock
from search.models import Skipped
from search.searcher import search

from .conftest import RABAT, SEEDS


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("gen-*"))


def test_rebuild_indexes_the_seeds(tmp_path):
    report = rebuild([SEEDS], tmp_path / "index")
    assert (report.indexed, report.skipped) == (2, ())
    assert len(generations(tmp_path / "index")) == 1


def test_rebuild_replaces_the_index_and_keeps_one_previous_generation(tmp_path, corpus):
    index_dir = tmp_path / "index"
    rebuild([corpus], index_dir)
    (corpus / "extra.txt").write_text("Visite à Lomé\n\nLe ministre est à Lomé.", encoding="utf-8")
    first = generations(index_dir)
    rebuild([corpus], index_dir)
    assert {hit.id for hit in search(index_dir, "lome").hits} == {"extra.txt"}
    rebuild([corpus], index_dir)
    assert len(generations(index_dir)) == 2
    assert not set(first) & set(generations(index_dir))


def test_failed_rebuild_leaves_the_previous_index_whole(tmp_path, corpus, monkeypatch):
    index_dir = tmp_path / "index"
    rebuild([corpus], index_dir)
    before = generations(index_dir)

    def crash(*args):
        yield from []
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "parse_file", crash)
    with pytest.raises(KeyboardInterrupt):
        rebuild([corpus], index_dir)
    assert generations(index_dir) == before
    assert {hit.id for hit in search(index_dir, "Farabi").hits} == {RABAT}


def test_rebuild_with_no_article_leaves_the_index_as_it_was(tmp_path):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="No article could be indexed from .*empty; "
                                          "the index was left as it was."):
        rebuild([empty], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_duplicate_ids_across_roots_are_reported(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(f"Titre {folder}\n\nTexte.", encoding="utf-8")
    report = rebuild([tmp_path / "a", tmp_path / "b"], tmp_path / "index")
    assert report.added == 1
    assert report.skipped == (Skipped(str(tmp_path / "b" / "same.txt"),
                                      "another article already has the id same.txt"),)


def test_a_file_named_twice_is_indexed_once(tmp_path):
    report = rebuild([SEEDS, SEEDS / RABAT], tmp_path / "index")
    assert (report.added, report.unchanged, report.skipped) == (2, 0, ())


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError) as error:
        search(tmp_path / "nowhere", "maroc")
    assert str(error.value) == f"No index in {tmp_path / 'nowhere'}/. Run `search rebuild` first."


@pytest.mark.parametrize(
    "damage",
    [
        lambda ix: (ix / CURRENT).write_text("gen-gone\n"),
        lambda ix: (ix / CURRENT).unlink(),
        lambda ix: [f.write_bytes(b"garbage") for f in (ix / (ix / CURRENT).read_text().strip()).glob("*.toc")],
        lambda ix: [f.write_bytes(f.read_bytes()[:20]) for f in (ix / (ix / CURRENT).read_text().strip()).iterdir()],
        lambda ix: [f.unlink() for f in (ix / (ix / CURRENT).read_text().strip()).glob("*.seg")],
    ],
    ids=["pointer to nothing", "no pointer", "garbled toc", "truncated files", "missing segment"],
)
def test_damaged_index_says_to_rebuild_and_rebuild_recovers(tmp_path, damage):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    damage(index_dir)
    with pytest.raises(IndexCorruptError, match=r"Run `search rebuild` to rebuild it\.$"):
        search(index_dir, "Farabi")
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_second_writer_waits_then_fails(tmp_path):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    with write_lock(index_dir):
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match="Another process is writing to the index"):
            with write_lock(index_dir, wait=0.3):
                pass
        assert time.monotonic() - started >= 0.3
    assert search(index_dir, "Farabi").total == 1


def test_an_index_built_by_another_analyzer_version_says_to_rebuild(tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    monkeypatch.setattr(index_module, "ANALYZER_VERSION", index_module.ANALYZER_VERSION + 1)
    with pytest.raises(IndexOutdatedError, match=r"was built by an older version of search, "
                                                 r"which analyzed words differently\. Run "
                                                 r"`search rebuild` to rebuild it\.$"):
        search(index_dir, "Farabi")
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_an_index_whose_schema_names_a_class_this_version_lacks_says_to_rebuild(tmp_path):
    """Indexes pickle their analyzer: one built by an older version may name filters that
    are gone (as `ElisionFilter` went in the analyzer's rewrite)."""
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    [toc] = generation.glob("*.toc")
    toc.write_bytes(toc.read_bytes().replace(b"FrenchTermFilter", b"GoneFilterClassX"))
    with pytest.raises(IndexOutdatedError, match=r"Run `search rebuild` to rebuild it\.$"):
        search(index_dir, "Farabi")
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def index_content(index_dir: Path) -> list:
    """Every posting of every term with its block's statistics, and every document's stored
    fields and lengths: what a writer puts in an index, whatever the file layout."""
    content = []
    with index_module.open_index(index_dir).reader() as reader:
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
    monkeypatch.setattr(index_module, "_WritingCodec", W3Codec)
    rebuild([corpus], tmp_path / "whoosh")
    assert index_content(tmp_path / "ours") == index_content(tmp_path / "whoosh")
