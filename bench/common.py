"""What every benchmark shares: where the data is, running a measured process (wall and CPU
time, peak memory of its whole process tree), percentiles, the machine and its load."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)


def _shared_data() -> Path:
    """`shared/data` beside the repository, or beside a folder above it (a worktree)."""
    for folder in ROOT.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return ROOT.parent / "shared" / "data"


DATA_DIR = _shared_data()


def orangesum_records(path: Path) -> Iterator[dict]:
    """The records of an OrangeSum-style JSONL export, one at a time."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


# --- running and measuring a process ---------------------------------------------------

@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def tree_rss_kb(pid: int) -> int:
    """Resident kB of process `pid` and all its descendants now: the sum of their
    proportional set sizes (a page that n forked processes share counts 1/n in each)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0  # it exited meanwhile
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            continue  # it exited meanwhile
    return total // 1024


class TreeMemory(threading.Thread):
    """Samples the resident memory of a process tree every `interval` s; `peak_kb`."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))


def run_measured(command: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None, timeout: float | None = None) -> Run:
    """Run `command` to its end (or kill its process group after `timeout` s): its wall
    time, CPU time (its sub-processes' included, from wait4) and peak memory, the larger of
    the sampled total of the process tree (which a multi-process writer needs) and wait4's
    peak RSS of its largest process. Linux starts a child's peak RSS at its parent's when
    it forks, so wait4's counts only above this process's own peak: below, it may be ours."""
    own_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   env=env, cwd=cwd or tempfile.gettempdir(),
                                   start_new_session=True)
        memory = TreeMemory(process.pid)
        memory.start()
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(process.pid, 9)
            except ProcessLookupError:
                pass  # it ended meanwhile

        timer = threading.Timer(timeout, kill) if timeout is not None else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if timer is not None:
            timer.cancel()
        memory.done.set()
        memory.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        child_peak_kb = usage.ru_maxrss if usage.ru_maxrss > own_peak_kb else 0
        return Run(wall, usage.ru_utime + usage.ru_stime,
                   max(child_peak_kb, memory.peak_kb) / 1024,
                   process.returncode, out.read().decode(), err.read().decode(), killed.is_set())


def checked(run: Run, what: str) -> Run:
    if run.returncode:
        raise SystemExit(f"{what} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return run


def size_on_disk(folder: Path) -> int:
    """Bytes of the files under `folder`, each inode once (generations share hard links)."""
    seen, total = set(), 0
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `q` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- the machine -----------------------------------------------------------------------

def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: the machine is shared, each figure says it."""
    return [round(x, 2) for x in os.getloadavg()]


def log(message: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {message}", file=sys.stderr, flush=True)


def code_version() -> str:
    """The git revision of the repository, marked when `search/` has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return head + (" + uncommitted changes in search/" if git("status", "--porcelain", "search")
                   else "")


def machine() -> dict:
    """The date, the machine and the versions a set of figures was measured with."""
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "cpu": next((line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor()),
        "python": platform.python_version(),
        "whoosh3": version("whoosh3"),
        "tantivy": version("tantivy"),
        "sqlite": sqlite3.sqlite_version,
        "code": code_version(),
    }
