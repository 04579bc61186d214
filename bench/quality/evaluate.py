"""Retrieval evaluation of our engine and its peers on the shared data (issue 4).

Known-item retrieval on the OrangeSum bodies (kinds `title`, `heading`, and the derived
`title-noaccent` and `title-curly`) and question → paragraph retrieval on PIAF; MRR@10,
Recall@1 and Recall@10 per system and kind, query latencies, and a TREC run file.

    .venv/bin/python -m bench.quality.evaluate [--systems ours,fts5,tantivy,whoosh-fr]
        [--tasks orangesum,piaf] [--queries FILE] [--run FILE] [--work DIR] [--data DIR]

Built indexes are cached in --work, keyed by each system's fingerprint (for ours, a hash of
the files of the `search` package), so re-runs skip rebuilding and a code change rebuilds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATA_DIR
from bench.quality.systems import SYSTEMS, System, cached_index
from bench.quality.tasks import Query, Task, known_item_task, piaf_task

DEPTH = 10
TASKS = ("orangesum", "piaf")


@dataclass(frozen=True)
class Ranked:
    """One query's answer: the ranked (doc id, score) pairs and the time it took."""

    query: Query
    hits: list[tuple[str, float]]
    seconds: float

    def first_relevant(self) -> int | None:
        """Rank (from 1) of the first relevant document, or None."""
        return next((rank for rank, (doc_id, _) in enumerate(self.hits, start=1)
                     if doc_id in self.query.relevant), None)

    def recall(self, k: int) -> float:
        found = {doc_id for doc_id, _ in self.hits[:k]} & self.query.relevant
        return len(found) / len(self.query.relevant)


@dataclass(frozen=True)
class Figures:
    """The scores and latencies of one system on one kind of query."""

    queries: int
    mrr10: float
    r1: float
    r10: float
    mean_ms: float
    median_ms: float
    p95_ms: float
    max_ms: float
    total_s: float

    @classmethod
    def of(cls, answers: list[Ranked]) -> Figures:
        ms = sorted(a.seconds * 1000 for a in answers)
        first = [a.first_relevant() for a in answers]
        return cls(
            queries=len(answers),
            mrr10=statistics.fmean(1 / r if r and r <= 10 else 0.0 for r in first),
            r1=statistics.fmean(a.recall(1) for a in answers),
            r10=statistics.fmean(a.recall(10) for a in answers),
            mean_ms=statistics.fmean(ms),
            median_ms=statistics.median(ms),
            p95_ms=ms[min(len(ms) - 1, int(0.95 * len(ms)))],
            max_ms=ms[-1],
            total_s=sum(ms) / 1000,
        )

    def rounded(self) -> dict[str, float | int]:
        return {name: round(value, 4 if name in ("mrr10", "r1", "r10") else 2)
                for name, value in vars(self).items()}


def kinds_of(tasks: Iterable[Task]) -> list[str]:
    """Every kind of query, in the order it first appears."""
    return list(dict.fromkeys(q.kind for task in tasks for q in task.queries))


def run_task(
    system: System, task: Task, work: Path, log: Callable[[str], None],
) -> tuple[list[Ranked], float | None]:
    """Every query of `task` ranked by `system`, and the build time (None if cached)."""
    log(f"{system.name} / {task.name}: indexing {task.corpus.path.name}...")
    folder, build_s = cached_index(system, task.corpus, work)
    log(f"{system.name} / {task.name}: index "
        + ("from cache" if build_s is None else f"built in {build_s:.1f} s"))
    answers: list[Ranked] = []
    with system.open(folder) as rank:
        for kind in kinds_of([task]):
            start = time.perf_counter()
            for query in (q for q in task.queries if q.kind == kind):
                began = time.perf_counter()
                hits = rank(query.text, DEPTH)
                answers.append(Ranked(query, hits, time.perf_counter() - began))
            log(f"{system.name} / {kind}: {time.perf_counter() - start:.1f} s")
    return answers, build_s


def write_run(path: Path, runs: dict[str, list[Ranked]]) -> None:
    """TREC run lines `qid Q0 docid rank score system`."""
    with open(path, "w", encoding="utf-8") as out:
        for system, answers in runs.items():
            for answer in answers:
                for rank, (doc_id, score) in enumerate(answer.hits, start=1):
                    out.write(f"{answer.query.qid} Q0 {doc_id} {rank} {score:.6f} {system}\n")


def format_tables(results: dict[str, dict[str, Figures]], kinds: list[str]) -> str:
    """Per system and kind, every figure; then one row per system, MRR@10 and R@10 per kind."""
    lines = [f"{'system':<10} {'kind':<15} {'n':>5} {'MRR@10':>7} {'R@1':>6} {'R@10':>6} "
             f"{'mean ms':>9} {'median':>8} {'p95':>8} {'max':>8} {'total s':>8}"]
    for system, by_kind in results.items():
        for kind, f in by_kind.items():
            lines.append(f"{system:<10} {kind:<15} {f.queries:>5} {f.mrr10:>7.3f} {f.r1:>6.3f} "
                         f"{f.r10:>6.3f} {f.mean_ms:>9.1f} {f.median_ms:>8.1f} {f.p95_ms:>8.1f} "
                         f"{f.max_ms:>8.1f} {f.total_s:>8.1f}")
    lines.append("")
    lines.append(f"{'MRR@10 / R@10':<14}" + "".join(f"{kind:>17}" for kind in kinds))
    for system, by_kind in results.items():
        cells = (f"{by_kind[k].mrr10:.3f} / {by_kind[k].r10:.3f}" for k in kinds)
        lines.append(f"{system:<14}" + "".join(f"{cell:>17}" for cell in cells))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--queries", type=Path,
                        help="known-item TSV `qid, doc_id, kind, query` "
                             "(default: orangesum/known-item-dev.tsv in --data)")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated, among %(default)s")
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help="comma-separated, among %(default)s")
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-bench"),
                        help="where built indexes are cached (default: %(default)s)")
    parser.add_argument("--run", type=Path, help="write a TREC run file of every system here")
    args = parser.parse_args(argv)
    for option, known in (("systems", SYSTEMS), ("tasks", TASKS)):
        chosen = getattr(args, option).split(",")
        unknown = [name for name in chosen if name not in known]
        if unknown:
            parser.error(f"unknown --{option} {', '.join(unknown)}; choose among "
                         + ", ".join(known))
        setattr(args, option, chosen)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    tasks = []
    try:
        if "orangesum" in args.tasks:
            queries = args.queries or args.data / "orangesum" / "known-item-dev.tsv"
            tasks.append(known_item_task(args.data, queries))
        if "piaf" in args.tasks:
            tasks.append(piaf_task(args.data))
    except (OSError, ValueError) as error:
        sys.exit(f"evaluate.py: cannot read the tasks: {error}")
    args.work.mkdir(parents=True, exist_ok=True)

    results: dict[str, dict[str, Figures]] = {}
    runs: dict[str, list[Ranked]] = {}
    builds: dict[str, dict[str, float | None]] = {}
    for name in args.systems:
        runs[name] = []
        for task in tasks:
            answers, build_s = run_task(SYSTEMS[name], task, args.work, log)
            runs[name] += answers
            builds.setdefault(name, {})[task.name] = None if build_s is None else round(build_s, 1)
        results[name] = {kind: Figures.of([a for a in runs[name] if a.query.kind == kind])
                         for kind in kinds_of(tasks)}

    if args.run:
        write_run(args.run, runs)
    print(format_tables(results, kinds_of(tasks)))
    print(json.dumps({
        "results": {system: {kind: f.rounded() for kind, f in by_kind.items()}
                    for system, by_kind in results.items()},
        "build_seconds": builds,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
