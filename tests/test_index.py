"""`search.index`: what a write adds, updates, keeps and removes, and how it fails."""

import errno
import json
import os
import subprocess
import sys

import pytest

from search import index as index_module
from search import store as store_module
from search.errors import (
    CorpusError,
    IndexOutdatedError,
    IndexWriteError,
    MassRemovalRefused,
)
from search.index import rebuild, update
from search.searcher import search
from search.store import CURRENT, check, stats

from .conftest import RABAT, SEEDS, generations, write_export


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


def test_a_rebuild_given_no_paths_reads_again_what_an_outdated_index_lists(tmp_path,
                                                                          monkeypatch):
    """After an upgrade, the one command: the files of the folder and the export, the
    export read with the field map it was indexed with."""
    index_dir, export = tmp_path / "index", tmp_path / "export.jsonl"
    write_export(export, [{"id": 1, "en_tete": "Visite à Lomé", "corps": "Le ministre à Lomé."}])
    update([SEEDS, export], index_dir, field_map={"title": "en_tete", "body": "corps"})
    monkeypatch.setattr(store_module, "ANALYZER_VERSION", store_module.ANALYZER_VERSION + 1)
    with pytest.raises(IndexOutdatedError):
        search(index_dir, "lome")
    report = rebuild([], index_dir)
    assert (report.added, report.skipped) == (3, ())
    assert [hit.title for hit in search(index_dir, "lome").hits] == ["Visite à Lomé"]
    assert search(index_dir, "Farabi").total == 1


@pytest.mark.parametrize("damage, message", [
    (b"garbage", "The list of files of the index in {index}/ is damaged: name the folders or "
                 "files of articles, `search rebuild PATH...`."),
    (b"{}", "The index in {index}/ lists no files to rebuild from: name the folders or files "
            "of articles, `search rebuild PATH...`."),
], ids=["garbled", "empty"])
def test_a_rebuild_given_no_paths_needs_a_readable_list_of_files(tmp_path, damage, message):
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    (generation / "files.json").write_bytes(damage)
    with pytest.raises(CorpusError) as raised:
        rebuild([], index_dir)
    assert str(raised.value) == message.format(index=index_dir)
    rebuild([SEEDS], index_dir)
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


def test_a_field_map_belongs_to_the_files_it_was_given_for(tmp_path):
    """The archive wiped by one option: a map given to add a French-keyed export, with the
    usual paths, no longer removes the others' articles, and is remembered."""
    english, french = tmp_path / "english.jsonl", tmp_path / "french.jsonl"
    write_export(english, [{"id": n, "title": f"Dépêche {n}", "article": f"Visite à Lomé {n}."}
                            for n in range(30)])
    write_export(french, [{"id": n, "titre": f"Titre {n}", "texte_integral": f"Visite à Dakar {n}."}
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
    write_export(export, [{"id": n, "article": f"Visite à Lomé {n}."} for n in range(3)])
    index_dir = tmp_path / "index"
    update([export], index_dir)
    write_export(export, [{"id": 0, "article": ""}, {"id": 1, "article": "Visite à Lomé 1."}])
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


WRITE_WITH_A_FILE_SIZE_LIMIT = """
import resource, sys
from search.whoosh_fast import writer
writer.SUB_WRITERS = sys.argv[1] == "sub-writers"
writer.PARALLEL_MIN_ARTICLES = 10
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

    monkeypatch.setattr(store_module, "fsync_tree", refuse)
    with pytest.raises(IndexWriteError) as refused:
        rebuild([SEEDS], index_dir)
    assert str(refused.value) == (f"Could not write the index in {index_dir}/: {cause}. "
                                  "The previous index is unchanged.")
    assert generations(index_dir) == [(index_dir / CURRENT).read_text().strip()]
    assert search(index_dir, "Farabi").total == 1


def test_an_unusable_record_of_a_copied_export_keeps_its_indexed_version(tmp_path):
    records = [{"id": n, "article": f"Visite à Lomé {n}."} for n in range(3)]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_export(tmp_path / folder / "export.jsonl", records)
    index_dir = tmp_path / "index"
    update([tmp_path / "a", tmp_path / "b"], index_dir)
    records[1]["article"] = ""
    write_export(tmp_path / "b" / "export.jsonl", records)
    report = update([tmp_path / "b"], index_dir)
    assert (report.removed, report.unchanged) == (0, 3)
    assert [skip.id for skip in report.skipped] == [f"{tmp_path / 'b' / 'export.jsonl'}#1"]
    assert search(index_dir, "Lomé").total == 6


@pytest.mark.parametrize("fails", [False, True])
def test_an_update_runs_the_cycle_collector_less_often_then_as_before(tmp_path, monkeypatch,
                                                                       fails):
    import gc

    during = []
    real = index_module._update_locked

    def locked(*args):
        during.append(gc.get_threshold())
        if fails:
            raise OSError(errno.EIO, "I/O error")
        return real(*args)

    monkeypatch.setattr(index_module, "_update_locked", locked)
    before = gc.get_threshold()
    try:
        update([SEEDS], tmp_path / "index")
    except Exception:
        assert fails
    assert during == [(index_module.UPDATE_COLLECTION_THRESHOLD, *before[1:])]
    assert gc.get_threshold() == before
