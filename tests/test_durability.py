"""Never lose work: real `search` processes killed mid-write, readers during a write, and
a second writer. The child process is the real CLI, slowed down so that it can be caught
in the middle of its work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import cli
from search.index import rebuild, update
from search.searcher import open_searcher, search

from .conftest import SEEDS

SLOW_CLI = """
import os, sys, time
from search import index, store
from search.whoosh_fast import writer

# PARALLEL=1: writes of 10 articles or more go to sub-writer processes (whatever the cores);
# otherwise every write stays in one process.
writer.SUB_WRITERS = os.environ.get("PARALLEL") == "1"
writer.PARALLEL_MIN_ARTICLES = 10

real_parse = index.parse_file
def slow_parse(*args):
    for item in real_parse(*args):
        print("article", flush=True)
        time.sleep(0.02)
        yield item
index.parse_file = slow_parse

real_switch = store.switch_current
def slow_switch(index_dir, generation):
    print("committed", flush=True)  # the new generation is complete, not yet current
    time.sleep(float(os.environ["PAUSE_BEFORE_SWITCH"]))
    real_switch(index_dir, generation)
store.switch_current = slow_switch

from search.cli import main
sys.argv = ["search", *sys.argv[1:]]
main()
"""


def write_articles(folder: Path, place: str, count: int) -> None:
    folder.mkdir(exist_ok=True)
    for n in range(count):
        (folder / f"{place}-{n:03}.txt").write_text(
            f"Dépêche {n} de {place}\n\nLe ministre est arrivé à {place} pour la visite {n}.",
            encoding="utf-8")


def start_slow(*args: str, pause: float = 30, parallel: bool = False) -> subprocess.Popen:
    """The CLI, pausing 0.02 s on each article and `pause` s before switching generations;
    `parallel`: with sub-writers from the 10th article on."""
    env = {**os.environ, "PAUSE_BEFORE_SWITCH": str(pause), "PARALLEL": str(int(parallel))}
    return subprocess.Popen([sys.executable, "-c", SLOW_CLI, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(child: subprocess.Popen, line: str, times: int = 1) -> None:
    """Read the child's progress lines until `line` has come `times` times."""
    while times:
        said = child.stdout.readline().strip()
        assert said in ("article", "committed"), (said, child.stderr.read())
        times -= said == line


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL  # killed mid-run, not finished or crashed


def totals(index_dir: Path) -> tuple[int, int]:
    """Articles on Lomé and on Cotonou, seen by one searcher (one generation)."""
    with open_searcher(index_dir) as searcher:
        return searcher.search("Lomé").total, searcher.search("Cotonou").total


@pytest.fixture
def archive(tmp_path):
    """An indexed archive of 100 articles on Lomé, and 200 new ones on Cotonou beside it."""
    corpus = tmp_path / "corpus"
    write_articles(corpus, "Lomé", 100)
    index_dir = tmp_path / "index"
    update([corpus], index_dir)
    write_articles(corpus, "Cotonou", 200)
    (corpus / "Lomé-000.txt").unlink()
    return corpus, index_dir


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "sub-writers"])
@pytest.mark.parametrize("command", ["index", "rebuild"])
@pytest.mark.parametrize("moment, line, times", [
    ("while reading articles", "article", 50),
    ("after the commit, before the switch", "committed", 1),
])
def test_a_write_killed_at_any_moment_leaves_the_previous_index(
        archive, command, moment, line, times, parallel):
    corpus, index_dir = archive
    child = start_slow(command, str(corpus), "--index", str(index_dir), parallel=parallel)
    wait_for(child, line, times)
    kill(child)
    assert totals(index_dir) == (100, 0)
    report = update([corpus], index_dir)  # the next write clears what the killed one left
    assert (report.added, report.removed) == (200, 1)
    assert totals(index_dir) == (99, 200)
    assert len(list(index_dir.glob("gen-*"))) == 2


def test_readers_see_a_consistent_index_while_it_is_updated(archive):
    corpus, index_dir = archive
    child = start_slow("index", str(corpus), "--index", str(index_dir), pause=0.5)
    wait_for(child, "article")
    seen = set()
    while child.poll() is None:
        seen.add(totals(index_dir))
        time.sleep(0.05)
    assert child.returncode == 0, child.stderr.read()
    seen.add(totals(index_dir))
    assert seen == {(100, 0), (99, 200)}


def test_a_second_writer_waits_then_fails_and_the_index_stays_whole(archive):
    corpus, index_dir = archive
    child = start_slow("index", str(corpus), "--index", str(index_dir))
    wait_for(child, "article")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["rebuild", str(SEEDS), "--index", str(index_dir)])
    assert time.monotonic() - started >= 2.5  # it waited for the first writer
    assert (result.exit_code, result.output) == (
        1, f"Error: Another process is writing to the index in {index_dir}/; "
           "try again when it has finished.\n")
    assert totals(index_dir) == (100, 0)
    kill(child)
    assert totals(index_dir) == (100, 0)


def descendants(pid: int) -> set[int]:
    found, pending = set(), [pid]
    while pending:
        for task in Path(f"/proc/{pending.pop()}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            found |= children
            pending.extend(children)
    return found


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie has exited, it has only not been reaped)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "sub-writers"])
def test_the_lock_of_a_killed_writer_is_released(archive, parallel):
    corpus, index_dir = archive
    child = start_slow("index", str(corpus), "--index", str(index_dir), parallel=parallel)
    wait_for(child, "article", 60)  # with sub-writers: they are at work by now
    helpers = descendants(child.pid)
    assert bool(helpers) == parallel
    kill(child)
    deadline = time.monotonic() + 3
    while any(map(running, helpers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(running, helpers))  # sub-writers die with the writer
    rebuild([SEEDS], index_dir, allow_removal=True)  # the 100 articles give way to the seeds
    assert search(index_dir, "Farabi").total == 1
