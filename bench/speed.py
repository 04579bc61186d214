"""Speed and memory of our product against stock Whoosh, SQLite FTS5 and tantivy (issue 4).

One command reproduces every figure (about 25 minutes on the 2-core machine):

    .venv/bin/python bench/speed.py [--sample N] [--work DIR]
        [--systems ours,whoosh-fr,fts5,tantivy]
        [--per-type 60] [--repeat 3] [--cli-runs 15] [--changes 3] [--update-per-type 60]
        [--steps index,query,cli,reindex] [--profile] [--data DIR]

`--sample 3000` takes the first 3,000 records of the export, for a quick run. What it does,
in this order, one heavy step at a time:

1. Indexing. The export (`orangesum/orangesum.jsonl` of `--data`, or its first N records)
   is copied to `--work`, then indexed by each system in a process of its own: ours as the
   product does it, `search index FILE --index DIR`; the peers by `speed_peers.py build`,
   with our schema's fields (title, heading as lead, body, category; id, url, date, source
   stored). Documents/s, MB of text/s (UTF-8 bytes of title + heading + article), peak
   resident memory of the process and its sub-processes (the larger of `wait4`'s largest
   process and their sampled total, every 100 ms, of proportional set sizes), index size
   on disk, wall and CPU time (sub-processes' included).
2. Query latency on the index our product built, with one reused searcher
   (`open_searcher(...).search(text, limit=10)`, highlighted snippets included): p50 and
   p95 over `--per-type` queries of each type (one, two, three words, a quoted phrase,
   `word*`, `word~`), drawn with a fixed seed from the titles of `known-item-dev.tsv`. Each
   query is run once to warm up, then `--repeat` times; its time is the median of those.
   The peers answer the same texts where they support the type, top 10 with a body snippet.
3. The CLI, process start to exit: `search query 'Poutine référendum' --index DIR`,
   median of `--cli-runs`, beside the bare interpreter start and `import search.cli`; the
   slowest imports from `python -X importtime`.
4. Re-indexing the copied export: `search index` again on it unchanged, then after changing
   one record's `article` (`--changes` times, a different record each time); medians. This
   runs on a hard-linked copy of the index (Whoosh never rewrites a file), which then holds
   several segments, as a user's index does after updates: the first `--update-per-type`
   queries of each type are timed on it too (median of `--repeat` runs each).
5. With `--profile`: cProfile of each figure that misses its target (indexing a
   3,000-record sample, the first 20 queries of each slow type, a re-index after a change,
   the CLI); the profiles are saved in `--work` and their top functions printed.

Prints one table per step, the targets met or missed, then one JSON line `{"speed": ...}`.
Ratios compare systems measured in the same run: the machine is shared and noisy.

The product measured is a snapshot of `search/` copied to `--work`/snapshot when the run
starts (and put first on the path of every process), so that edits made to `search/`
during the run cannot mix two versions of the analyzer in one set of figures;
`--steps query,cli,reindex` (without `index`) reuses the snapshot and indexes of the last run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import psutil
from speed_peers import OPENERS, PEERS

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DATA_DIR = ROOT.parent / "shared" / "data"
PYTHON = Path(sys.executable)
SEARCH = PYTHON.parent / "search"
SYSTEMS = ("ours", *PEERS)

QUERY_TYPES = ("one word", "two words", "three words", "phrase", "truncation", "fuzzy")
PEER_KIND = {"one word": "words", "two words": "words", "three words": "words",
             "phrase": "phrase", "truncation": "prefix", "fuzzy": "fuzzy"}
CLI_QUERY = "Poutine référendum"
# Where processes start: `python -m`/`-c` put their working folder first on the path, so it
# must not be the repository's (its live `search/`); `use_snapshot` sets it to the snapshot.
RUN_FOLDER = Path(tempfile.gettempdir())
SEED = 4
PROFILED_QUERIES = 20  # of a slow type: cProfile makes Whoosh's matchers several times slower

TARGETS = {
    "indexing_ratio_vs_whoosh": 2.0,  # at least
    "query_p95_ms": 50.0,  # at most, every type
    "cli_median_s": 0.6,
    "reindex_change_median_s": 2.0,
}


# --- running and measuring a process ---------------------------------------------------

@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def tree_rss_kb(pid: int) -> int:
    """Resident kB of process `pid` and all its descendants now: the sum of their
    proportional set sizes (a page that n forked processes share counts 1/n in each)."""
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

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `command` to its end; its wall time, CPU time (its sub-processes' included) and
    peak RSS: the larger of wait4's (the largest single process) and the sampled total
    over the process and its sub-processes, which a multi-process writer needs."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   env=env, cwd=RUN_FOLDER)
        memory = TreeMemory(process.pid)
        memory.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        memory.done.set()
        memory.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime,
                   max(usage.ru_maxrss, memory.peak_kb) / 1024,
                   process.returncode, out.read().decode(), err.read().decode())


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


def log(message: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {message}", file=sys.stderr, flush=True)


# --- 0. the code and the corpus ---

def use_snapshot(work: Path, take: bool) -> Path:
    """Measure the `search` package copied to `work`/snapshot (copied now if `take`): it is
    put first on this process's path and on the PYTHONPATH of every process started."""
    snapshot = work / "snapshot"
    if take:
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(ROOT / "search", snapshot / "search",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (snapshot / "VERSION").write_text(code_version(snapshot) + "\n", "utf-8")
    elif not (snapshot / "search").is_dir():
        raise SystemExit(f"No snapshot of search/ in {work}: run the index step first.")
    if "search" in sys.modules:
        raise RuntimeError("use_snapshot must run before `search` is imported")
    global RUN_FOLDER
    RUN_FOLDER = snapshot
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    sys.path.insert(0, str(snapshot))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(snapshot), os.environ.get("PYTHONPATH")]))
    return snapshot


def code_version(snapshot: Path) -> str:
    """The git revision, and a digest of the snapshot when it differs from it."""
    import hashlib

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    digest = hashlib.sha256()
    for path in sorted((snapshot / "search").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(snapshot)).encode() + b"\0" + path.read_bytes())
    committed = hashlib.sha256()
    listed = subprocess.run(["git", "ls-files", "search"], cwd=ROOT, capture_output=True,
                            text=True).stdout.split()
    for name in sorted(listed):
        shown = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True)
        committed.update(name.encode() + b"\0" + shown.stdout)
    same = digest.hexdigest() == committed.hexdigest()
    return head if same else f"{head} + uncommitted changes (snapshot {digest.hexdigest()[:12]})"


@dataclass
class Corpus:
    path: Path
    records: int
    documents: int  # records with a non-empty article
    text_mb: float  # UTF-8 bytes of title + heading + article of those documents


def prepare_corpus(source: Path, work: Path, sample: int | None) -> Corpus:
    """A copy of the export in `work` (its first `sample` records), and what it holds."""
    target = work / "orangesum.jsonl"
    records = documents = text_bytes = 0
    with open(source, encoding="utf-8") as lines, open(target, "w", encoding="utf-8") as out:
        for line in lines:
            if sample is not None and records >= sample:
                break
            out.write(line)
            records += 1
            record = json.loads(line)
            body = (record.get("article") or "").strip()
            if body:
                documents += 1
                text_bytes += sum(len((record.get(k) or "").encode())
                                  for k in ("title", "heading", "article"))
    return Corpus(target, records, documents, text_bytes / 1e6)


# --- 1. indexing -----------------------------------------------------------------------

def index_command(system: str, corpus: Path, folder: Path) -> list[str]:
    if system == "ours":
        return [str(SEARCH), "index", str(corpus), "--index", str(folder)]
    return [str(PYTHON), str(BENCH / "speed_peers.py"), "build", system, str(corpus), str(folder)]


def indexed_count(system: str, run: Run) -> int:
    if system == "ours":
        found = re.search(r"([\d,]+) added", run.stdout)
        return int(found.group(1).replace(",", "")) if found else -1
    return json.loads(run.stdout.strip().splitlines()[-1])["documents"]


def bench_indexing(systems: list[str], corpus: Corpus, work: Path) -> dict[str, dict]:
    results = {}
    for system in systems:
        folder = work / f"index-{system}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        log(f"indexing with {system}...")
        run = checked(run_measured(index_command(system, corpus.path, folder)),
                      f"indexing with {system}")
        docs = indexed_count(system, run)
        results[system] = {
            "documents": docs,
            "wall_s": round(run.wall_s, 2),
            "cpu_s": round(run.cpu_s, 2),
            "docs_per_s": round(docs / run.wall_s, 1),
            "mb_text_per_s": round(corpus.text_mb * docs / corpus.documents / run.wall_s, 3),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "index_mb": round(size_on_disk(folder) / 1e6, 1),
        }
        log(f"{system}: {results[system]}")
    if "ours" in results and "whoosh-fr" in results:
        stock = results["whoosh-fr"]
        for row in results.values():
            row["throughput_vs_whoosh"] = round(row["docs_per_s"] / stock["docs_per_s"], 2)
            # CPU time is less sensitive than wall time to the other jobs of a shared machine.
            row["cpu_ratio_vs_whoosh"] = round(
                stock["cpu_s"] / stock["documents"] / (row["cpu_s"] / row["documents"]), 2)
    return results


# --- 2. query latency ------------------------------------------------------------------

_TITLE_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def content_words(title: str) -> list[str]:
    """A title's words without elided articles and stop words, as written."""
    from search.analysis import STOP_WORDS, fold, strip_elision

    words = (strip_elision(w) for w in _TITLE_WORD.findall(title))
    return [w for w in words if len(w) >= 4 and fold(w) not in STOP_WORDS and fold(w).isalpha()]


def make_queries(known_items: Path, per_type: int, seed: int = SEED) -> dict[str, list[str]]:
    """`per_type` distinct queries of each type, drawn from real titles with a fixed seed."""
    with open(known_items, encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    titles = sorted(query for _, _, kind, query in rows if kind == "title")
    rng = random.Random(seed)

    def one() -> str | None:
        words = content_words(rng.choice(titles))
        return rng.choice(words) if words else None

    def run_of(n: int) -> str | None:
        words = content_words(rng.choice(titles))
        if len(words) < n:
            return None
        start = rng.randrange(len(words) - n + 1)
        chosen = words[start:start + n]
        return " ".join(chosen) if len({w.lower() for w in chosen}) == n else None

    def phrase() -> str | None:
        words = _TITLE_WORD.findall(rng.choice(titles))
        n = rng.choice((2, 3))
        if len(words) < n:
            return None
        start = rng.randrange(len(words) - n + 1)
        window = words[start:start + n]
        if not (content_words(window[0]) and content_words(window[-1])):
            return None
        return '"' + " ".join(window) + '"'

    def truncation() -> str | None:
        words = [w for w in content_words(rng.choice(titles)) if len(w) >= 6]
        return rng.choice(words)[:rng.choice((4, 5))] + "*" if words else None

    def fuzzy() -> str | None:
        words = [w for w in content_words(rng.choice(titles)) if len(w) >= 5]
        return rng.choice(words) + "~" if words else None

    makers: dict[str, Callable[[], str | None]] = {
        "one word": one, "two words": lambda: run_of(2), "three words": lambda: run_of(3),
        "phrase": phrase, "truncation": truncation, "fuzzy": fuzzy,
    }
    queries = {}
    for kind, make in makers.items():
        chosen: dict[str, None] = {}
        for _ in range(100 * per_type):
            text = make()
            if text:
                chosen[text] = None
            if len(chosen) == per_type:
                break
        queries[kind] = list(chosen)
    return queries


Answer = Callable[[str, str], list | None]


class OurSearcher(AbstractContextManager):
    """The product library, one searcher reused: `s.search(text, limit=10)`."""

    def __init__(self, folder: Path) -> None:
        from search.searcher import open_searcher

        self._context = open_searcher(folder)

    def __enter__(self) -> Answer:
        from search.errors import SearchError

        searcher = self.searcher = self._context.__enter__()

        def answer(kind: str, text: str) -> list:
            try:
                return list(searcher.search(text, limit=10).hits)
            except SearchError:
                return []

        return answer

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)


def time_queries(answer: Answer, queries: dict[str, list[str]], repeat: int,
                 peer: bool, keep: dict | None = None) -> dict[str, dict]:
    """Per type: p50 and p95 of the per-query medians, and how many queries found something;
    `keep`, if given, receives each query's answer."""
    figures = {}
    for kind, texts in queries.items():
        peer_kind = PEER_KIND[kind] if peer else kind
        if answer(peer_kind, texts[0]) is None:
            figures[kind] = None  # unsupported
            continue
        times, found = [], 0
        for text in texts:
            hits = answer(peer_kind, text)  # warm-up
            found += bool(hits)
            if keep is not None:
                keep[text] = hits
            runs = []
            for _ in range(repeat):
                start = time.perf_counter()
                answer(peer_kind, text)
                runs.append((time.perf_counter() - start) * 1000)
            times.append(median(runs))
        figures[kind] = {"queries": len(texts), "with_hits": found,
                         "p50_ms": round(percentile(times, 0.50), 2),
                         "p95_ms": round(percentile(times, 0.95), 2),
                         "max_ms": round(max(times), 2)}
    return figures


def bench_queries(systems: list[str], work: Path, queries: dict[str, list[str]],
                  repeat: int) -> dict[str, dict]:
    results = {}
    for system in systems:
        folder = work / f"index-{system}"
        log(f"queries on {system}...")
        opener = OurSearcher(folder) if system == "ours" else OPENERS[system](folder)
        with opener as answer:
            results[system] = time_queries(answer, queries, repeat, peer=system != "ours")
        log(f"{system}: done")
    return results


# --- 3. the CLI ------------------------------------------------------------------------

def importtime_offenders(command: list[str], top: int = 12) -> list[dict]:
    """The imports with the largest cumulative time under `python -X importtime`: the
    outermost ones of our package, then the others (a package's total includes those it
    imports, so nested entries overlap)."""
    run = checked(run_measured([str(PYTHON), "-X", "importtime", *command]), "importtime")
    rows = []
    for line in run.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if found:
            rows.append((int(found.group(2)), int(found.group(1)), len(found.group(3)),
                         found.group(4)))
    ours = [r for r in rows if r[3] == "search.cli"]
    others = sorted((r for r in rows if not r[3].startswith("search")), reverse=True)
    return [{"module": name, "cumulative_ms": round(cum / 1000, 1), "self_ms": round(own / 1000, 1)}
            for cum, own, _, name in (ours + others)[:top]]


def bench_cli(folder: Path, runs: int) -> dict:
    commands = {
        "python -c pass": [str(PYTHON), "-c", "pass"],
        "import search.cli": [str(PYTHON), "-c", "import search.cli"],
        f"search query '{CLI_QUERY}'": [str(SEARCH), "query", CLI_QUERY, "--index", str(folder)],
    }
    result: dict = {}
    for name, command in commands.items():
        checked(run_measured(command), name)  # warm the file cache
        walls = [checked(run_measured(command), name).wall_s for _ in range(runs)]
        result[name] = {"runs": runs, "median_s": round(median(walls), 3),
                        "min_s": round(min(walls), 3), "max_s": round(max(walls), 3)}
    result["importtime"] = importtime_offenders(
        ["-m", "search", "query", CLI_QUERY, "--index", str(folder)])
    return result


# --- 4. re-indexing --------------------------------------------------------------------

def change_record(corpus: Path, rng: random.Random, number: int) -> str:
    """Append a sentence to the `article` of one record with a body; its id."""
    lines = corpus.read_text("utf-8").splitlines(keepends=True)
    while True:
        i = rng.randrange(len(lines))
        record = json.loads(lines[i])
        if (record.get("article") or "").strip():
            break
    record["article"] += f" Phrase ajoutée pour le test de réindexation numéro {number}."
    lines[i] = json.dumps(record, ensure_ascii=False) + "\n"
    temporary = corpus.with_suffix(".tmp")
    temporary.write_text("".join(lines), "utf-8")
    os.replace(temporary, corpus)
    return str(record.get("id"))


def bench_reindex(corpus: Corpus, folder: Path, changes: int) -> dict:
    command = index_command("ours", corpus.path, folder)
    unchanged = []
    for _ in range(3):
        run = checked(run_measured(command), "re-index unchanged")
        if " 0 added, 0 updated" not in run.stdout:
            raise SystemExit(f"an unchanged re-index changed something: {run.stdout}")
        unchanged.append(run.wall_s)
    rng = random.Random(SEED)
    changed, rss = [], []
    for number in range(changes):
        record = change_record(corpus.path, rng, number)
        run = checked(run_measured(command), "re-index after a change")
        if " 1 updated" not in run.stdout:
            raise SystemExit(f"changing record {record} did not update one article: {run.stdout}")
        changed.append(run.wall_s)
        rss.append(run.peak_rss_mb)
    return {
        "unchanged_runs": [round(x, 3) for x in unchanged],
        "unchanged_median_s": round(median(unchanged), 3),
        "change_runs": [round(x, 3) for x in changed],
        "change_median_s": round(median(changed), 3),
        "change_peak_rss_mb": round(max(rss), 1),
    }


def segment_count(folder: Path) -> int:
    from search.index import open_index

    return len(open_index(folder)._segments())


# --- 5. profiles -----------------------------------------------------------------------

def top_functions(profile_file: Path, sort: str, count: int = 15) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(profile_file), stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(count)
    text = out.getvalue()
    return text[text.find("   ncalls"):].rstrip()


def profile_command(command: list[str], output: Path) -> Path:
    """`command` (a `search ...` command line) run under cProfile, saved to `output`."""
    checked(run_measured([str(PYTHON), "-m", "cProfile", "-o", str(output), "-m", "search",
                          *command[1:]]), "profiling")
    return output


def profile_indexing(source: Path, work: Path, sample: int = 3000) -> Path:
    part = work / "profile-sample.jsonl"
    with open(source, encoding="utf-8") as lines, open(part, "w", encoding="utf-8") as out:
        for number, line in enumerate(lines):
            if number >= sample:
                break
            out.write(line)
    folder = work / "index-profile"
    shutil.rmtree(folder, ignore_errors=True)
    return profile_command(index_command("ours", part, folder), work / "profile-index.prof")


def profile_queries(folder: Path, texts: list[str], output: Path) -> Path:
    with OurSearcher(folder) as answer:
        for text in texts:
            answer("", text)  # warm-up
        profiler = cProfile.Profile()
        profiler.enable()
        for text in texts:
            answer("", text)
        profiler.disable()
    profiler.dump_stats(str(output))
    return output


# --- report ----------------------------------------------------------------------------

def machine(snapshot: Path) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "cpu": next((line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor()),
        "python": platform.python_version(),
        "whoosh3": metadata.version("whoosh3"),
        "tantivy": metadata.version("tantivy"),
        "sqlite": sqlite3.sqlite_version,
        "code": (snapshot / "VERSION").read_text("utf-8").strip(),
    }


def indexing_table(results: dict[str, dict]) -> str:
    lines = [f"{'system':<10} {'docs':>7} {'wall s':>8} {'cpu s':>8} {'docs/s':>8} {'MB/s':>6} "
             f"{'peak RSS MB':>11} {'index MB':>9} {'vs whoosh-fr: wall':>18} {'cpu':>6}"]
    for system, r in results.items():
        ratio, cpu = r.get("throughput_vs_whoosh"), r.get("cpu_ratio_vs_whoosh")
        lines.append(f"{system:<10} {r['documents']:>7,} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} "
                     f"{r['docs_per_s']:>8.1f} {r['mb_text_per_s']:>6.2f} "
                     f"{r['peak_rss_mb']:>11.0f} "
                     f"{r['index_mb']:>9.1f} {f'{ratio:.2f}x' if ratio else '-':>18} "
                     f"{f'{cpu:.2f}x' if cpu else '-':>6}")
    lines.append("(ratios: documents per second, or per CPU-second, over stock Whoosh's)")
    return "\n".join(lines)


def query_table(results: dict[str, dict]) -> str:
    systems = list(results)
    lines = [f"{'type (p50 / p95 ms)':<20}" + "".join(f"{s:>22}" for s in systems)]
    for kind in QUERY_TYPES:
        cells = []
        for system in systems:
            f = results[system].get(kind)
            cells.append(f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f} ({f['with_hits']}/{f['queries']})"
                         if f else "unsupported")
        lines.append(f"{kind:<20}" + "".join(f"{c:>22}" for c in cells))
    lines.append("(n/m: queries with at least one hit / queries)")
    return "\n".join(lines)


def cli_table(result: dict) -> str:
    lines = [f"{'command':<40} {'median s':>9} {'min s':>7} {'max s':>7}"]
    for name, r in result.items():
        if name != "importtime":
            lines.append(f"{name:<40} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['max_s']:>7.3f}")
    lines.append("slowest imports (cumulative ms / self ms): " + ", ".join(
        f"{r['module']} {r['cumulative_ms']:.0f}/{r['self_ms']:.0f}" for r in result["importtime"]))
    return "\n".join(lines)


def verdicts(report: dict) -> dict[str, dict]:
    out = {}
    indexing = report.get("indexing", {})
    if "ours" in indexing and "whoosh-fr" in indexing:
        ratio = indexing["ours"]["throughput_vs_whoosh"]
        out["indexing ≥ 2x stock Whoosh (wall)"] = {
            "value": ratio, "met": ratio >= TARGETS["indexing_ratio_vs_whoosh"]}
        cpu = indexing["ours"]["cpu_ratio_vs_whoosh"]
        out["indexing ≥ 2x stock Whoosh (CPU)"] = {
            "value": cpu, "met": cpu >= TARGETS["indexing_ratio_vs_whoosh"]}
    ours = report.get("queries", {}).get("ours")
    if ours:
        for kind, f in ours.items():
            out[f"query p95 ≤ 50 ms: {kind}"] = {"value": f["p95_ms"],
                                                  "met": f["p95_ms"] <= TARGETS["query_p95_ms"]}
    cli = report.get("cli")
    if cli:
        value = cli[f"search query '{CLI_QUERY}'"]["median_s"]
        out["CLI query ≤ 0.6 s"] = {"value": value, "met": value <= TARGETS["cli_median_s"]}
    reindex = report.get("reindex")
    if reindex:
        value = reindex["change_median_s"]
        out["re-index one change ≤ 2 s"] = {"value": value,
                                            "met": value <= TARGETS["reindex_change_median_s"]}
        for kind, f in reindex["queries_after_updates"].items():
            out[f"query p95 ≤ 50 ms after updates: {kind}"] = {
                "value": f["p95_ms"], "met": f["p95_ms"] <= TARGETS["query_p95_ms"]}
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-speed"),
                        help="where the corpus copy and the indexes go (default: %(default)s)")
    parser.add_argument("--sample", type=int, help="only the first N records of the export")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated, among %(default)s (step 1 and 2)")
    parser.add_argument("--steps", default="index,query,cli,reindex",
                        help="comma-separated steps to run (default: %(default)s); "
                             "query, cli and reindex need the indexes of a previous run")
    parser.add_argument("--per-type", type=int, default=60, help="queries per type")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument("--cli-runs", type=int, default=15)
    parser.add_argument("--changes", type=int, default=3, help="re-indexings after a change")
    parser.add_argument("--update-per-type", type=int, default=60,
                        help="queries per type timed on the index after the changes")
    parser.add_argument("--profile", action="store_true",
                        help="profile the figures that miss their targets")
    args = parser.parse_args(argv)
    args.systems = args.systems.split(",")
    unknown = [s for s in args.systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system {', '.join(unknown)}; choose among {', '.join(SYSTEMS)}")
    args.steps = args.steps.split(",")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    snapshot = use_snapshot(args.work, take="index" in args.steps)
    report: dict = {"machine": machine(snapshot), "load_start": os.getloadavg()}
    source = args.data / "orangesum" / "orangesum.jsonl"
    corpus_file = args.work / "orangesum.jsonl"
    # A re-index step changes records of the copy: the next one starts from a fresh copy,
    # as the index of a previous run was built from one.
    if "index" in args.steps or "reindex" in args.steps or not corpus_file.exists():
        log(f"copying {source} to {args.work}...")
        corpus = prepare_corpus(source, args.work, args.sample)
    else:  # later steps reuse a previous run's copy and indexes
        corpus = None
    report["corpus"] = ({k: str(v) if isinstance(v, Path) else v for k, v in asdict(corpus).items()}
                        if corpus else None)
    print(f"# Speed benchmark, {report['machine']['date']}: {report['machine']['nproc']} cores, "
          f"{report['machine']['memory_gb']} GB, {report['machine']['cpu']}; "
          f"whoosh3 {report['machine']['whoosh3']}, tantivy {report['machine']['tantivy']}, "
          f"SQLite {report['machine']['sqlite']}; code {report['machine']['code']}")
    if corpus:
        print(f"# corpus: {corpus.records:,} records, {corpus.documents:,} with a body, "
              f"{corpus.text_mb:.1f} MB of text (title + heading + article)\n")

    if "index" in args.steps:
        report["indexing"] = bench_indexing(args.systems, corpus, args.work)
        print("## 1. Indexing (one process each; wall-clock throughput)\n")
        print(indexing_table(report["indexing"]) + "\n")

    ours_index = args.work / "index-ours"
    if "query" in args.steps:
        queries = make_queries(args.data / "orangesum" / "known-item-dev.tsv", args.per_type)
        report["query_examples"] = {kind: texts[:3] for kind, texts in queries.items()}
        report["queries"] = bench_queries(args.systems, args.work, queries, args.repeat)
        print(f"## 2. Query latency, top 10 with snippets, median of {args.repeat} runs per "
              f"query; p50 / p95 over the queries of each type\n")
        print(query_table(report["queries"]) + "\n")
        print("examples: " + "; ".join(f"{k}: {', '.join(v)}"
                                       for k, v in report["query_examples"].items()) + "\n")

    if "cli" in args.steps:
        log("CLI runs...")
        report["cli"] = bench_cli(ours_index, args.cli_runs)
        print(f"## 3. CLI, process start to exit, {args.cli_runs} runs\n")
        print(cli_table(report["cli"]) + "\n")

    updated_index = args.work / "index-ours-updated"
    if "reindex" in args.steps:
        log("re-indexing...")
        # On a copy (hard links: Whoosh never rewrites a file), so that steps 2 and 3 and
        # speed_levers.py keep the one-segment index of a fresh build.
        shutil.rmtree(updated_index, ignore_errors=True)
        shutil.copytree(ours_index, updated_index, copy_function=os.link)
        report["reindex"] = bench_reindex(
            corpus or Corpus(corpus_file, 0, 0, 0.0), updated_index, args.changes)
        r = report["reindex"]
        print("## 4. Re-indexing the export with `search index`\n")
        print(f"unchanged export: median {r['unchanged_median_s']:.2f} s {r['unchanged_runs']}")
        print(f"one record changed: median {r['change_median_s']:.2f} s {r['change_runs']}, "
              f"peak RSS {r['change_peak_rss_mb']:.0f} MB\n")

        log("queries after the updates...")
        queries = make_queries(args.data / "orangesum" / "known-item-dev.tsv", args.per_type)
        few = {kind: texts[:args.update_per_type] for kind, texts in queries.items()}
        with OurSearcher(updated_index) as answer:
            r["queries_after_updates"] = time_queries(answer, few, args.repeat, peer=False)
        r["segments_after_updates"] = segment_count(updated_index)
        print(f"queries on the updated index ({r['segments_after_updates']} segments), the first "
              f"{args.update_per_type} of each type, median of {args.repeat} runs, p50 / p95 ms:")
        print("  " + ", ".join(f"{kind} {f['p50_ms']:.1f} / {f['p95_ms']:.1f}"
                               for kind, f in r["queries_after_updates"].items()) + "\n")

    report["targets"] = verdicts(report)
    print("## Targets\n")
    for name, v in report["targets"].items():
        print(f"{'met   ' if v['met'] else 'MISSED'} {name}: {v['value']}")
    print()

    if args.profile:
        report["profiles"] = run_profiles(report, args, source, ours_index)

    report["load_end"] = os.getloadavg()
    print(json.dumps({"speed": report}, ensure_ascii=False))
    return 0


def run_profiles(report: dict, args: argparse.Namespace, source: Path, ours_index: Path) -> dict:
    """cProfile of every figure that missed its target; top functions printed."""
    missed = {name for name, v in report["targets"].items() if not v["met"]}
    profiles: dict[str, str] = {}
    if any(name.startswith("indexing") for name in missed):
        log("profiling indexing...")
        profiles["indexing (3,000 records)"] = str(profile_indexing(source, args.work))
    slow = [name.split(": ", 1)[1] for name in missed if name.startswith("query p95 ≤ 50 ms:")]
    if slow:
        queries = make_queries(args.data / "orangesum" / "known-item-dev.tsv", args.per_type)
        for kind in slow:
            log(f"profiling {kind} queries...")
            output = args.work / f"profile-query-{kind.replace(' ', '-')}.prof"
            texts = queries[kind][:PROFILED_QUERIES]
            profiles[f"queries: {kind} (first {len(texts)})"] = str(
                profile_queries(ours_index, texts, output))
    late = [name.split(": ", 1)[1] for name in missed
            if name.startswith("query p95 ≤ 50 ms after")]
    if late:
        queries = make_queries(args.data / "orangesum" / "known-item-dev.tsv", args.per_type)
        for kind in late:
            log(f"profiling {kind} queries on the updated index...")
            output = args.work / f"profile-query-updated-{kind.replace(' ', '-')}.prof"
            texts = queries[kind][:PROFILED_QUERIES // 4]
            profiles[f"queries after updates: {kind} (first {len(texts)})"] = str(
                profile_queries(args.work / "index-ours-updated", texts, output))
    if any(name.startswith("re-index") for name in missed):
        log("profiling a re-index...")
        change_record(args.work / "orangesum.jsonl", random.Random(SEED + 1), 99)
        profiles["re-index after a change"] = str(profile_command(
            index_command("ours", args.work / "orangesum.jsonl", args.work / "index-ours-updated"),
            args.work / "profile-reindex.prof"))
    if any(name.startswith("CLI") for name in missed):
        log("profiling the CLI...")
        profiles["CLI query"] = str(profile_command(
            [str(SEARCH), "query", CLI_QUERY, "--index", str(ours_index)],
            args.work / "profile-cli.prof"))
    for name, path in profiles.items():
        print(f"## Profile: {name} ({path})\n")
        print("by own time:\n" + top_functions(Path(path), "tottime"))
        print("\nby cumulative time:\n" + top_functions(Path(path), "cumulative") + "\n")
    return profiles


if __name__ == "__main__":
    sys.exit(main())
