import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import index as index_module
from search.errors import CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError
from search.index import CURRENT, rebuild, write_lock
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

    def crash(files):
        yield from []
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "load_articles", crash)
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
    report = rebuild([SEEDS, SEEDS], tmp_path / "index")
    assert report.indexed == 2
    assert [s.reason for s in report.skipped] == [f"another file already has the id {RABAT}",
                                                  "another file already has the id "
                                                  "004_4f1f39c146262a98.txt"]


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


SLOW_REBUILD = """
import sys, time
from pathlib import Path
from search import index

real = index.load_articles
def slow(files):
    for item in real(files):
        print("indexing", flush=True)
        time.sleep(0.05)
        yield item
index.load_articles = slow
index.rebuild([Path(sys.argv[1])], Path(sys.argv[2]))
"""


def test_rebuild_killed_mid_run_leaves_the_previous_index(tmp_path):
    corpus = tmp_path / "many"
    corpus.mkdir()
    for n in range(200):
        (corpus / f"{n:03}.txt").write_text(f"Article {n}\n\nLa dépêche numéro {n} sur Lomé.",
                                            encoding="utf-8")
    index_dir = tmp_path / "index"
    rebuild([SEEDS], index_dir)
    child = subprocess.Popen([sys.executable, "-c", SLOW_REBUILD, str(corpus), str(index_dir)],
                             stdout=subprocess.PIPE, text=True)
    for _ in range(20):  # well into the rebuild, with the new generation being written
        child.stdout.readline()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert search(index_dir, "Farabi").total == 1
    assert search(index_dir, "Lomé").total == 0
    rebuild([corpus], index_dir)  # the next rebuild clears what the killed one left
    assert search(index_dir, "Lomé").total == 200
    assert len(generations(index_dir)) == 2
