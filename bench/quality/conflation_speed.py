"""Stemming speed, words per second, of our analyzer against another revision of it.

Command (from the repository root):

    .venv/bin/python -m bench.quality.conflation_speed [--data DIR] [--baseline HEAD]
        [--repeat 15] [--words 50000]

Words: 50,000 single-word forms of the Lefff lexicon, drawn with a fixed seed (`--words`).
Timed, best of `--repeat` runs taken in turns with the baseline, so that the machine's load
weighs on both alike: `stem` without its cache (`stem.__wrapped__`) on the folded,
deduplicated words (what a word costs the first time: at index time `stem()` is
lru_cached), and `analyze()` on the words with the stem cache cleared first. The baseline
is `search/analysis.py` as of git revision `--baseline` (default HEAD), loaded beside the
working copy. Differences under about 5 % are noise on a shared machine.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from bench.common import ROOT
from bench.quality.conflation import DEFAULT_DATA, LEXICONS, read_lexicon
from search import analysis


def load_revision(revision: str) -> ModuleType:
    """`search/analysis.py` at `revision`, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:search/analysis.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    spec = importlib.util.spec_from_loader(f"analysis_at_{revision}", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:search/analysis.py", "exec"), module.__dict__)
    return module


def run_time(function, words: list[str], before=lambda: None) -> float:
    """Seconds `function` takes over `words`, after `before()`."""
    before()
    start = time.perf_counter()
    for word in words:
        function(word)
    return time.perf_counter() - start


def measure(modules: dict[str, ModuleType], raw: list[str], repeat: int) -> dict:
    """Words per second of each module and case, best of `repeat` runs taken in turns."""
    folded = sorted({analysis.fold(word) for word in raw})
    cases = {
        "stem_uncached": lambda m: (m.stem.__wrapped__, folded, lambda: None),
        "analyze_cold_cache": lambda m: (m.analyze, raw, m.stem.cache_clear),
    }
    best = {(name, case): float("inf") for name in modules for case in cases}
    for _ in range(repeat):
        for case, arguments in cases.items():
            for name, module in modules.items():
                function, words, before = arguments(module)
                best[name, case] = min(best[name, case], run_time(function, words, before))
    return {
        name: {case: round(len(cases[case](module)[1]) / best[name, case]) for case in cases}
        for name, module in modules.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--baseline", default="HEAD", help="git revision (default: HEAD)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--words", type=int, default=50_000)
    args = parser.parse_args(argv)
    path, header = LEXICONS["lefff"]
    lexicon = sorted(read_lexicon(args.data / path, header))
    raw = random.Random(0).sample(lexicon, min(args.words, len(lexicon)))
    modules = {"baseline": load_revision(args.baseline), "working_copy": analysis}
    results = {"words": len(raw), **measure(modules, raw, args.repeat)}
    results["ratio"] = {
        key: round(results["working_copy"][key] / results["baseline"][key], 3)
        for key in results["baseline"]
    }
    for key, ratio in results["ratio"].items():
        print(f"{key:<20} baseline {results['baseline'][key]:>9,} words/s   "
              f"working copy {results['working_copy'][key]:>9,} words/s   ratio {ratio:.3f}")
    print(json.dumps({"conflation_speed": results}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
