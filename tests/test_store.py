"""`search.store`: the index folder, its generations, damage found and repaired, readers."""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from search import store as store_module
from search.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexOutdatedError,
    IndexWriteError,
    SearchError,
)
from search.index import rebuild, update
from search.searcher import open_searcher, search
from search.store import CURRENT, FORM_FIELDS, FileEntry, check, write_lock
from search.stretches import Stretch

from .conftest import SEEDS, generations, write_export


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError) as error:
        search(tmp_path / "nowhere", "maroc")
    assert str(error.value) == f"No index in {tmp_path / 'nowhere'}/: run `search index PATH...` first."


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
    monkeypatch.setattr(store_module, "ANALYZER_VERSION", store_module.ANALYZER_VERSION + 1)
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
    store_module.record_checksums(generation, None)  # as the older version wrote them
    with pytest.raises(IndexOutdatedError, match=r"Run `search rebuild` to rebuild it\.$"):
        search(index_dir, "Farabi")
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_a_long_lived_searcher_survives_any_number_of_writes(tmp_path):
    export = tmp_path / "export.jsonl"
    index_dir = tmp_path / "index"
    write_export(export, [{"id": 0, "article": "Visite à Lomé."}])
    update([export], index_dir)
    with open_searcher(index_dir) as session:
        first = (index_dir / CURRENT).read_text().strip()
        for n in range(1, 6):
            write_export(export, [{"id": k, "article": "Visite à Lomé."} for k in range(n + 1)])
            update([export], index_dir)
            assert session.search("Lomé").total == 1  # the generation it opened
            assert (index_dir / first).is_dir()
        assert len(generations(index_dir)) == 3  # its own, the current and the previous one
    update([export, tmp_path / "export.jsonl"], index_dir)  # nothing changed: no write
    write_export(export, [{"id": k, "article": "Visite à Lomé."} for k in range(9)])
    update([export], index_dir)
    assert not (index_dir / first).exists()  # closed: deleted by the next write
    assert search(index_dir, "Lomé").total == 9


def flip_bytes(file: Path) -> None:
    data = bytearray(file.read_bytes())
    for position in range(len(data) // 3, len(data), max(1, len(data) // 7)):
        data[position] ^= 0x5A
    file.write_bytes(bytes(data))


def replace_by_folder(file: Path) -> None:
    file.unlink()
    file.mkdir()


DAMAGES = {
    "truncated": lambda file: file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2]),
    "emptied": lambda file: file.write_bytes(b""),
    "bytes flipped": flip_bytes,
    "a folder": replace_by_folder,
}


def index_files(index_dir: Path) -> list[str]:
    """Every file of an index folder, by its path from the folder, with the generation's
    name as `gen` and a segment's random name as `*`."""
    generation = (index_dir / CURRENT).read_text().strip()
    return sorted(re.sub(r"\w+(?=\.seg$|\.forms\.json$)", "*", str(p.relative_to(index_dir)))
                  .replace(generation, "gen") for p in index_dir.rglob("*") if p.is_file())


def index_file(index_dir: Path, name: str) -> Path:
    generation = (index_dir / CURRENT).read_text().strip()
    [file] = index_dir.glob(name.replace("gen/", generation + "/", 1))
    return file


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory) -> list[str]:
    index_dir = tmp_path_factory.mktemp("files") / "index"
    rebuild([SEEDS], index_dir)
    return index_files(index_dir)


# Files whose content does not matter, only that they are files (Whoosh's own lock is not
# even read).
HARMLESS = {"write.lock", "gen/readers.lock"}


INDEX_FILES = ["CURRENT", "gen/*.forms.json", "gen/*.seg", "gen/MAIN_WRITELOCK", "gen/_MAIN_1.toc",
               "gen/checksums.json", "gen/files.json", "gen/format.json", "gen/readers.lock",
               "write.lock"]


def test_the_files_of_an_index(seed_files):
    assert seed_files == INDEX_FILES


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("number", range(len(INDEX_FILES)))
def test_damage_to_any_file_is_one_clear_error_found_by_check_and_rebuild_recovers(
        tmp_path, seed_files, number, damage):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    assert index_files(index_dir) == seed_files
    name = seed_files[number]
    DAMAGES[damage](index_file(index_dir, name))
    found = check(index_dir)
    harmless = name == "gen/MAIN_WRITELOCK" or name in HARMLESS and damage != "a folder"
    assert bool(found.problems) != harmless, found
    for attempt in (lambda: search(index_dir, "Farabi"), lambda: update([SEEDS], index_dir)):
        try:
            attempt()
        except SearchError as error:
            assert "\n" not in str(error)
            assert not harmless
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1
    assert check(index_dir).problems == ()


def segment_names(index_dir: Path) -> set[str]:
    with open_searcher(index_dir) as searcher:
        return {leaf.segment().segment_id()
                for leaf, _ in searcher._searcher.reader().leaf_readers()}


def test_each_segment_has_its_forms_file_through_updates_merges_and_removals(tmp_path):
    """Written with its segment, kept with it, gone with it: the terms of the fields of
    "did you mean", as Whoosh's term file of the segment has them."""
    folder, index_dir = tmp_path / "corpus", tmp_path / "index"
    folder.mkdir()
    seen = set()
    for number in range(14):
        (folder / f"{number}.txt").write_text(
            f"Visite {number}\n\nLe ministre à Tachkent{number} et Rabat.", "utf-8")
        if number == 12:
            (folder / "3.txt").unlink()
        update([folder], index_dir)
        generation = index_dir / (index_dir / CURRENT).read_text().strip()
        segments = segment_names(index_dir)
        assert {file.name for file in generation.glob("*.forms.json")} == {
            f"{name}.forms.json" for name in segments}
        seen |= segments
    assert len(seen) > len(segments) > 1  # segments were merged, several remain
    with open_searcher(index_dir) as searcher:
        for leaf, _ in searcher._searcher.reader().leaf_readers():
            written = json.loads(
                (generation / f"{leaf.segment().segment_id()}.forms.json").read_text("utf-8"))
            assert written == {name: [text.decode() for text in leaf.lexicon(name)]
                               for name in FORM_FIELDS}
            assert any("tachkent" in form for form in written[FORM_FIELDS[-1]])


def test_the_forms_files_are_written_from_segments_read_in_place(tmp_path, monkeypatch):
    """Whoosh's own storage, which the writer of a new index has, copies a segment's
    files into memory when a reader opens them: 171 MB for 30,000 articles."""
    from whoosh.filedb.structfile import BufferFile

    from search.store import write_segment_files

    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    [file] = generation.glob("*.forms.json")
    written = file.read_bytes()
    file.unlink()

    def copied(*args, **kwargs):
        raise AssertionError("a segment's file copied into memory")
    monkeypatch.setattr(BufferFile, "__init__", copied)
    write_segment_files(generation)
    assert file.read_bytes() == written


@pytest.mark.parametrize("damage", [
    lambda file: file.write_bytes(b"\xff" + file.read_bytes()[1:]),
    lambda file: file.write_bytes(file.read_bytes()[:-1] + b","),
    lambda file: file.write_text("[" + " " * (file.stat().st_size - 2) + "]"),
    lambda file: file.write_text(json.dumps({FORM_FIELDS[0]: 3}).ljust(file.stat().st_size)),
], ids=["not UTF-8", "not JSON", "a list", "no forms"])
def test_a_garbled_forms_file_of_its_size_is_one_clear_error_for_did_you_mean(tmp_path,
                                                                              damage):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    [file] = (index_dir / (index_dir / CURRENT).read_text().strip()).glob("*.forms.json")
    size = file.stat().st_size
    damage(file)
    assert file.stat().st_size == size  # not seen by the checks made at every opening
    with pytest.raises(IndexCorruptError) as raised:
        search(index_dir, "Farabbi")
    assert re.fullmatch(rf"The index in {re.escape(str(index_dir))}/ could not be read "
                        r"\((UnicodeDecodeError|CorruptIndexError)\)\. Run `search rebuild` "
                        r"to rebuild it\.", str(raised.value))
    assert check(index_dir).problems != ()


def _sub_files(segment: Path) -> dict[str, tuple[int, int]]:
    """The sub-files of a compound segment: name → (offset, length)."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.structfile import StructFile

    with open(segment, "rb") as handle:
        storage = CompoundStorage(StructFile(handle), use_mmap=False)
        return {name: (info["offset"], info["length"]) for name, info in storage._dir.items()}


def assert_one_clear_error_or_an_answer(index_dir: Path) -> None:
    """A search with hits, one with few (which reads the forms of "did you mean") and an
    update of a damaged index each end in one clear error or an answer; `check` finds
    the damage."""
    for attempt in (lambda: search(index_dir, "Farabi"), lambda: search(index_dir, "Farabbi"),
                    lambda: update([SEEDS], index_dir)):
        try:
            attempt()
        except SearchError as error:
            assert "\n" not in str(error)
    assert check(index_dir).problems != ()


SEED_SUB_FILES = [".trm", ".pst", "._stored.col", ".body.col", "._body_len.col", ".date.col",
                  ".copy_signature.col"]


@pytest.mark.parametrize("sub_file", SEED_SUB_FILES)
@pytest.mark.parametrize("at", [0, 1, 3])
def test_a_garbled_header_of_any_part_of_a_segment_is_one_clear_error(tmp_path, sub_file, at):
    """Whoosh reads each part of a segment from a header it checks with errors of its own
    (`FileFormatError` for a term file's magic): whichever part is garbled, a search and
    an update end in one clear error or an answer, and `check` finds the damage."""
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    [segment] = (index_dir / (index_dir / CURRENT).read_text().strip()).glob("*.seg")
    [(offset, length)] = [place for name, place in _sub_files(segment).items()
                          if name.endswith(sub_file)]
    data = bytearray(segment.read_bytes())
    data[offset + min(at, length - 1)] ^= 0x5A
    segment.write_bytes(bytes(data))
    assert_one_clear_error_or_an_answer(index_dir)


@pytest.mark.parametrize("part", SEED_SUB_FILES)
def test_a_segment_whose_directory_misnames_a_part_is_one_clear_error(tmp_path, part):
    """The directory at the end of a compound segment names its parts: a garbled name
    leaves a part missing, which Whoosh reads as None (a TypeError in its codec)."""
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    [segment] = (index_dir / (index_dir / CURRENT).read_text().strip()).glob("*.seg")
    data = segment.read_bytes()
    name = part.encode()
    assert data.count(name) == 1  # in the directory only
    at = data.index(name) + len(name) - 2
    segment.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
    assert_one_clear_error_or_an_answer(index_dir)


def test_check_finds_every_bit_flip_in_a_segment(tmp_path):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    [segment] = generation.glob("*.seg")
    original = segment.read_bytes()
    for position in range(0, len(original), max(1, len(original) // 40))[:40]:
        flipped = bytearray(original)
        flipped[position] ^= 1 << (position % 8)
        segment.write_bytes(bytes(flipped))
        assert check(index_dir).problems == (
            f"{generation.name}/{segment.name} has changed since it was written",)
    segment.write_bytes(original)
    found = check(index_dir)
    assert (found.problems, found.documents) == ((), 2)


@pytest.mark.parametrize("state", [
    lambda ix: (ix / CURRENT).write_bytes(b"\xff\xfe garbage \x00"),
    lambda ix: (ix / CURRENT).write_text("../../etc\n"),
    lambda ix: replace_by_folder(ix / CURRENT),
    lambda ix: replace_by_folder(ix / "write.lock"),
    lambda ix: [shutil.rmtree(p) for p in ix.glob("gen-*")],
], ids=["garbled CURRENT", "CURRENT outside", "CURRENT a folder", "lock a folder",
        "no generation"])
def test_rebuild_recovers_whatever_state_the_folder_is_in(tmp_path, state):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    state(index_dir)
    assert len(check(index_dir).problems) == 1
    with pytest.raises(IndexCorruptError, match=r"is damaged \(.*\)\. Run `search rebuild` to "
                                                r"rebuild it\.$"):
        update([SEEDS], index_dir)
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1
    assert check(index_dir).problems == ()


def test_a_stray_file_named_like_a_generation_is_no_damage(tmp_path):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    (index_dir / "gen-stray").write_text("not a folder")
    assert check(index_dir).problems == ()
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_an_interruption_after_the_switch_keeps_the_new_generation(tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    real = store_module.switch_current

    def switch_then_interrupted(folder, generation):
        real(folder, generation)
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "switch_current", switch_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        rebuild([SEEDS], index_dir)
    assert (index_dir / (index_dir / CURRENT).read_text().strip()).is_dir()
    assert search(index_dir, "Farabi").total == 1


def test_check_holds_its_generation_through_writes(tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    export = tmp_path / "export.jsonl"
    write_export(export, [{"id": 0, "article": "Visite à Lomé."}])
    update([export], index_dir)
    real = store_module._read_everything

    def with_two_writes(folder, generation):
        for n in (2, 3):
            write_export(export, [{"id": k, "article": "Visite à Lomé."} for k in range(n)])
            update([export], index_dir)
        return real(folder, generation)

    monkeypatch.setattr(store_module, "_read_everything", with_two_writes)
    found = check(index_dir)
    assert (found.problems, found.documents) == ((), 1)


@pytest.mark.parametrize("entry", [
    {"fingerprint": "x", "articles": None},
    {"fingerprint": "x", "articles": ["a"]},
    {"fingerprint": 1, "articles": {}},
    {"fingerprint": "x", "articles": {"a": 1}},
    {"fingerprint": "x", "articles": {}, "skipped": [["only one"]]},
    {"fingerprint": "x", "articles": {}, "field_map": {"body": None}},
    {"fingerprint": "x", "articles": {}, "unknown": 1},
    {"fingerprint": "x", "articles": ["a\nb", "1"]},  # ids and hashes not in pairs
    {"fingerprint": "x", "articles": ["a\na", "1\n2"]},  # an id twice
    {"fingerprint": "x", "articles": ["a", "1", "2"]},
    {"fingerprint": "x", "articles": ["a", 1]},
    {"fingerprint": "x", "articles": {}, "stretches": [["x"]]},
    # stretches that account for two articles where one is listed
    {"fingerprint": "x", "articles": ["a", "1"], "stretches": [[10, "d", 1, 1, 1, 2, True, [], True]]},
])
def test_a_manifest_of_the_wrong_types_is_damage_for_an_update(tmp_path, entry):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    (generation / "files.json").write_text(json.dumps({"/x.txt": entry}))
    store_module.record_checksums(generation, None)  # as if written so
    with pytest.raises(IndexCorruptError, match=r"\(files\.json is garbled\)\. Run `search "
                                                r"rebuild` to rebuild it\.$"):
        update([SEEDS], index_dir)
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


def test_an_index_with_the_fields_of_an_older_version_says_to_rebuild(tmp_path):
    """An index written with other fields (before sources had a key and a name) is not
    updated with the new ones: it is rebuilt."""
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    found = json.loads((generation / "format.json").read_text())
    del found["schema"]  # as the older version wrote it
    (generation / "format.json").write_text(json.dumps(found))
    store_module.record_checksums(generation, None)
    with pytest.raises(IndexOutdatedError, match=r"which stored articles differently\. Run "
                                                 r"`search rebuild` to rebuild it\.$"):
        update([SEEDS], index_dir)
    rebuild([SEEDS], index_dir)
    assert search(index_dir, "Farabi").total == 1


SOURCES_PAGE = """<html><head><title>{title} - Gala</title>
<meta property="og:site_name" content="Gala">
<link rel="canonical" href="https://www.gala.fr/{slug}"></head>
<body><article><h1>{title}</h1><p>{title}: le ministre des affaires étrangères a reçu son
homologue pour un entretien sur la coopération régionale et la sécurité.</p></article></body></html>"""


def test_each_source_has_one_key_and_a_display_name_whatever_its_format(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.html").write_text(SOURCES_PAGE.format(title="Visite à Rabat", slug="a"), "utf-8")
    write_export(corpus / "export.jsonl", [
        {"id": 1, "url": "https://gala.fr/b", "article": "Le ministre est à Lomé."},
        {"id": 2, "url": "http://WWW.Gala.FR/c", "source": "Gala", "article": "À Dakar."},
        {"id": 3, "url": "https://actu.orange.fr/d", "article": "À Niamey."},
        {"id": 4, "source": "Agence France-Presse", "article": "À Bamako."},
        {"id": 5, "source": "agence france-presse", "article": "À Accra."},
        {"id": 6, "source": "www.AFP.com", "article": "À Abuja."},
    ])
    index_dir = tmp_path / "index"
    rebuild([corpus], index_dir)
    sources = store_module.stats(index_dir).sources
    assert [(count.label, count.name, count.documents) for count in sources] == [
        ("gala.fr", "Gala", 3),
        ("agence france-presse", "Agence France-Presse", 2),
        ("actu.orange.fr", "actu.orange.fr", 1),
        ("afp.com", "afp.com", 1),
    ]


def test_a_folder_of_other_files_is_not_made_an_index(tmp_path):
    """`--index ~/Documents` by mistake: refused, the folder left as it was."""
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("mes notes", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Maroc\n\nVisite.\n", encoding="utf-8")
    with pytest.raises(IndexWriteError) as raised:
        update([corpus], folder)
    assert str(raised.value) == (
        f"{folder}{os.sep} holds files and no index: name an empty or new folder with "
        "--index, so that nothing of yours is mixed with the index's files.")
    assert [entry.name for entry in folder.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("entry", [
    FileEntry("x", {"export.jsonl#1": "a1", "export.jsonl#2": "b2#2"}, [["x:3", "why"]],
              {"body": "text"}, "quick", 120,
              [Stretch(120, "d", 7, 1, 3, 2, False, ((3, "why", "export.jsonl#9", True),))]),
    FileEntry("x", {"one\nline": "a"}),  # not `printable`: kept as an object
    FileEntry("", {}),
])
def test_a_manifest_entry_is_read_back_as_it_was_written(entry):
    data = json.loads(json.dumps(entry.to_json()))
    assert FileEntry.from_json(data) == entry
    assert list(FileEntry.from_json(data).articles) == list(entry.articles)  # in order


def test_an_entry_written_before_its_articles_were_lines_is_read():
    data = {"fingerprint": "x", "articles": {"a.txt": "1", "b.txt": "2"}, "skipped": [],
            "field_map": {}, "quick": None, "size": None}
    assert FileEntry.from_json(data) == FileEntry("x", {"a.txt": "1", "b.txt": "2"})


@pytest.mark.parametrize("files, owner", [
    ({}, {}),
    ({"/a.jsonl": FileEntry("", {"a.jsonl#1": "h1", "a.jsonl#2": "h2"}),
      "/b.txt": FileEntry("", {"b.txt": "h3"}), "/c.txt": FileEntry("", {})},
     {"a.jsonl#1": "/a.jsonl", "a.jsonl#2": "/a.jsonl", "b.txt": "/b.txt"}),
])
def test_every_listed_article_has_its_file(files, owner):
    assert store_module.owners(files) == owner
    assert store_module.indexed_ids(files) == set(owner)
