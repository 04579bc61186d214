"""The analyst's views against a top-10 query, in CPU time on one open searcher: counts by
month, facets, and an `--all` export (every hit streamed, default columns, no snippet).

    python -m bench.views [--index DIR] [--build] [--repeat 5]

The index is OrangeSum's 36k articles, built once into DIR (default /work/tmp-views/index,
outside the repository) with `--build`. Each figure is the median of `--repeat` runs of
one query, after one unmeasured run (the file cache warm). Also checked: the counts by
month sum to the query's total. Target (issue 12): each view at most 2x the top-10 query.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import deque
from pathlib import Path

from bench.common import DATA_DIR, load_average, log
from search.searcher import open_searcher

DEFAULT_INDEX = Path("/work/tmp-views/index")
QUERIES = ["macron", "coronavirus", "maroc", "union europeenne", "gouvernement OR ministre",
           "Macron NEAR/5 Merkel", "prem*"]


def cpu_of(function, repeat: int) -> float:
    """Median CPU seconds of `function()`, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--build", action="store_true", help="(Re)build the index first.")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.build or not (args.index / "CURRENT").exists():
        from search.index import rebuild
        log(f"building {args.index} from OrangeSum (several minutes)")
        rebuild([DATA_DIR / "orangesum" / "orangesum.jsonl"], args.index)
    print(f"load average {load_average()}")
    header = (f"{'query':<26} {'hits':>6} {'top-10 ms':>9} {'count ms':>9} {'x':>5} "
              f"{'facets ms':>9} {'x':>5} {'--all ms':>9} {'x':>5}")
    print(header)
    with open_searcher(args.index) as searcher:
        for text in QUERIES:
            found = searcher.search(text)
            total = found.total
            by_month = searcher.count([text], by="month").series[0]
            # A search's total past its budget is a lower bound (`total_exact`); counts are exact.
            assert sum(by_month.counts) == by_month.total, (text, by_month.total)
            assert (by_month.total == total if found.total_exact else by_month.total >= total), (
                text, by_month.total, total)
            top = cpu_of(lambda: searcher.search(text), args.repeat)  # noqa: B023
            count = cpu_of(lambda: searcher.count([text], by="month"), args.repeat)  # noqa: B023
            # the facets alone: a query with them, less the same query without
            facets = cpu_of(lambda: searcher.search(text, facets=True), args.repeat) - top  # noqa: B023
            export = cpu_of(lambda: deque(searcher.stream(text, snippets=False), maxlen=0),  # noqa: B023
                            args.repeat)
            print(f"{text:<26} {total:>6} {top * 1e3:>9.1f} {count * 1e3:>9.1f} "
                  f"{count / top:>5.2f} {facets * 1e3:>9.1f} {facets / top:>5.2f} "
                  f"{export * 1e3:>9.1f} {export / top:>5.2f}")


if __name__ == "__main__":
    main()
