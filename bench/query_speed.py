"""Query speed of two versions of `search/` on one index, interleaved in the same run.

    python -m bench.query_speed --index DIR --before DIR [--before-index DIR] [--rounds 3]
                                [--per-type 50] [--titles 300] [--json OUT]
                                [--peer SYSTEM:DIR]

`--before` is a folder holding another version's `search/` package (for example
`git archive BASE search | tar -x -C /tmp/before`); the version of this repository is
"after". `--before-index` gives the before version an index of its own, written by it (a
change of the index's format: the same archive, indexed by each version); by default both
read `--index`. Each version runs in a process of its own, one searcher reused (as `bench.speed`
does): the queries of `bench/queries.json`, `search(text, limit=10)` with snippets, type by
type, the versions taking turns (before first on odd rounds, after first on even ones).
Each query's time is its fastest of the rounds (wall and CPU, `time.process_time`), then
p50 / p95 over the queries of a type. The hits (ids, scores to 1e-12, snippets), totals and
`rank_words` of the first `--titles` OrangeSum titles (`bench.quality`'s path) are compared
between the versions; any difference is listed. A query the searcher refuses (a word that
stands for too many words on a large archive) answers with its message, compared too.
With `--peer`, a peer's index answers the same queries in the same rounds (in this
process, its fastest of the rounds too), and the table gives the ratio of after to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench.common import (
    DATA_DIR,
    PYTHON,
    ROOT,
    load_average,
    log,
    machine,
    median,
    orangesum_records,
    percentile,
)
from bench.peers import OPENERS
from bench.queries import QUERIES_FILE, QUERY_TYPES
from bench.speed import PEER_KIND

# The worker: reads one JSON command a line, answers one JSON line.
_WORKER = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from search.errors import SearchError
from search.searcher import open_searcher

with open_searcher(Path(sys.argv[2])) as searcher:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        answers = []
        if "rank" in command:
            for text in command["rank"]:
                answers.append(searcher.rank_words(text, limit=10))
        else:
            for text in command["texts"]:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    results, refused = searcher.search(text, limit=10), None
                except SearchError as error:  # a word too broad for a large archive
                    results, refused = None, str(error)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                answers.append({
                    "wall": wall * 1000, "cpu": cpu * 1000,
                    "total": results.total if results else refused,
                    "exact": getattr(results, "total_exact", True),
                    "hits": [[hit.id, hit.score, str(hit.snippet)]
                             for hit in (results.hits if results else ())]})
        print(json.dumps(answers), flush=True)
"""


class _Version:
    def __init__(self, name: str, code: Path, index: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [str(PYTHON), "-c", _WORKER, str(code), str(index)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        assert json.loads(self.process.stdout.readline()) == {"ready": True}

    def ask(self, command: dict) -> list:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _same_hits(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[2] == y[2] and (x[1] == y[1] or abs(x[1] - y[1]) <= 1e-12)
        for x, y in zip(a, b, strict=True))


def run(index: Path, before: Path, rounds: int, per_type: int, titles: int,
        before_index: Path | None = None, peer: tuple[str, Path] | None = None) -> dict:
    queries = json.loads(QUERIES_FILE.read_text(encoding="utf-8"))["queries"]
    versions = {"before": _Version("before", before, before_index or index),
                "after": _Version("after", ROOT, index)}
    load = [load_average()]
    times: dict = {name: {kind: {} for kind in QUERY_TYPES} for name in (*versions, "peer")}
    answers: dict = {name: {} for name in versions}
    with ExitStack() as stack:
        peer_answer = stack.enter_context(OPENERS[peer[0]](peer[1])) if peer else None
        for number in range(rounds):
            order = ["before", "after"] if number % 2 == 0 else ["after", "before"]
            for kind in QUERY_TYPES:
                texts = [q["text"] for q in queries[kind][:per_type]]
                for name in order:
                    for text, found in zip(texts, versions[name].ask({"texts": texts}),
                                           strict=True):
                        _keep_fastest(times[name][kind], text, found["wall"], found["cpu"])
                        answers[name][text] = found
                if peer_answer is not None:
                    for text in texts:
                        wall, cpu = time.perf_counter(), time.process_time()
                        peer_answer(PEER_KIND[kind], text)
                        _keep_fastest(times["peer"][kind], text,
                                      (time.perf_counter() - wall) * 1000,
                                      (time.process_time() - cpu) * 1000)
            load.append(load_average())
            log(f"round {number + 1} of {rounds}")
    differences = [
        text for text in answers["before"]
        if (answers["before"][text]["total"], answers["before"][text]["exact"])
        != (answers["after"][text]["total"], answers["after"][text]["exact"])
        or not _same_hits(answers["before"][text]["hits"], answers["after"][text]["hits"])]
    hits_differ = [text for text in differences
                   if not _same_hits(answers["before"][text]["hits"],
                                     answers["after"][text]["hits"])]
    lower_bounds = [text for text in answers["after"] if not answers["after"][text]["exact"]]
    ranked_differ = 0
    if titles:
        texts = [record["title"] for record, _ in zip(
            orangesum_records(DATA_DIR / "orangesum" / "orangesum.jsonl"), range(titles),
            strict=False)]
        ranked = {name: version.ask({"rank": texts}) for name, version in versions.items()}
        ranked_differ = sum(
            not _same_hits([[i, s, ""] for i, s in a], [[i, s, ""] for i, s in b])
            for a, b in zip(ranked["before"], ranked["after"], strict=True))
    for version in versions.values():
        version.close()
    table = {name: {kind: _percentiles(list(times[name][kind].values()))
                    for kind in QUERY_TYPES} for name in (*versions, *(["peer"] if peer else []))}
    return {"machine": machine(), "index": str(index),
            "before_index": str(before_index or index), "rounds": rounds,
            "per_type": per_type, "load": load, "table": table,
            "queries_compared": len(answers["before"]), "differences": differences,
            "hits_differ": hits_differ,
            "lower_bounds": lower_bounds, "titles_ranked": titles,
            "titles_ranked_differently": ranked_differ, "peer": peer and peer[0]}


def _keep_fastest(best: dict, text: str, wall: float, cpu: float) -> None:
    """A query's fastest wall and CPU time so far."""
    fastest = best.setdefault(text, [float("inf")] * 2)
    fastest[0], fastest[1] = min(fastest[0], wall), min(fastest[1], cpu)


def _percentiles(pairs: list[list[float]]) -> dict[str, float]:
    walls, cpus = [p[0] for p in pairs], [p[1] for p in pairs]
    return {"wall_p50": median(walls), "wall_p95": percentile(walls, 0.95),
            "cpu_p50": median(cpus), "cpu_p95": percentile(cpus, 0.95), "queries": len(pairs)}


def markdown(report: dict) -> str:
    peer = report.get("peer")
    lines = ["| type (queries) | CPU p50 before → after | CPU p95 before → after "
             "| wall p50 before → after | wall p95 before → after |"
             + (f" {peer} CPU p50 / p95 | after / {peer}, CPU p95 |" if peer else ""),
             "|---|---|---|---|---|" + ("---|---|" if peer else "")]
    table = report["table"]
    for kind in QUERY_TYPES:
        b, a = table["before"][kind], table["after"][kind]
        cells = [f"{b[key]:.1f} → {a[key]:.1f}"
                 for key in ("cpu_p50", "cpu_p95", "wall_p50", "wall_p95")]
        if peer:
            p = table["peer"][kind]
            cells += [f"{p['cpu_p50']:.1f} / {p['cpu_p95']:.1f}",
                      f"{a['cpu_p95'] / p['cpu_p95']:.1f}x"]
        lines.append(f"| {kind} ({a['queries']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--before", type=Path, required=True,
                        help="a folder holding the other version's search/ package")
    parser.add_argument("--before-index", type=Path,
                        help="the index the before version reads (default: --index)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-type", type=int, default=50)
    parser.add_argument("--titles", type=int, default=300)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--peer", metavar="SYSTEM:DIR",
                        help="a peer's index (`python -m bench.peers build`), timed in the "
                             "same rounds, for example tantivy:/tmp/tantivy-360k")
    args = parser.parse_args(argv)
    peer = None
    if args.peer:
        system, _, folder = args.peer.partition(":")
        if system not in OPENERS or not folder:
            parser.error(f"--peer takes SYSTEM:DIR, SYSTEM among {', '.join(OPENERS)}")
        peer = (system, Path(folder))
    report = run(args.index, args.before, args.rounds, args.per_type, args.titles,
                 args.before_index, peer)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(report))
    print(f"\nload {report['load'][0]} → {report['load'][-1]}; "
          f"{report['queries_compared']} queries compared, "
          f"{len(report['differences'])} differ: {report['differences'][:10]}, "
          f"{len(report['hits_differ'])} of them in their hits; "
          f"totals shown as lower bounds: {len(report['lower_bounds'])}; "
          f"rank_words: {report['titles_ranked_differently']} of "
          f"{report['titles_ranked']} titles ranked differently")


if __name__ == "__main__":
    sys.exit(main())
