import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import index as index_module
from search.errors import (
    CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError, IndexOutdatedError,
    IndexWriteError, MassRemovalRefused, SearchError,
)
from search.index import CURRENT, check, rebuild, stats, update, write_lock
from search.models import Skipped
from search.searcher import open_searcher, search

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


def test_a_copy_in_another_root_is_indexed_under_its_absolute_path(tmp_path):
    """Issue 10: a copy of an indexed file in another folder was skipped as a duplicate."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(f"Titre {folder}\n\nTexte.", encoding="utf-8")
    report = rebuild([tmp_path / "a", tmp_path / "b"], tmp_path / "index")
    assert (report.added, report.skipped) == (2, ())
    found = search(tmp_path / "index", "titre", limit=5)
    assert sorted((hit.id, hit.title) for hit in found.hits) == [
        (str(tmp_path / "b" / "same.txt"), "Titre b"), ("same.txt", "Titre a")]
    assert counts_of(update([tmp_path / "a", tmp_path / "b"], tmp_path / "index")) == (0, 0, 0, 2)


def test_a_copied_export_is_indexed_beside_the_original(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "export.jsonl").write_text(
            "\n".join(json.dumps({"id": n, "article": f"Visite à Lomé {folder} {n}."})
                      for n in range(3)), encoding="utf-8")
    index_dir = tmp_path / "index"
    assert counts_of(update([tmp_path / "a"], index_dir)) == (3, 0, 0, 0)
    assert counts_of(update([tmp_path / "b"], index_dir)) == (3, 0, 0, 0)
    assert search(index_dir, "Lomé").total == 6
    assert {hit.id for hit in search(index_dir, "Lomé b").hits} == {
        f"{tmp_path / 'b' / 'export.jsonl'}#{n}" for n in range(3)}
    assert counts_of(update([tmp_path / "a", tmp_path / "b"], index_dir)) == (0, 0, 0, 6)


def counts_of(report):
    return report.added, report.updated, report.removed, report.unchanged


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
    index_module._record_checksums(generation, None)  # as the older version wrote them
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


# --- issue 10: nothing lost, damage found and always recoverable -----------------------------

def write_records(path: Path, records: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")


def test_a_field_map_belongs_to_the_files_it_was_given_for(tmp_path):
    """The archive wiped by one option: a map given to add a French-keyed export, with the
    usual paths, no longer removes the others' articles, and is remembered."""
    english, french = tmp_path / "english.jsonl", tmp_path / "french.jsonl"
    write_records(english, [{"id": n, "title": f"Dépêche {n}", "article": f"Visite à Lomé {n}."}
                            for n in range(30)])
    write_records(french, [{"id": n, "titre": f"Titre {n}", "texte_integral": f"Visite à Dakar {n}."}
                           for n in range(5)])
    index_dir = tmp_path / "index"
    update([english], index_dir)
    french_map = {"body": "texte_integral", "title": "titre"}
    report = update([english, french], index_dir, field_map=french_map)
    assert (report.added, report.removed) == (5, 0)
    assert (search(index_dir, "Lomé").total, search(index_dir, "Dakar").total) == (30, 5)
    report = update([english, french], index_dir)  # the maps are remembered
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 35)
    assert dict(stats(index_dir).field_maps) == {str(english): french_map,
                                                 str(french): french_map}
    assert (search(index_dir, "Lomé").total, search(index_dir, "Dakar").total) == (30, 5)


def test_a_record_still_in_its_file_keeps_its_indexed_version_when_unusable(tmp_path):
    export = tmp_path / "export.jsonl"
    write_records(export, [{"id": n, "article": f"Visite à Lomé {n}."} for n in range(3)])
    index_dir = tmp_path / "index"
    update([export], index_dir)
    write_records(export, [{"id": 0, "article": ""}, {"id": 1, "article": "Visite à Lomé 1."}])
    report = update([export], index_dir)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 2)
    assert [skip.reason.endswith("; its indexed version is kept") for skip in report.skipped] \
        == [True]
    assert search(index_dir, "Lomé").total == 2


def test_a_mass_removal_is_refused_without_yes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(30):
        (corpus / f"{n:02}.txt").write_text(f"Dépêche {n}\n\nVisite à Lomé {n}.", "utf-8")
    index_dir = tmp_path / "index"
    update([corpus], index_dir)
    for n in range(20):
        (corpus / f"{n:02}.txt").unlink()
    generation = (index_dir / CURRENT).read_text()
    with pytest.raises(MassRemovalRefused) as refused:
        update([corpus], index_dir)
    assert str(refused.value) == (
        f"This would remove 20 of the 30 articles of the index in {index_dir}/ (their files or "
        "records are gone). Nothing was changed; run the command again with --yes to remove "
        "them.")
    assert (index_dir / CURRENT).read_text() == generation
    assert search(index_dir, "Lomé").total == 30
    with pytest.raises(MassRemovalRefused, match="a rebuild keeps only the articles of the "
                                                 "paths it is given"):
        rebuild([SEEDS], index_dir)
    assert search(index_dir, "Lomé").total == 30
    assert update([corpus], index_dir, allow_removal=True).removed == 20
    assert search(index_dir, "Lomé").total == 10


def test_a_long_lived_searcher_survives_any_number_of_writes(tmp_path):
    export = tmp_path / "export.jsonl"
    index_dir = tmp_path / "index"
    write_records(export, [{"id": 0, "article": "Visite à Lomé."}])
    update([export], index_dir)
    with open_searcher(index_dir) as session:
        first = (index_dir / CURRENT).read_text().strip()
        for n in range(1, 6):
            write_records(export, [{"id": k, "article": "Visite à Lomé."} for k in range(n + 1)])
            update([export], index_dir)
            assert session.search("Lomé").total == 1  # the generation it opened
            assert (index_dir / first).is_dir()
        assert len(generations(index_dir)) == 3  # its own, the current and the previous one
    update([export, tmp_path / "export.jsonl"], index_dir)  # nothing changed: no write
    write_records(export, [{"id": k, "article": "Visite à Lomé."} for k in range(9)])
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
    return sorted(re.sub(r"\w+(?=\.seg$)", "*", str(p.relative_to(index_dir)))
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


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("number", range(10))
def test_damage_to_any_file_is_one_clear_error_found_by_check_and_rebuild_recovers(
        tmp_path, seed_files, number, damage):
    if number >= len(seed_files):
        pytest.skip("fewer files")
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


WRITE_WITH_A_FILE_SIZE_LIMIT = """
import resource, sys
from search import index
index.SUB_WRITERS = sys.argv[1] == "sub-writers"
index.PARALLEL_MIN_ARTICLES = 10
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
from search.cli import main
sys.argv = ["search", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("writers", ["one process", "sub-writers"])
def test_a_file_size_limit_is_one_line_that_names_it_and_the_index_stays_whole(
        tmp_path, writers):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(200):
        (corpus / f"{n:03}.txt").write_text(
            f"Dépêche {n}\n\n" + f"Le ministre {n} est arrivé à Lomé pour la visite. " * 20,
            "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", WRITE_WITH_A_FILE_SIZE_LIMIT, writers, "index", str(corpus),
         "--index", str(index_dir)], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", (
        f"Error: Could not write the index in {index_dir}/: a file of the index would exceed "
        "the file-size limit (`ulimit -f`): raise it, then run the command again. The previous "
        "index is unchanged.\n"))
    assert search(index_dir, "Farabi").total == 1
    assert check(index_dir).problems == ()


@pytest.mark.parametrize("number, cause", [
    (errno.ENOSPC, "no space is left on the device: free some space, then run the command "
                   "again"),
    (errno.EROFS, "the folder is on a read-only file system: name a writable folder with "
                  "--index"),
    (errno.EACCES, "permission denied: name a folder you may write to with --index"),
    (errno.EMFILE, "too many open files (`ulimit -n`): raise the limit, then run the command "
                   "again"),
    (errno.ENOTSUP, "Operation not supported"),
])
def test_a_refused_write_names_its_cause_and_the_index_stays_whole(
        tmp_path, monkeypatch, number, cause):
    """Root, as CI runs, may write anywhere: the system's refusal is simulated where the
    new generation's files are synced to disk."""
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)

    def refuse(folder):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(index_module, "_fsync_tree", refuse)
    with pytest.raises(IndexWriteError) as refused:
        rebuild([SEEDS], index_dir)
    assert str(refused.value) == (f"Could not write the index in {index_dir}/: {cause}. "
                                  "The previous index is unchanged.")
    assert generations(index_dir) == [(index_dir / CURRENT).read_text().strip()]
    assert search(index_dir, "Farabi").total == 1
