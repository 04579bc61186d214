"""Speed and memory of our product against stock Whoosh, SQLite FTS5 and tantivy, and of our
product on an OpenSearch node, at each archive size, all in the same run (issues 14, 15).

    python -m bench.speed [--copies 1,4,10,28] [--systems ours,whoosh-fr,fts5,tantivy,opensearch]
        [--work DIR] [--source FILE] [--sample N] [--queries bench/queries.json]
        [--per-type N] [--repeat 3] [--cli-runs 5] [--whoosh-cap 1800] [--query-cap 60]
    python -m bench.speed --report DIR/speed.json   # the report of a run's raw figures

For each size (`--copies` of every record of the export, made by `bench.archive`; 28 copies
are about 1M articles), one heavy step at a time:

1. Indexing the archive, each system in a process of its own: ours as the product does it,
   `search index FILE --index DIR`; the peers by `python -m bench.peers build` with our
   schema's fields. Documents/s, wall and CPU time (sub-processes' included), peak memory
   of the process tree (the sampled total of proportional set sizes, every 50 ms, or
   wait4's peak RSS of its largest process when larger: see `common.run_measured`), index
   size on disk. Stock Whoosh is killed after
   `--whoosh-cap` seconds and reported as not finished.
2. Queries on each index, one searcher reused, top 10 with a snippet of the body (ours:
   `open_searcher(...).search(text, limit=10)`): the query set of `bench/queries.json`,
   the same at every size (see `bench.queries`), types one word, frequent word (in more
   than 3,000 of the 36k articles), two words, phrase, `word*`, `word~`. Each query is run
   once to warm up, then `--repeat` times; its wall and CPU time (`time.process_time`) are
   the medians of those; p50 and p95 over the queries of a type. A type whose queries take
   more than `--query-cap` s on a system stops there and says how many it timed.
3. Counts (ours on both backends): `count([word], by="month")` of each frequent word, one
   reader reused, timed as the queries are.
4. Ours only: `search query 'Poutine référendum' --index DIR`, process start to exit,
   median wall time and largest peak memory of `--cli-runs` (after one to warm the cache);
   `search index` on the unchanged archive, then after one record's body changed (and once
   more after changing it back, which restores the archive), on a hard-linked copy of the
   index (Whoosh never rewrites a file).

`opensearch` (not in the default systems: it needs Java and Maven) is the product with
`--backend opensearch`, on one node that the run starts with `opensearch/node` (512 MB of
heap, `OPENSEARCH_HEAP`) and stops at its end. Its CPU time adds the node's (the JVM's
user and system time, read with psutil before and after) to the client's. The kernel counts a
process's CPU in ticks of 10 ms, too coarse for one query: a query type's node CPU is
the node's time over all its runs divided by them (`node_cpu_ms_per_query`), and the
CPU percentiles of its cells are the client's alone. Its index size is the node's
store size of the index, its peak memory the client's plus the node's resident size
after indexing (its heap is reserved whatever the archive).

The load average is read before and after each size. Writes a markdown report (one row per
system and size; the ratio of ours to tantivy per query type) and a JSON file of every raw
figure to `--work`, and prints the report. Ratios compare systems measured in the same run:
the machine is shared and noisy; CPU times are less sensitive to it than wall times.

The product measured is a snapshot of `search/` copied to `--work`/snapshot when the run
starts (and put first on the path of every process), so that edits made to `search/`
during the run cannot mix two versions in one set of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

from bench import queries as query_set
from bench.archive import write_archive
from bench.common import (
    DATA_DIR,
    PYTHON,
    ROOT,
    Run,
    checked,
    load_average,
    log,
    machine,
    median,
    percentile,
    run_measured,
    size_on_disk,
)
from bench.peers import OPENERS, PEERS

SYSTEMS = ("ours", *PEERS)
OPTIONAL_SYSTEMS = ("opensearch",)  # asked for by name: Java and Maven start a node
BACKEND_SYSTEMS = ("ours", "opensearch")  # the product, on each of its backends
QUERY_TYPES = query_set.QUERY_TYPES
PEER_KIND = {"one word": "words", "frequent word": "words", "two words": "words",
             "phrase": "phrase", "word*": "prefix", "word~": "fuzzy"}
CLI_QUERY = "Poutine référendum"
CHANGED_SENTENCE = " Phrase ajoutée pour mesurer la réindexation d'un article changé."
SNAPSHOT_ENV: dict[str, str] = {}  # the environment of every process started: set by use_snapshot
NODE: dict = {}  # the run's OpenSearch node (`url`, `pid`): set by main when asked for


# --- the code and the corpus -----------------------------------------------------------

def use_snapshot(work: Path) -> Path:
    """Measure the `search` package copied to `work`/snapshot: put first on this process's
    path and on the PYTHONPATH of every process started (the repository after it, for
    `bench`). Must run before `search` is imported."""
    if "search" in sys.modules:
        raise RuntimeError("use_snapshot must run before `search` is imported")
    snapshot = work / "snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(ROOT / "search", snapshot / "search",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # `search.opensearch.local` finds the node script beside the package, as in the repository.
    (snapshot / "opensearch").symlink_to(ROOT / "opensearch")
    sys.path.insert(0, str(snapshot))
    SNAPSHOT_ENV.update(os.environ)
    SNAPSHOT_ENV["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(snapshot), str(ROOT), os.environ.get("PYTHONPATH")]))
    return snapshot


def search_command(*args: str) -> list[str]:
    """The `search` console script (it imports the snapshot: see `use_snapshot`)."""
    return [str(PYTHON.parent / "search"), *args]


def measured(command: list[str], snapshot: Path, timeout: float | None = None) -> Run:
    return run_measured(command, env=SNAPSHOT_ENV, cwd=snapshot, timeout=timeout)


def sample_of(source: Path, records: int, out: Path) -> Path:
    """The first `records` records of `source`, written to `out`."""
    with open(source, encoding="utf-8") as lines, open(out, "w", encoding="utf-8") as sink:
        for number, line in enumerate(lines):
            if number >= records:
                break
            sink.write(line)
    return out


def make_archive(source: Path, copies: int, work: Path) -> tuple[Path, int, int]:
    """The archive of `copies` copies of `source` in `work` (made unless a complete one of
    the same source is there); its path, records and records with a body."""
    path = work / f"archive-{copies}x.jsonl"
    stat = source.stat()
    key = f"{source.resolve()} {stat.st_size} {stat.st_mtime_ns} copies {copies}\n"
    done = path.with_name(path.name + ".done")
    if not (path.is_file() and done.is_file() and done.read_text("utf-8") == key):
        log(f"writing {path.name}...")
        write_archive(source, copies, path)
        done.write_text(key, "utf-8")
    records = documents = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            records += 1
            documents += bool((json.loads(line).get("article") or "").strip())
    return path, records, documents


def size_label(records: int) -> str:
    """36,152 → `36k`, 1,012,256 → `1.0M`."""
    if records >= 1_000_000:
        return f"{records / 1e6:.1f}M"
    if records >= 1000:
        return f"{round(records / 1000)}k"
    return str(records)


# --- 1. indexing -----------------------------------------------------------------------

def index_command(system: str, corpus: Path, folder: Path) -> list[str]:
    if system == "ours":
        return search_command("index", str(corpus), "--index", str(folder))
    if system == "opensearch":
        return search_command("index", str(corpus), "--backend", "opensearch",
                              "--url", node_index_url(folder))
    return [str(PYTHON), "-m", "bench.peers", "build", system, str(corpus), str(folder)]


def node_index_url(folder: Path) -> str:
    """The URL of the node's index standing for `folder` (named after it)."""
    return f"{NODE['url']}/{folder.name}"


def node_cpu_s() -> float:
    """The CPU seconds (user and system) the node's JVM has used so far."""
    import psutil

    times = psutil.Process(NODE["pid"]).cpu_times()
    return times.user + times.system


def node_rss_mb() -> float:
    import psutil

    return psutil.Process(NODE["pid"]).memory_info().rss / 2**20


def node_index_bytes(folder: Path) -> int:
    """The store size of the node's index for `folder` (primaries: one node, no replica)."""
    with urllib.request.urlopen(f"{node_index_url(folder)}/_stats/store", timeout=30) as answer:
        return json.load(answer)["_all"]["primaries"]["store"]["size_in_bytes"]


def indexed_count(system: str, run: Run) -> int:
    if system in BACKEND_SYSTEMS:
        found = re.search(r"([\d,]+) added", run.stdout)
        return int(found.group(1).replace(",", "")) if found else -1
    return json.loads(run.stdout.strip().splitlines()[-1])["documents"]


def bench_indexing(system: str, corpus: Path, folder: Path, snapshot: Path,
                   cap: float | None) -> dict:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"indexing {corpus.name} with {system}...")
    node_before = node_cpu_s() if system == "opensearch" else 0.0
    run = measured(index_command(system, corpus, folder), snapshot, timeout=cap)
    if run.timed_out:
        shutil.rmtree(folder, ignore_errors=True)
        log(f"{system}: not finished in {cap:.0f} s")
        return {"finished": False, "cap_s": cap}
    checked(run, f"indexing with {system}")
    docs = indexed_count(system, run)
    result = {
        "finished": True,
        "documents": docs,
        "wall_s": round(run.wall_s, 2),
        "cpu_s": round(run.cpu_s, 2),
        "docs_per_s": round(docs / run.wall_s, 1),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "index_mb": round(size_on_disk(folder) / 1e6, 1),
    }
    if system == "opensearch":
        node_cpu, node_rss = node_cpu_s() - node_before, node_rss_mb()
        result.update(client_cpu_s=result["cpu_s"], node_cpu_s=round(node_cpu, 2),
                      cpu_s=round(run.cpu_s + node_cpu, 2), node_rss_mb=round(node_rss, 1),
                      peak_rss_mb=round(run.peak_rss_mb + node_rss, 1),
                      index_mb=round(node_index_bytes(folder) / 1e6, 1))
    log(f"{system}: {result}")
    return result


# --- 2. queries ------------------------------------------------------------------------

Answer = Callable[[str, str], list | None]


class OurReader(AbstractContextManager):
    """The product library on either backend, one reader reused: `search(text, limit=10)`,
    or `count([text], by="month")` for the kind `count`."""

    def __init__(self, system: str, folder: Path) -> None:
        from search.backend import open_backend

        self._backend = (open_backend("whoosh", index_dir=folder) if system == "ours"
                         else open_backend("opensearch", url=node_index_url(folder)))

    def __enter__(self) -> Answer:
        from search.errors import SearchError

        self._reader = reader = self._backend.reader()

        def answer(kind: str, text: str) -> list:
            try:
                if kind == COUNT_KIND:
                    return list(reader.count([text], by="month").series[0].counts)
                return list(reader.search(text, limit=10).hits)
            except SearchError:
                return []

        return answer

    def __exit__(self, *exc) -> None:
        self._reader.close()


def time_queries(answer: Answer, queries: dict[str, list[str]], repeat: int, peer: bool,
                 cap: float, node: bool = False) -> dict[str, dict | None]:
    """Per type: p50 and p95 of the per-query medians of wall and CPU time, how many queries
    found something, and how many were timed within `cap` seconds; None if unsupported.
    With `node`, also the OpenSearch node's mean CPU per timed run."""
    figures: dict[str, dict | None] = {}
    for kind, texts in queries.items():
        peer_kind = PEER_KIND[kind] if peer else kind
        if answer(peer_kind, texts[0]) is None:
            figures[kind] = None
            continue
        walls, cpus, found = [], [], 0
        node_spent = 0.0
        started = time.perf_counter()
        for text in texts:
            if time.perf_counter() - started > cap:
                break
            found += bool(answer(peer_kind, text))  # warm-up
            wall_runs, cpu_runs = [], []
            node_before = node_cpu_s() if node else 0.0
            for _ in range(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                answer(peer_kind, text)
                cpu_runs.append((time.process_time() - cpu) * 1000)
                wall_runs.append((time.perf_counter() - wall) * 1000)
            node_spent += node_cpu_s() - node_before if node else 0.0
            walls.append(median(wall_runs))
            cpus.append(median(cpu_runs))
        figures[kind] = {
            "queries": len(texts), "timed": len(walls), "with_hits": found,
            "p50_ms": round(percentile(walls, 0.50), 2),
            "p95_ms": round(percentile(walls, 0.95), 2),
            "cpu_p50_ms": round(percentile(cpus, 0.50), 2),
            "cpu_p95_ms": round(percentile(cpus, 0.95), 2),
            "max_ms": round(max(walls), 2),
        }
        if node:
            figures[kind]["node_cpu_ms_per_query"] = round(
                node_spent * 1000 / (len(walls) * repeat), 2)
    return figures


def bench_queries(system: str, folder: Path, queries: dict[str, list[str]], repeat: int,
                  cap: float) -> dict:
    log(f"queries on {system}...")
    ours = system in BACKEND_SYSTEMS
    opener = OurReader(system, folder) if ours else OPENERS[system](folder)
    with opener as answer:
        return time_queries(answer, queries, repeat, peer=not ours, cap=cap,
                            node=system == "opensearch")


COUNT_KIND = "count"


def bench_counts(system: str, folder: Path, words: list[str], repeat: int, cap: float) -> dict:
    """Counts by month of `words` (the frequent words), timed as the queries are."""
    log(f"counts on {system}...")
    with OurReader(system, folder) as answer:
        return time_queries(answer, {COUNT_KIND: words}, repeat, peer=False, cap=cap,
                            node=system == "opensearch")[COUNT_KIND]


# --- 3. the CLI and re-indexing (ours) ---------------------------------------------------

def bench_cli(folder: Path, runs: int, snapshot: Path) -> dict:
    command = search_command("query", CLI_QUERY, "--index", str(folder))
    checked(measured(command, snapshot), "search query")  # warm the file cache
    done = [checked(measured(command, snapshot), "search query") for _ in range(runs)]
    return {"query": CLI_QUERY, "runs": runs,
            "median_s": round(median([r.wall_s for r in done]), 3),
            "cpu_median_s": round(median([r.cpu_s for r in done]), 3),
            "peak_rss_mb": round(max(r.peak_rss_mb for r in done), 1)}


def change_record(corpus: Path, number: int, change: Callable[[str], str]) -> str:
    """Rewrite record `number` of `corpus` with `change` applied to its body, streaming
    (one line in memory); its id."""
    temporary = corpus.with_name(corpus.name + ".tmp")
    changed = None
    with open(corpus, encoding="utf-8") as lines, open(temporary, "w", encoding="utf-8") as out:
        for i, line in enumerate(lines):
            if i == number:
                record = json.loads(line)
                record["article"] = change(record["article"])
                changed = str(record.get("id"))
                line = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(line)
    os.replace(temporary, corpus)
    if changed is None:
        raise ValueError(f"{corpus} has no record {number}")
    return changed


def middle_record_with_body(corpus: Path) -> int:
    """The number of a record with a body, from the middle of `corpus`."""
    with open(corpus, encoding="utf-8") as lines:
        bodies = [i for i, line in enumerate(lines)
                  if (json.loads(line).get("article") or "").strip()]
    return bodies[len(bodies) // 2]


def bench_reindex(corpus: Path, index: Path, work: Path, snapshot: Path) -> dict:
    """`search index` on the unchanged archive, then after one body changed and after it
    changed back (the archive is restored), on a hard-linked copy of `index`."""
    copy = work / "index-ours-updated"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index, copy, copy_function=os.link)
    command = index_command("ours", corpus, copy)
    unchanged = checked(measured(command, snapshot), "re-index unchanged")
    if " 0 added, 0 updated" not in unchanged.stdout:
        raise SystemExit(f"an unchanged re-index changed something: {unchanged.stdout}")
    number = middle_record_with_body(corpus)
    changes = []
    for change in (lambda body: body + CHANGED_SENTENCE,
                   lambda body: body.removesuffix(CHANGED_SENTENCE)):
        record = change_record(corpus, number, change)
        run = checked(measured(command, snapshot), "re-index after a change")
        if " 1 updated" not in run.stdout:
            raise SystemExit(f"changing record {record} did not update one article: {run.stdout}")
        changes.append(run)
    shutil.rmtree(copy, ignore_errors=True)
    return {"unchanged_s": round(unchanged.wall_s, 3),
            "unchanged_peak_rss_mb": round(unchanged.peak_rss_mb, 1),
            "change_runs_s": [round(r.wall_s, 3) for r in changes],
            "change_median_s": round(median([r.wall_s for r in changes]), 3),
            "change_peak_rss_mb": round(max(r.peak_rss_mb for r in changes), 1)}


# --- the run -----------------------------------------------------------------------------

def remove_node_index(folder: Path) -> None:
    """Free the node of the index for `folder` (behind its alias) once it is measured."""
    request = urllib.request.Request(f"{NODE['url']}/{folder.name}*", method="DELETE")
    with urllib.request.urlopen(request, timeout=60):
        pass


def bench_size(copies: int, args: argparse.Namespace, source: Path, snapshot: Path,
               queries: dict[str, list[str]],
               save: Callable[[dict], None] = lambda size: None) -> dict:
    corpus, records, documents = make_archive(source, copies, args.work)
    size: dict = {"copies": copies, "records": records, "documents": documents,
                  "label": size_label(records), "load_before": load_average(), "systems": {}}
    log(f"size {size['label']}: {records:,} records")
    for system in args.systems:
        folder = args.work / f"index-{system}-{copies}x"
        cap = args.whoosh_cap if system == "whoosh-fr" else None
        row = {"indexing": bench_indexing(system, corpus, folder, snapshot, cap)}
        if row["indexing"]["finished"]:
            row["queries"] = bench_queries(system, folder, queries, args.repeat, args.query_cap)
            if system in BACKEND_SYSTEMS:
                row["counts"] = bench_counts(system, folder, queries["frequent word"],
                                             args.repeat, args.query_cap)
            if system == "ours":
                log("CLI runs...")
                row["cli"] = bench_cli(folder, args.cli_runs, snapshot)
                log("re-indexing...")
                row["reindex"] = bench_reindex(corpus, folder, args.work, snapshot)
            if not args.keep_indexes:
                shutil.rmtree(folder, ignore_errors=True)
                if system == "opensearch":
                    remove_node_index(folder)
        size["systems"][system] = row
        size["load_after"] = load_average()
        save(size)  # a run stopped before the size's last system keeps its others
    return size


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="1,4",
                        help="comma-separated archive sizes, in copies of the export "
                             "(default: %(default)s; 10 is about 360k articles, 28 about 1M)")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated, among %(default)s, and "
                             + ",".join(OPTIONAL_SYSTEMS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-speed"),
                        help="where the archives, indexes and reports go (default: %(default)s)")
    parser.add_argument("--source", type=Path,
                        default=DATA_DIR / "orangesum" / "orangesum.jsonl",
                        help="the export the archives copy (default: %(default)s)")
    parser.add_argument("--sample", type=int, help="only the first N records of the export")
    parser.add_argument("--queries", type=Path, default=query_set.QUERIES_FILE,
                        help="the stored query set (default: %(default)s)")
    parser.add_argument("--per-type", type=int, help="only the first N queries of each type")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--whoosh-cap", type=float, default=1800,
                        help="seconds stock Whoosh may index one size (default: %(default)s)")
    parser.add_argument("--query-cap", type=float, default=60,
                        help="seconds a system may spend on one query type at one size")
    parser.add_argument("--report", type=Path, metavar="SPEED.json",
                        help="only print the markdown report of a run's raw figures (a run "
                             "stopped before its last size has those of the sizes it finished)")
    parser.add_argument("--keep-indexes", action="store_true",
                        help="keep each size's indexes in --work (default: removed once measured)")
    args = parser.parse_args(argv)
    args.copies = [int(c) for c in args.copies.split(",")]
    args.systems = args.systems.split(",")
    known = (*SYSTEMS, *OPTIONAL_SYSTEMS)
    unknown = [s for s in args.systems if s not in known]
    if unknown:
        parser.error(f"unknown system {', '.join(unknown)}; choose among {', '.join(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        print(markdown(json.loads(args.report.read_text("utf-8"))), end="")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    snapshot = use_snapshot(args.work)
    source = args.source
    if args.sample:
        source = sample_of(args.source, args.sample, args.work / "source-sample.jsonl")
    queries = query_set.load(args.queries)
    if args.per_type:
        queries = {kind: texts[:args.per_type] for kind, texts in queries.items()}
    report: dict = {"machine": machine(), "command": "python -m bench.speed " + " ".join(
        sys.argv[1:] if argv is None else argv), "source": str(args.source),
        "sample": args.sample, "queries_file": str(args.queries),
        "queries_per_type": {k: len(v) for k, v in queries.items()}, "repeat": args.repeat,
        "sizes": []}
    def save(size: dict) -> None:
        figures = {**report, "sizes": [*report["sizes"], size]}
        (args.work / "speed.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1),
                                              "utf-8")

    with ExitStack() as stack:
        if "opensearch" in args.systems:
            from search.opensearch.local import local_cluster, missing_tools

            missing = missing_tools()
            if missing:
                raise SystemExit(f"opensearch cannot be measured here: {missing}")
            log("starting an OpenSearch node...")
            cluster = stack.enter_context(local_cluster(nodes=1))
            NODE.update(url=cluster["url"], pid=cluster["nodes"][0]["pid"])
        for copies in args.copies:
            report["sizes"].append(bench_size(copies, args, source, snapshot, queries, save))
    text = markdown(report)
    (args.work / "speed.md").write_text(text, "utf-8")
    print(text)
    print(f"(raw figures: {args.work / 'speed.json'}; this report: {args.work / 'speed.md'})")
    return 0


# --- the report ------------------------------------------------------------------------

def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def query_cell(figures: dict | None) -> str:
    """`p50 / p95 wall (p50 / p95 CPU)` in ms; how many were timed if the cap stopped it."""
    if figures is None:
        return "unsupported"
    cell = (f"{_ms(figures['p50_ms'])} / {_ms(figures['p95_ms'])} "
            f"({_ms(figures['cpu_p50_ms'])} / {_ms(figures['cpu_p95_ms'])})")
    if figures["timed"] < figures["queries"]:
        cell += f" [{figures['timed']}/{figures['queries']} timed]"
    return cell


def markdown(report: dict) -> str:
    """One row per system and size: indexing, queries per type, the CLI and re-indexing;
    then the ratio of ours to tantivy at query p95 per type and size."""
    m = report["machine"]
    lines = [
        f"Run of {m['date']} on code {m['code']}: {m['nproc']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB, Python {m['python']}, whoosh3 {m['whoosh3']}, "
        f"tantivy {m['tantivy']}, SQLite {m['sqlite']}.",
        f"Command: `{report['command']}`.",
        "Load average (1, 5, 15 min) before → after each size: " + "; ".join(
            f"{s['label']} {'/'.join(map(str, s['load_before']))} → "
            f"{'/'.join(map(str, s['load_after']))}" for s in report["sizes"]) + ".",
        "",
        "| system | size | docs/s | index CPU s | index wall s | peak RSS MB | index MB | "
        + " | ".join(QUERY_TYPES) + " | CLI s / MB | re-index unchanged / one change s |",
        "|---" * (9 + len(QUERY_TYPES)) + "|",
    ]
    for size in report["sizes"]:
        for system, row in size["systems"].items():
            indexing = row["indexing"]
            if not indexing["finished"]:
                lines.append(f"| {system} | {size['label']} | not finished in "
                             f"{indexing['cap_s']:.0f} s |" + " - |" * (6 + len(QUERY_TYPES)))
                continue
            cells = [system, size["label"], f"{indexing['docs_per_s']:,.0f}",
                     f"{indexing['cpu_s']:,.1f}", f"{indexing['wall_s']:,.1f}",
                     f"{indexing['peak_rss_mb']:,.0f}", f"{indexing['index_mb']:,.0f}"]
            cells += [query_cell(row["queries"][kind]) for kind in QUERY_TYPES]
            cli, reindex = row.get("cli"), row.get("reindex")
            cells.append(f"{cli['median_s']:.3f} / {cli['peak_rss_mb']:.0f}" if cli else "-")
            cells.append(f"{reindex['unchanged_s']:.2f} / {reindex['change_median_s']:.2f}"
                         if reindex else "-")
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Query cells: p50 / p95 ms of wall time (p50 / p95 ms of CPU time), top 10 "
              "with snippets; re-index: wall s (one change: median of a change and its undoing).",
              ""]
    for system in BACKEND_SYSTEMS:
        ratios = [(size["label"], ratio_to_tantivy(size, system)) for size in report["sizes"]]
        ratios = [(label, r) for label, r in ratios if r]
        if ratios:
            lines += [f"| {system} / tantivy, query p95 wall | " + " | ".join(QUERY_TYPES)
                      + " |", "|---" * (1 + len(QUERY_TYPES)) + "|"]
            lines += [f"| {label} | " + " | ".join(r.get(kind, "-") for kind in QUERY_TYPES)
                      + " |" for label, r in ratios]
            lines.append("")
    counting = [system for system in BACKEND_SYSTEMS
                if any(size["systems"].get(system, {}).get("counts") for size in report["sizes"])]
    if counting:
        lines += ["| counts by month of the frequent words, p50 / p95 ms wall (CPU) | "
                  + " | ".join(counting) + " |", "|---" * (1 + len(counting)) + "|"]
        lines += [f"| {size['label']} | " + " | ".join(
            query_cell(figures) if (figures := size["systems"].get(system, {}).get("counts"))
            else "-" for system in counting) + " |" for size in report["sizes"]]
        lines.append("")
    node = [(size["label"], row) for size in report["sizes"]
            for system, row in size["systems"].items()
            if system == "opensearch" and row["indexing"]["finished"]]
    if node:
        lines += ["| the OpenSearch node | size | indexing CPU s (client + node) | "
                  + " | ".join(QUERY_TYPES) + " | counts |",
                  "|---" * (4 + len(QUERY_TYPES)) + "|"]
        for label, row in node:
            indexing = row["indexing"]
            per_query = [row["queries"][kind] for kind in QUERY_TYPES] + [row.get("counts")]
            lines.append(
                f"| node CPU ms a query (mean) | {label} | {indexing['client_cpu_s']:,.1f} + "
                f"{indexing['node_cpu_s']:,.1f} | " + " | ".join(
                    f"{figures['node_cpu_ms_per_query']:.1f}" if figures else "-"
                    for figures in per_query) + " |")
        lines.append("")
    speedups = [(size["label"], indexing_vs_whoosh(size)) for size in report["sizes"]]
    speedups = [(label, r) for label, r in speedups if r]
    if speedups:
        lines += ["| indexing, ours vs stock Whoosh | docs/s (wall) | docs per CPU-second |",
                  "|---|---|---|"]
        lines += [f"| {label} | {wall:.2f}x | {cpu:.2f}x |" for label, (wall, cpu) in speedups]
    return "\n".join(lines) + "\n"


def indexing_vs_whoosh(size: dict) -> tuple[float, float] | None:
    """Ours' indexing throughput over stock Whoosh's, per wall second and per CPU second."""
    ours = size["systems"].get("ours", {}).get("indexing", {})
    stock = size["systems"].get("whoosh-fr", {}).get("indexing", {})
    if not (ours.get("finished") and stock.get("finished")):
        return None
    return (ours["docs_per_s"] / stock["docs_per_s"],
            ours["documents"] / ours["cpu_s"] / (stock["documents"] / stock["cpu_s"]))


def ratio_to_tantivy(size: dict, system: str = "ours") -> dict[str, str]:
    """`system`'s query p95 (wall) over tantivy's, per query type."""
    measured = size["systems"].get(system, {}).get("queries")
    tantivy = size["systems"].get("tantivy", {}).get("queries")
    if not (measured and tantivy):
        return {}
    return {kind: f"{measured[kind]['p95_ms'] / tantivy[kind]['p95_ms']:.1f}x"
            for kind in QUERY_TYPES
            if measured.get(kind) and tantivy.get(kind) and tantivy[kind]["p95_ms"] > 0}


if __name__ == "__main__":
    sys.exit(main())
