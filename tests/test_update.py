"""`search index`: incremental updates, by content hash; `search stats`; query filters."""

import errno
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import index as index_module
from search import ingest as ingest_module
from search import searcher as searcher_module
from search import store as store_module
from search import stretches as stretches_module
from search.cli import cli
from search.errors import CorpusError, IndexWriteError, QuerySyntaxError, SubWriterFailed
from search.formats import records as records_module
from search.index import rebuild, update
from search.models import Filters
from search.searcher import search
from search.store import record_checksums, stats
from search.whoosh_fast import writer as writer_module

from .conftest import RABAT, write_export


def counts(report):
    return report.added, report.updated, report.removed, report.unchanged, len(report.skipped)


def record(n, **fields):
    return {"id": n, "url": f"https://actu.orange.fr/monde/{n}.html", "category": "monde",
            "date": f"2020-0{1 + n % 9}-15", "title": f"Dépêche {n}",
            "article": f"Le ministre est arrivé à Lomé pour la visite numéro {n}.", **fields}


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.jsonl"
    write_export(path, [record(n) for n in range(20)])
    return path


def _surveys(monkeypatch) -> list[str]:
    """The files `update` hashes whole, as their names."""
    hashed = []
    survey = index_module.survey
    monkeypatch.setattr(index_module, "survey",
                        lambda source, *a: hashed.append(source.file.name) or survey(source, *a))
    return hashed


def _old_enough(monkeypatch) -> None:
    """Files count as modified long ago, as an archive's are (`ingest.RECENT_NS`)."""
    monkeypatch.setattr(ingest_module, "RECENT_NS", -10**18)


def test_an_unchanged_file_with_its_times_recorded_is_not_read_again(export, isolated_index,
                                                                       monkeypatch):
    _old_enough(monkeypatch)
    hashed = _surveys(monkeypatch)
    update([export], isolated_index)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert hashed == ["export.jsonl"]  # the first run only


def test_a_file_changed_with_its_size_and_modification_time_kept_is_read_again(
        export, isolated_index, monkeypatch):
    _old_enough(monkeypatch)
    update([export], isolated_index)
    before = export.stat()
    text = export.read_text("utf-8").replace("numéro 7.", "numéro 8.")
    export.write_text(text, "utf-8")
    os.utime(export, ns=(before.st_atime_ns, before.st_mtime_ns))  # the change time moves
    assert export.stat().st_size == before.st_size
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)


def test_a_file_touched_but_unchanged_is_hashed_then_known_by_its_new_times(
        export, isolated_index, monkeypatch):
    _old_enough(monkeypatch)
    update([export], isolated_index)
    os.utime(export)
    hashed = _surveys(monkeypatch)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert hashed == ["export.jsonl"]
    write_export(export.with_name("new.jsonl"), [record(100)])
    assert counts(update([export, export.with_name("new.jsonl")], isolated_index)) == (
        1, 0, 0, 20, 0)  # a write: the manifest records the new times
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    # hashed by the unchanged run, then by the write (the unchanged run wrote nothing)
    assert hashed == ["export.jsonl", "export.jsonl", "new.jsonl"]


def test_a_file_modified_in_the_last_seconds_is_always_hashed(export, isolated_index,
                                                              monkeypatch):
    hashed = _surveys(monkeypatch)
    update([export], isolated_index)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert hashed == ["export.jsonl", "export.jsonl"]


def test_second_run_on_an_unchanged_archive_changes_nothing(corpus, export, isolated_index):
    assert counts(update([corpus, export], isolated_index)) == (22, 0, 0, 0, 0)
    generation = (isolated_index / "CURRENT").read_text()
    assert counts(update([corpus, export], isolated_index)) == (0, 0, 0, 22, 0)
    assert (isolated_index / "CURRENT").read_text() == generation  # nothing was written


def test_changing_one_article_reindexes_exactly_that_one(export, isolated_index):
    update([export], isolated_index)
    records = [record(n) for n in range(20)]
    records[7]["article"] = "Le ministre est arrivé à Cotonou."
    write_export(export, records)
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)
    assert [h.id for h in search(isolated_index, "Cotonou").hits] == ["export.jsonl#7"]
    assert search(isolated_index, "Lomé").total == 19


def test_records_gone_from_an_export_are_removed(export, isolated_index):
    update([export], isolated_index)
    write_export(export, [record(n) for n in range(15)] + [record(99)])
    assert counts(update([export], isolated_index)) == (1, 0, 5, 15, 0)
    assert search(isolated_index, "Lomé").total == 16


def test_files_gone_from_an_indexed_folder_are_removed(corpus, isolated_index):
    update([corpus], isolated_index)
    (corpus / RABAT).unlink()
    (corpus / "new.txt").write_text("Visite à Cotonou\n\nLe ministre à Cotonou.", "utf-8")
    assert counts(update([corpus], isolated_index)) == (1, 0, 1, 1, 0)
    assert search(isolated_index, "Farabi").total == 0


def test_files_outside_the_given_paths_are_kept(corpus, export, isolated_index):
    update([corpus, export], isolated_index)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert search(isolated_index, "Farabi").total == 1


def test_a_changed_field_map_reads_the_file_again(tmp_path, isolated_index):
    path = tmp_path / "export.jsonl"
    write_export(path, [{"id": 1, "texte": "Visite à Lomé.", "article": "Visite à Dakar."}])
    update([path], isolated_index)
    assert counts(update([path], isolated_index, field_map={"body": "texte"})) == (0, 1, 0, 0, 0)
    assert search(isolated_index, "Lomé").total == 1


def test_an_unknown_field_in_the_map_is_refused(export, isolated_index):
    with pytest.raises(CorpusError, match="Unknown field 'texte' in --map; fields are: id, "):
        update([export], isolated_index, field_map={"texte": "body"})


def test_updates_start_from_hard_links_and_leave_the_old_generation_intact(export, isolated_index):
    update([export], isolated_index)
    old = isolated_index / (isolated_index / "CURRENT").read_text().strip()
    old_files = {f.name: f.stat().st_ino for f in old.iterdir()}
    write_export(export, [record(n) for n in range(21)])
    update([export], isolated_index)
    new = isolated_index / (isolated_index / "CURRENT").read_text().strip()
    assert new != old and {f.name: f.stat().st_ino for f in old.iterdir()} == old_files
    segments = {f.name for f in new.glob("*.seg")} & set(old_files)
    assert segments and all(os.path.samefile(old / name, new / name) for name in segments)


def test_filters(export, corpus, isolated_index):
    update([corpus, export], isolated_index)

    def found(**filters):
        return search(isolated_index, "ministre", limit=100, filters=Filters(**filters)).total

    assert found() == 22
    assert found(source="actu.orange.fr") == found(source="ACTU.ORANGE.FR") == 20
    assert found(category="Monde") == 20
    assert found(since="2020-06") == 9   # months 6 to 9 (n % 9 in 5..8), and Tachkent
    assert found(since="2020-03", until="2020-03") == 2  # n = 2, 11
    assert found(until="2020") == 20
    assert found(since="2025-04") == 1   # the Tachkent seed


def test_category_filter_takes_subcategories(tmp_path, isolated_index):
    path = tmp_path / "export.jsonl"
    write_export(path, [record(1, category="societe/justice"), record(2, category="societe"),
                        record(3, category="societes")])
    update([path], isolated_index)
    hits = search(isolated_index, "ministre", filters=Filters(category="Société")).hits
    assert sorted(hit.id for hit in hits) == ["export.jsonl#1", "export.jsonl#2"]


@pytest.mark.parametrize("value", ["juin 2020", "2020-6", "20-06-2020"])
def test_bad_dates_in_filters(seed_index, value):
    with pytest.raises(QuerySyntaxError, match=f"--since takes a date written 2020, 2020-06 "
                                               f"or 2020-06-15, or today, .*, not '{value}'."):
        search(seed_index, "maroc", filters=Filters(since=value))


def test_stats(corpus, export, isolated_index):
    update([corpus, export], isolated_index)
    found = stats(isolated_index)
    assert (found.documents, found.first_date, found.last_date) == (22, "2020-01-15", "2025-04")
    assert [(c.label, c.documents) for c in found.sources] == [("actu.orange.fr", 20)]
    assert [(c.label, c.documents) for c in found.categories] == [("monde", 20), ("politique", 1)]
    assert found.size_bytes > 0


def test_stats_do_not_count_removed_articles(export, isolated_index):
    update([export], isolated_index)
    write_export(export, [record(n) for n in range(5)])
    update([export], isolated_index, allow_removal=True)  # 15 of 20: more than MASS_REMOVAL_SHARE
    assert stats(isolated_index).sources[0].documents == 5


def test_cli_index_summary_and_verbose_skips(tmp_path, isolated_index):
    for n in range(12):
        (tmp_path / f"empty-{n:02}.txt").write_bytes(b"")
    (tmp_path / "good.txt").write_text("Titre\n\nTexte à Lomé.", "utf-8")
    result = CliRunner().invoke(cli, ["index", str(tmp_path)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"Index {isolated_index}: 1 added, 0 updated, 0 removed, 0 unchanged, 12 skipped."
    assert lines[1] == f"  skipped {tmp_path / 'empty-00.txt'}: empty file"
    assert lines[-1] == "  ... and 2 more (--verbose lists them)."
    verbose = CliRunner().invoke(cli, ["index", "--verbose", str(tmp_path)])
    assert verbose.output.splitlines()[0] == (
        f"Index {isolated_index}: 0 added, 0 updated, 0 removed, 1 unchanged, 12 skipped.")
    assert len(verbose.output.splitlines()) == 13


def test_cli_map_option_is_checked(export):
    result = CliRunner().invoke(cli, ["index", "--map", "body", str(export)])
    assert result.exit_code == 2
    assert "'body': write FIELD=NAME, e.g. body=texte." in result.output


def test_cli_stats(corpus, isolated_index):
    rebuild([corpus], isolated_index)
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1:3] == ["Documents:   2", "Dates:       2025-04 to 2025-04"]
    assert lines[5:] == ["Sources: none", "Categories:", "         1  politique"]


def test_cli_query_filters(export, isolated_index):
    update([export], isolated_index)
    result = CliRunner().invoke(cli, ["query", "--json", "--since", "2020-09", "--source",
                                      "actu.orange.fr", "--category", "monde", "Lomé"])
    data = json.loads(result.output)
    assert data["total"] == 2
    assert {hit["date"] for hit in data["hits"]} == {"2020-09-15"}
    assert {hit["source"] for hit in data["hits"]} == {"actu.orange.fr"}


@pytest.mark.parametrize("map_after", [records_module.MAP_AFTER, 1])
@pytest.mark.parametrize("order", [1, -1])  # -1: every line moved
def test_a_changed_export_parses_only_its_changed_records(export, isolated_index, monkeypatch,
                                                          map_after, order):
    """Past a few known articles (`map_after`), the lines read are decoded to find their
    ids (a map of a million fingerprints costs more than the few hundred lines a change
    reads): an unchanged one is still not parsed into an article."""
    monkeypatch.setattr(records_module, "MAP_AFTER", map_after)
    update([export], isolated_index)
    parsed = []
    real = records_module.record_article
    monkeypatch.setattr(records_module, "record_article",
                        lambda record, **kw: parsed.append(record["id"]) or real(record, **kw))
    changed = [record(n) for n in range(20)]
    changed[3]["title"] = "Dépêche corrigée"
    write_export(export, changed[::order])
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)
    assert parsed == [3]


def test_a_changed_export_decodes_only_its_changed_lines(export, isolated_index, monkeypatch):
    from search.formats import records

    update([export], isolated_index)
    decoded = []
    real = records.decode_line
    monkeypatch.setattr(records, "decode_line", lambda line: decoded.append(line) or real(line))
    changed = [record(n) for n in range(20)]
    changed[3]["title"] = "Dépêche corrigée"
    write_export(export, changed[::-1])  # every line moved, one changed
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)
    assert [json.loads(line)["id"] for line in decoded] == [3]


@pytest.mark.parametrize("encoding, bom", [("cp1252", b""), ("utf-16-le", b"\xff\xfe")])
def test_an_export_in_another_encoding_keeps_its_unchanged_lines(tmp_path, isolated_index,
                                                                  encoding, bom):
    export = tmp_path / "export.jsonl"
    records = [record(n) for n in range(3)]
    for texts in (records, records + [record(3)]):
        lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in texts)
        export.write_bytes(bom + lines.encode(encoding))
        report = update([export], isolated_index)
    assert counts(report) == (1, 0, 0, 3, 0)
    assert search(isolated_index, "arrivé").total == 4


CITIES = {"A": "Lomé", "B": "Cotonou", "C": "Niamey"}


@pytest.mark.parametrize(
    "before, after, expected_counts",
    [
        ("AB", "ABC", (1, 0, 0, 2, 0)),
        ("AB", "CAB", (1, 2, 0, 0, 0)),  # each text now on the next line: the next article
        ("AB", "B", (0, 1, 1, 0, 0)),
        ("ABA", "ABAC", (1, 0, 0, 3, 0)),
        ("AB", "BA", (0, 2, 0, 0, 0)),
    ],
)
def test_records_without_ids_are_the_articles_of_their_lines(tmp_path, isolated_index, before,
                                                              after, expected_counts):
    export = tmp_path / "export.jsonl"
    lines = {letter: {"article": f"Le ministre est arrivé à {city}."}
             for letter, city in CITIES.items()}
    write_export(export, [lines[letter] for letter in before])
    update([export], isolated_index)
    write_export(export, [lines[letter] for letter in after])
    assert counts(update([export], isolated_index)) == expected_counts
    found = {letter: sorted(hit.id for hit in search(isolated_index, city).hits)
             for letter, city in CITIES.items()}
    assert found == {letter: [f"export.jsonl#{n}" for n, seen in enumerate(after, 1)
                              if seen == letter] for letter in CITIES}


# --- writes large enough for sub-writers (PARALLEL_MIN_ARTICLES lowered to 50) ---------------

def parallel_export(path, count):
    write_export(path, [record(n, article=f"Le ministre est arrivé à Lomé pour la visite "
                                         f"numéro {n} ; étape {n % 7} à Cotonou.")
                        for n in range(count)])


def answers(index_dir):
    queries = ["Lomé", "Cotonou", '"visite numéro 123"', "étape", "ministre arrive"]
    # Every hit, with its score: ties are ranked by document number, which differs.
    return [(r.total, sorted((h.id, h.score, h.snippet) for h in r.hits))
            for r in (search(index_dir, q, limit=300) for q in queries)]


@pytest.fixture
def started(monkeypatch) -> list:
    """One item for each sub-writer started."""
    started = []
    real = writer_module.ParallelWriter._new_task
    monkeypatch.setattr(writer_module.ParallelWriter, "_new_task",
                        lambda self: started.append(1) or real(self))
    return started


def test_a_large_write_by_sub_writers_finds_what_one_process_finds(
        tmp_path, monkeypatch, started):
    export = tmp_path / "export.jsonl"
    parallel_export(export, 300)
    alone, split = tmp_path / "alone", tmp_path / "split"
    assert counts(update([export], alone)) == (300, 0, 0, 0, 0)
    monkeypatch.setattr(writer_module, "SUB_WRITERS", True)
    monkeypatch.setattr(writer_module, "PARALLEL_MIN_ARTICLES", 50)
    assert counts(update([export], split)) == (300, 0, 0, 0, 0)
    assert len(started) == writer_module.WRITER_PROCESSES
    # BM25's scores: the second stage re-scores the first 30 hits, and which 30 of equal
    # scores come first follows the document numbers, which differ.
    monkeypatch.setattr(searcher_module, "RERANK_DEPTH", 0)
    assert answers(split) == answers(alone)
    assert stats(split).documents == 300
    assert multiprocessing.active_children() == []


def test_a_large_write_numbers_the_articles_alike_however_fast_its_sub_writers(
        tmp_path, monkeypatch, sub_writers):
    """Equal scores rank by document number: a rebuild must not reorder them, even when
    one sub-writer starts late (a busy core)."""
    export = tmp_path / "export.jsonl"
    parallel_export(export, 400)
    assert counts(update([export], tmp_path / "first")) == (400, 0, 0, 0, 0)
    real = writer_module.run_sub_writer

    def first_one_late(*args):
        try:
            (tmp_path / "late").touch(exist_ok=False)
            time.sleep(1)
        except FileExistsError:
            pass
        real(*args)

    monkeypatch.setattr(writer_module, "run_sub_writer", first_one_late)
    assert counts(update([export], tmp_path / "second")) == (400, 0, 0, 0, 0)
    assert (tmp_path / "late").exists()
    for query in ("Lomé", "étape 3", "visite Cotonou"):
        assert ([hit.id for hit in search(tmp_path / "first", query, limit=400).hits]
                == [hit.id for hit in search(tmp_path / "second", query, limit=400).hits])


def test_a_large_write_on_one_core_stays_in_one_process(tmp_path, monkeypatch):
    export = tmp_path / "export.jsonl"
    parallel_export(export, 300)
    monkeypatch.setattr(writer_module, "SUB_WRITERS", None)  # the machine decides
    monkeypatch.setattr(writer_module, "PARALLEL_MIN_ARTICLES", 50)
    monkeypatch.setattr(writer_module.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(writer_module.ParallelWriter, "_new_task",
                        lambda self: pytest.fail("a sub-writer was started"))
    assert counts(update([export], tmp_path / "index")) == (300, 0, 0, 0, 0)
    assert search(tmp_path / "index", "Lomé").total == 300


def test_a_small_update_after_a_large_write_stays_in_one_process(
        tmp_path, monkeypatch, sub_writers, started):
    export = tmp_path / "export.jsonl"
    parallel_export(export, 300)
    update([export], tmp_path / "index")
    assert len(started) == writer_module.WRITER_PROCESSES
    monkeypatch.setattr(writer_module.ParallelWriter, "_new_task",
                        lambda self: pytest.fail("a sub-writer was started"))
    records = [json.loads(line) for line in export.read_text("utf-8").splitlines()]
    records[5]["article"] = "Le ministre est arrivé à Niamey."
    write_export(export, records)
    assert counts(update([export], tmp_path / "index")) == (0, 1, 0, 299, 0)
    assert [h.id for h in search(tmp_path / "index", "Niamey").hits] == ["export.jsonl#5"]
    assert search(tmp_path / "index", "Lomé").total == 299


@pytest.fixture
def large_write(tmp_path, export, isolated_index, sub_writers):
    """An index of `export` (20 articles), and an export large enough for sub-writers."""
    update([export], isolated_index)
    big = tmp_path / "big.jsonl"
    parallel_export(big, 300)
    return big


def assert_no_sub_writer_left_and_index_unchanged(index_dir):
    assert multiprocessing.active_children() == []
    assert search(index_dir, "Lomé").total == 20
    assert len(list(index_dir.glob("gen-*"))) == 1


def test_a_large_write_that_fails_stops_its_sub_writers_and_changes_nothing(
        large_write, export, isolated_index, monkeypatch, started):
    real = index_module.parse_file

    def failing(*args):
        for number, item in enumerate(real(*args)):
            if number == 250:  # sub-writers are at work by now
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(index_module, "parse_file", failing)
    with pytest.raises(KeyboardInterrupt):
        update([export, large_write], isolated_index)
    assert len(started) == writer_module.WRITER_PROCESSES
    assert_no_sub_writer_left_and_index_unchanged(isolated_index)


def test_a_sub_writer_that_dies_is_one_clear_error_and_changes_nothing(
        large_write, export, isolated_index, monkeypatch):
    monkeypatch.setattr(writer_module, "run_sub_writer", lambda *args: os._exit(3))
    result = CliRunner().invoke(cli, ["index", str(export), str(large_write),
                                      "--index", str(isolated_index)])
    assert (result.exit_code, result.output) == (
        1, "Error: 2 of 2 indexing processes failed (0 of 300 articles written); the previous "
           "index is unchanged.\n")
    assert_no_sub_writer_left_and_index_unchanged(isolated_index)


def test_a_sub_writer_that_dies_early_in_a_long_write_is_an_error_not_a_hang(
        tmp_path, isolated_index, export, sub_writers, monkeypatch):
    """More batches than a sub-writer's queue holds: the writer used to wait forever."""
    update([export], isolated_index)
    big = tmp_path / "big.jsonl"
    parallel_export(big, 1500)
    monkeypatch.setattr(writer_module, "run_sub_writer", lambda *args: os._exit(3))
    with pytest.raises(SubWriterFailed) as failed:
        update([export, big], isolated_index)
    assert str(failed.value) == ("An indexing process failed; the previous index is "
                                 "unchanged.")
    assert_no_sub_writer_left_and_index_unchanged(isolated_index)


def test_a_sub_writer_out_of_space_says_so(large_write, export, isolated_index, monkeypatch):
    class OutOfSpace(writer_module.GroupingSubWriterTask):
        def run(self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer_module, "GroupingSubWriterTask", OutOfSpace)
    with pytest.raises(IndexWriteError) as refused:
        update([export, large_write], isolated_index)
    assert str(refused.value) == (
        f"Could not write the index in {isolated_index}/: no space is left on the device: "
        "free some space, then run the command again. The previous index is unchanged.")
    assert_no_sub_writer_left_and_index_unchanged(isolated_index)


@pytest.mark.parametrize(("name", "good", "bad", "reason"), [
    ("export.jsonl", "\n".join(json.dumps(record(n)) for n in range(3)), b"\x00\x01garbage\xff",
     "binary file"),
    ("page.txt", "title: Visite\n\nLe ministre est arrivé à Lomé.\n", b"", "empty file"),
    ("page.txt", "title: Visite\n\nLe ministre est arrivé à Lomé.\n", b"\x00\x01\x02\xff" * 9,
     "binary file"),
    ("page.html", "<html><body><article><h1>Visite</h1><p>Le ministre est arrivé à Lomé pour "
     "une visite de travail.</p></article></body></html>", b"<html><body></body></html>",
     None),
])
def test_a_file_still_there_that_cannot_be_read_now_keeps_its_articles(
        tmp_path, name, good, bad, reason):
    """Nothing is removed because of how a file was read this time: a file that turned
    unreadable keeps its indexed articles, says so, and is read again next time."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "other.txt").write_text("title: Autre\n\nUne autre visite à Lomé.\n",
                                      encoding="utf-8")
    path = corpus / name
    path.write_text(good, encoding="utf-8")
    index_dir = tmp_path / "index"
    indexed = update([corpus], index_dir).added
    path.write_bytes(bad)
    report = update([corpus], index_dir)
    assert (report.added, report.updated, report.removed, report.unchanged) == (
        0, 0, 0, indexed)
    [skip] = report.skipped
    assert skip.reason.endswith("is kept" if indexed == 2 else "not read this time are kept")
    assert reason is None or skip.reason.startswith(reason)
    assert search(index_dir, "Lomé").total == indexed
    path.write_text(good, encoding="utf-8")
    assert counts(update([corpus], index_dir)) == (0, 0, 0, indexed, 0)


def test_an_export_whose_size_changed_is_not_hashed_whole(export, isolated_index, monkeypatch):
    """Its lines are hashed as they are read, and the changed one parsed: no survey of the
    whole file first. Touched afterwards without a change, it is hashed stretch by stretch
    and known as unchanged, without a write (so, like any touched file, hashed again until
    a write records its new times)."""
    _old_enough(monkeypatch)
    update([export], isolated_index)
    hashed = _surveys(monkeypatch)
    export.write_text(export.read_text("utf-8").replace("numéro 7.", "numéro 77."), "utf-8")
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)
    assert hashed == []
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    os.utime(export)
    generation = store_module.current_generation(isolated_index)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 20, 0)
    assert hashed == ["export.jsonl", "export.jsonl"]
    assert store_module.current_generation(isolated_index) == generation  # nothing written
    assert search(isolated_index, "77").total == 1


def test_a_manifest_without_sizes_is_read_as_before(export, isolated_index, monkeypatch):
    """Manifests written before sizes were kept: the file is hashed whole, as it was."""
    _old_enough(monkeypatch)
    update([export], isolated_index)
    manifest = next(isolated_index.glob("*/files.json"))
    data = json.loads(manifest.read_text("utf-8"))
    for entry in data.values():
        del entry["size"]
    manifest.write_text(json.dumps(data), "utf-8")
    record_checksums(manifest.parent, None)
    hashed = _surveys(monkeypatch)
    export.write_text(export.read_text("utf-8").replace("numéro 7.", "numéro 77."), "utf-8")
    assert counts(update([export], isolated_index)) == (0, 1, 0, 19, 0)
    assert hashed == ["export.jsonl"]


# --- an export re-read in stretches (search.stretches) ------------------------------------

def stretch_export(path, letters: str) -> None:
    """A record per letter: lower case with its own id, upper case without one, `!` a line
    that is not JSON, `?` a record with `a`'s id and no text, `_` a blank line; `a` and
    `A` have the same text."""
    lines = []
    for letter in letters:
        text = {"article": f"Le ministre est arrivé à {letter.lower()}ville."}
        special = {"!": "{broken", "?": json.dumps({"id": "a", "title": "Sans texte"}),
                   "_": ""}
        lines.append(special[letter] if letter in special else
                     json.dumps({"id": letter, **text} if letter.islower() else text))
    path.write_text("\n".join(lines) + "\n", "utf-8")


def indexed(index_dir) -> tuple[dict, list]:
    """The export's articles as the manifest lists them, and the index's documents."""
    generation = index_dir / store_module.current_generation(index_dir)
    [entry] = store_module.read_manifest(generation).values()
    return entry.articles, ids_and_bodies(index_dir)


def ids_and_bodies(index_dir) -> list[tuple[str, str]]:
    """The id and body of each article of the index (the body is in a column)."""
    with store_module.open_index(index_dir).reader() as reader:
        bodies = reader.column_reader("body")
        return sorted((reader.stored_fields(docnum)["id"], bodies[docnum])
                      for docnum in reader.all_doc_ids())


@pytest.mark.parametrize(
    "before, after, expected_counts",
    [
        ("abcdefgh", "abcdefgh", (0, 0, 0, 8, 0)),
        ("abcdefgh", "abcXdefgh", (1, 0, 0, 8, 0)),
        ("abcdefgh", "abcefgh", (0, 0, 1, 7, 0)),
        ("abcdefgh", "efghabcd", (0, 0, 0, 8, 0)),  # stretches moved
        ("abcdefgh", "abcdefghij", (2, 0, 0, 8, 0)),
        ("abcdefgh", "xabcdefgh", (1, 0, 0, 8, 0)),
        ("abcdefgh", "abcdefgha", (0, 0, 0, 8, 1)),  # a's id again: the first keeps it
        ("abcdefgh", "cabcdefgh", (0, 0, 0, 8, 1)),  # ... even where a stretch is reused
        ("abcdefgh", "dcabcdefgh", (0, 0, 0, 8, 2)),  # ... for every one of its articles
        ("ABCDEFGH", "XABCDEFGH", (1, 8, 0, 0, 0)),  # known by their lines: all moved
        ("ABCDEFGH", "ABCDEFGHX", (1, 0, 0, 8, 0)),
        ("ab!cdefgh", "ab!cdefgh", (0, 0, 0, 8, 1)),  # the bad line is told again
        ("ab!cdefgh", "xab!cdefgh", (1, 0, 0, 8, 1)),
        ("ab!cdefgh", "ab!cdXfgh", (1, 0, 1, 7, 1)),
    ],
)
@pytest.mark.parametrize("map_after", [records_module.MAP_AFTER, 1])  # records decoded first
def test_an_export_read_in_stretches_is_indexed_as_if_read_whole(
        tmp_path, isolated_index, monkeypatch, before, after, expected_counts, map_after):
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", 120)  # about two records
    monkeypatch.setattr(records_module, "MAP_AFTER", map_after)
    export = tmp_path / "corpus" / "export.jsonl"
    export.parent.mkdir()
    stretch_export(export, before)
    update([export], isolated_index)
    stretch_export(export, after)
    reused = _reused_stretches(monkeypatch)
    report = update([export], isolated_index)
    assert counts(report) == expected_counts
    assert indexed(isolated_index) == indexed_afresh(tmp_path, export)
    assert report.skipped == update([export], tmp_path / "fresh").skipped  # told alike
    if after != before and before.islower():
        assert reused, "unchanged stretches are not read again"


def indexed_afresh(tmp_path, export):
    fresh = tmp_path / "fresh"
    update([export], fresh)
    return indexed(fresh)


def _reused_stretches(monkeypatch) -> list:
    reused = []
    real = index_module._Stretches.reuse

    def reuse(self, mark, *args):
        reused.append(mark)
        return real(self, mark, *args)

    monkeypatch.setattr(index_module._Stretches, "reuse", reuse)
    return reused


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.text("abcdeABC!?_", min_size=1, max_size=9),
       edits=st.lists(st.text("abcdefxABX!?_", max_size=9), min_size=1, max_size=3),
       stretch_bytes=st.sampled_from([1, 60, 120]))
def test_any_series_of_edits_leaves_what_reading_every_line_leaves(
        tmp_path_factory, monkeypatch, before, edits, stretch_bytes):
    """The same series of edits updated in stretches and line by line (no stretch
    reused): the same articles, documents and reports, whatever is kept or refused."""
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", stretch_bytes)
    assert_read_alike(tmp_path_factory.mktemp("stretches"), monkeypatch, [before, *edits])


@pytest.mark.parametrize("series", [
    ["ab", "b?", "a?"],  # `?` keeps a's article, then a line before it has a again
    ["a?", "b?"],  # `?` kept nothing while a line before it had a, then keeps it
    ["ab?", "b?", "ab?"],
])
def test_a_skipped_record_keeps_its_article_as_if_read_whatever_the_stretches(
        tmp_path, monkeypatch, series):
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", 1)  # a line a stretch
    assert_read_alike(tmp_path, monkeypatch, series)


def assert_read_alike(folder, monkeypatch, series: list[str]) -> None:
    """Each export of `series` (`stretch_export`'s letters) updated in stretches and line
    by line (no stretch reused) gives the same counts, reports, articles and documents."""
    export = folder / "corpus" / "export.jsonl"
    export.parent.mkdir()
    for letters in series:
        stretch_export(export, letters)
        assert_updated_alike(folder, monkeypatch, [export])


def assert_updated_alike(folder, monkeypatch, paths) -> None:
    """`update(paths)` in stretches (index `folder/stretches`) and line by line, no
    stretch reused (`folder/lines`): the same counts, reports, manifest and documents."""
    outcomes = []
    for index_dir, reuse in ((folder / "lines", False), (folder / "stretches", True)):
        with monkeypatch.context() as patch:
            if not reuse:
                patch.setattr(index_module._Stretches, "accepts", lambda self, index: False)
            try:
                report = update(paths, index_dir, allow_removal=True)
            except CorpusError as error:
                outcomes.append(str(error).replace(str(index_dir), "INDEX"))
                continue
        generation = index_dir / store_module.current_generation(index_dir)
        manifest = {key: entry.articles
                    for key, entry in store_module.read_manifest(generation).items()}
        outcomes.append((counts(report), report.skipped, manifest, ids_and_bodies(index_dir)))
    assert outcomes[1] == outcomes[0]


SANS_TEXTE = json.dumps({"id": "x", "title": "Sans texte"})


def article(article_id: str, text: str) -> str:
    return json.dumps({"id": article_id, "article": f"Le ministre est arrivé à {text}."})


@pytest.mark.parametrize("order, steps", [
    # A record without text in two/ claims no id: one/ takes it, then two/ gives it too.
    (("two", "one"),
     [{"two": [SANS_TEXTE], "one": [article("x", "Lomé")]},
     {"two": [SANS_TEXTE, article("x", "Cotonou")]},
     {"two": [SANS_TEXTE, article("x", "Niamey")]}]),
    # two/'s x was given the path of two/ (one/ had it): once one/ drops it, it is x again.
    (("one", "two"),
     [{"one": [article("x", "Lomé")], "two": [article("x", "Dakar"), article("y", "Accra")]},
     {"two": [article("x", "Dakar"), article("y", "Accra"), article("z", "Lagos")]},
     {"one": [article("w", "Lomé")],
      "two": [article("x", "Dakar"), article("y", "Accra"), article("z", "Lagos"),
              article("v", "Rabat")]}]),
])
@pytest.mark.parametrize("map_after", [records_module.MAP_AFTER, 1])
def test_a_copy_of_an_export_in_another_folder_is_read_again_as_if_read_whole(
        tmp_path, monkeypatch, order, steps, map_after):
    """Two folders each with an `e.jsonl`, indexed in `order`: the ids they share are
    given the path of the later file, which depends on the other file; each step is
    updated in stretches and line by line alike."""
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", 1)
    monkeypatch.setattr(records_module, "MAP_AFTER", map_after)
    for step in steps:
        for folder, lines in step.items():
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / "e.jsonl").write_text("".join(f"{line}\n" for line in lines))
        assert_updated_alike(tmp_path, monkeypatch, [tmp_path / folder for folder in order])


@pytest.mark.parametrize("map_after", [records_module.MAP_AFTER, 1])
def test_an_id_given_the_path_of_its_file_is_given_back_once_free(tmp_path, isolated_index,
                                                                   monkeypatch, map_after):
    """two/e.jsonl's x took its file's path while one/e.jsonl had x; once one/ drops it,
    x is two/'s own again, whether its line was found by its fingerprint or decoded."""
    monkeypatch.setattr(records_module, "MAP_AFTER", map_after)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "e.jsonl").write_text(article("x", "Lomé") + "\n")
    lines = [article(name, name) for name in ("x", "y", "z")]
    (two / "e.jsonl").write_text("".join(f"{line}\n" for line in lines))
    update([one, two], isolated_index)
    (one / "e.jsonl").write_text(article("w", "Lomé") + "\n")
    (two / "e.jsonl").write_text("".join(f"{line}\n" for line in [*lines, article("v", "v")]))
    update([one, two], isolated_index, allow_removal=True)
    generation = isolated_index / store_module.current_generation(isolated_index)
    entry = store_module.read_manifest(generation)[str(two / "e.jsonl")]
    assert sorted(entry.articles) == ["e.jsonl#v", "e.jsonl#x", "e.jsonl#y", "e.jsonl#z"]


def test_an_export_emptied_keeps_its_articles_even_after_a_stretch_of_blank_lines(
        tmp_path, isolated_index, monkeypatch):
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", 60)
    export = tmp_path / "export.jsonl"
    stretch_export(export, "abcd_")  # its last stretch a blank line
    update([export], isolated_index)
    export.write_text("\n", "utf-8")
    report = update([export], isolated_index)
    assert (counts(report), [skip.reason for skip in report.skipped]) == (
        (0, 0, 0, 4, 1), ["empty file; its 4 indexed articles not read this time are kept"])


def test_an_export_with_an_id_twice_touched_without_a_change_is_not_written_again(
        tmp_path, isolated_index, monkeypatch):
    _old_enough(monkeypatch)
    export = tmp_path / "export.jsonl"
    stretch_export(export, "abca")
    update([export], isolated_index)
    generation = store_module.current_generation(isolated_index)
    os.utime(export)
    assert counts(update([export], isolated_index)) == (0, 0, 0, 3, 1)
    assert store_module.current_generation(isolated_index) == generation


def test_an_export_with_stretches_saved_in_utf16_at_the_same_size_is_read_again(
        tmp_path, isolated_index):
    """Its stretches cannot cut it (its lines are re-encoded): it is hashed whole, and an
    entry without a fingerprint (an id twice) never counts as unchanged."""
    export = tmp_path / "export.jsonl"
    lines = [json.dumps({"id": "a", "article": "Le ministre est parti."}),
             json.dumps({"id": "a", "article": "doublon"})]
    utf16 = ("\n".join(lines) + "\n").encode("utf-16")
    before = ("\n".join(lines) + "\n").replace("parti", "venu").encode()
    export.write_bytes(before[:-1] + b" " * (len(utf16) - len(before)) + b"\n")
    update([export], isolated_index)
    export.write_bytes(utf16)
    assert counts(update([export], isolated_index)) == (0, 1, 0, 0, 1)
    assert search(isolated_index, "parti").total == 1


def test_skipped_records_of_a_reused_stretch_are_told_by_the_path_given_now(
        tmp_path, isolated_index, monkeypatch):
    monkeypatch.setattr(stretches_module, "STRETCH_BYTES", 60)
    export = tmp_path / "corpus" / "export.jsonl"
    export.parent.mkdir()
    stretch_export(export, "!abcd")
    monkeypatch.chdir(tmp_path)
    update([Path("corpus/export.jsonl")], isolated_index)
    stretch_export(export, "!abcde")
    report = update([export], isolated_index)
    assert [skip.path for skip in report.skipped] == [f"{export}:1"]
