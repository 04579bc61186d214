"""Copies of one dispatch on OrangeSum: groups, their precision and recall, and what the
signatures add to indexing (issue 12, point 3).

    python -m bench.copies                 # everything below
    python -m bench.copies groups          # groups and copies in the export, and the
                                           # precision and recall on the judged pairs
    python -m bench.copies sample          # print the pairs to judge (by reading them)
    python -m bench.copies cost --sizes 5000,36152 --repeat 2
    python -m bench.copies example maroc   # one word's hits, and their groups
    python -m bench.copies depth --index DIR   # whether a page's groups depend on the
                                               # depth read (bench/queries.json)

Pairs are judged by reading both articles (`bench/copies_judged.tsv`, with a reason for
each): a pair is a copy when one article is the other's dispatch, republished or updated
without changing what it reports (a sentence or paragraph changed or added, figures
updated); it is not when the later one rewrites or adds a substantial part of the story,
or when two reports share stock sentences only (polls, daily figures). The sample: 60 pairs
the grouping makes, 60 it does not make among those whose shingles' Jaccard similarity is
0.5 to 0.8 (near the threshold), and 30 it does not make among articles with the same
title (titles held by at most 3 articles: a title of many is a series, "le point sur la
pandémie", whose pairs the first run showed to be other days' reports).
Precision is that of the pairs made; recall weighs each sample by the number of
pairs of its kind. Pairs below 0.5 with different titles, or with a title many articles
share, are taken as not copies: half of their text or more differs.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import itertools
import json
import random
import shutil
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    DATA_DIR,
    PYTHON,
    ROOT,
    checked,
    load_average,
    log,
    orangesum_records,
    run_measured,
)

SOURCE = DATA_DIR / "orangesum" / "orangesum.jsonl"
JUDGED = Path(__file__).with_name("copies_judged.tsv")
SAMPLES = {"made": 60, "near": 60, "title": 30}
NEAR = (0.5, 0.8)  # exact Jaccard similarity of the pairs not made that are sampled
SEED = 12


def signatures(records: list[dict]) -> list[bytes | None]:
    from search.copies import signature

    return [signature(record.get("article") or "") for record in records]


def jaccard(first: list[int] | None, second: list[int] | None) -> float:
    if not first or not second:
        return 0.0
    a, b = set(first), set(second)
    return len(a & b) / len(a | b)


def near_pairs(found: list[bytes | None], low: float) -> set[tuple[int, int]]:
    """Pairs whose similarity may be above `low`: datasketch's LSH at that threshold over
    the same signatures (a wider net than the product's bands, for the sample only)."""
    import numpy as np
    from datasketch import LeanMinHash, MinHashLSH

    from search.copies import SEED as SIGNATURE_SEED
    from search.copies import SIGNATURE_SIZE, usable

    lsh = MinHashLSH(threshold=low, num_perm=SIGNATURE_SIZE)
    sketches = {}
    for at, signature in enumerate(found):
        if usable(signature):
            sketches[at] = LeanMinHash(seed=SIGNATURE_SEED, scheme="affine32",
                                       hashvalues=np.frombuffer(signature, "<u4"))
            lsh.insert(at, sketches[at])
    return {tuple(sorted((at, other))) for at, sketch in sketches.items()
            for other in lsh.query(sketch) if other != at}


def _title(record: dict) -> str:
    return " ".join((record.get("title") or "").lower().split())


def analyse(records: list[dict]) -> dict:
    """Groups, the pairs the grouping makes, and the pools the sample is drawn from."""
    from search.copies import copy_pairs, group, shingles

    started = time.process_time()
    found = signatures(records)
    log(f"signatures of {len(records):,} articles: {time.process_time() - started:.1f} s CPU")
    groups = [members for members in group(found) if len(members) > 1]
    made = set(copy_pairs(found))
    candidates = near_pairs(found, NEAR[0]) - made
    sets: dict[int, list[int] | None] = {}

    def exact(pair: tuple[int, int]) -> float:
        for at in pair:
            if at not in sets:
                sets[at] = shingles(records[at].get("article") or "")
        return jaccard(sets[pair[0]], sets[pair[1]])

    near = sorted(pair for pair in candidates if NEAR[0] <= exact(pair) < NEAR[1])
    by_title: dict[str, list[int]] = {}
    for at, record in enumerate(records):
        if _title(record):
            by_title.setdefault(_title(record), []).append(at)
    same_title = {pair for members in by_title.values()
                  for pair in itertools.combinations(members, 2)}
    # A title that many articles share names a series ("le point sur la pandémie"), not a
    # dispatch: the sample reads pairs of titles held by at most 3 articles.
    rare = {pair for members in by_title.values() if len(members) <= 3
            for pair in itertools.combinations(members, 2)}
    title_not_made = sorted(rare - made - set(near))
    return {"signatures": found, "groups": groups, "made": sorted(made), "near": near,
            "title": title_not_made, "same_title": same_title, "rare_title": rare,
            "exact": exact,
            "without": sum(signature is None for signature in found)}


def sample(pools: dict) -> list[tuple[str, int, int]]:
    chosen = []
    for kind, size in SAMPLES.items():
        pool = pools[kind]
        chosen += [(kind, *pair) for pair in random.Random(SEED).sample(pool, min(size,
                                                                                  len(pool)))]
    return chosen


def show_pair(records: list[dict], kind: str, first: int, second: int, exact: float) -> str:
    """Both articles of a pair as read to judge them: metadata, and the body of the first
    with the second's differences."""
    a, b = records[first], records[second]
    lines = [f"=== {kind} {a['id']} {b['id']} jaccard {exact:.2f}"]
    for mark, record in (("A", a), ("B", b)):
        lines.append(f"{mark} {record['date']} {record['category']} {record['title']} "
                     f"({len((record.get('article') or '').split())} words)")
    sa = (a.get("article") or "").replace(". ", ".\n").splitlines()
    sb = (b.get("article") or "").replace(". ", ".\n").splitlines()
    if sa == sb:
        lines.append("   (identical bodies)")
        lines += textwrap.wrap(" ".join(sa)[:300], 110, initial_indent="   ",
                               subsequent_indent="   ")
    for line in difflib.unified_diff(sa, sb, lineterm="", n=0):
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            lines.append("   " + line[:220])
    return "\n".join(lines)


def read_judged() -> list[dict]:
    with open(JUDGED, encoding="utf-8", newline="") as rows:
        return list(csv.DictReader(rows, delimiter="\t"))


def scores(pools: dict, ids: dict[int, int]) -> dict:
    """Precision of the judged pairs the grouping makes, and recall with each kind of pair
    not made weighed by how many pairs of its kind there are."""
    made = set(pools["made"])
    counts: dict[str, Counter] = {}
    for row in read_judged():
        pair = tuple(sorted((ids[int(row["first"])], ids[int(row["second"])])))
        kind = "made" if pair in made else row["kind"]
        counts.setdefault(kind, Counter())[row["judgement"]] += 1
    share = {kind: found["copy"] / sum(found.values()) for kind, found in counts.items()}
    found = share.get("made", 0) * len(pools["made"])
    missed = sum(share.get(kind, 0) * len(pools[kind]) for kind in ("near", "title"))
    return {"judged": {kind: dict(found) for kind, found in counts.items()},
            "precision": round(share.get("made", 0), 3),
            "recall": round(found / (found + missed), 3) if found + missed else None,
            "pools": {kind: len(pools[kind]) for kind in SAMPLES}}


def groups_report(records: list[dict], pools: dict) -> dict:
    groups = pools["groups"]
    sizes = Counter(len(members) for members in groups)
    categories = sum(len({records[at]["category"] for at in members}) > 1 for members in groups)
    same_title_made = len(pools["same_title"] & set(pools["made"]))
    report = {
        "articles": len(records),
        "without_signature": pools["without"],
        "groups": len(groups),
        "copies": sum(len(members) - 1 for members in groups),
        "articles_in_groups": sum(len(members) for members in groups),
        "group_sizes": dict(sorted(sizes.items())),
        "groups_across_categories": categories,
        "pairs_made": len(pools["made"]),
        "same_title_pairs": len(pools["same_title"]),
        "same_title_pairs_made": same_title_made,
    }
    if JUDGED.exists():
        report |= scores(pools, {int(record["id"]): at for at, record in enumerate(records)})
    return report


def example(records: list[dict], word: str) -> dict:
    """The articles whose title, lead or body has `word`'s term (as `search query WORD`
    matches them), and their groups of copies: how many hits a reader is spared."""
    from search.analysis import analyze
    from search.copies import group

    wanted = analyze(word)
    found = [record for record in records
             if set(wanted) & set(analyze(" ".join(record.get(field) or "" for field in
                                                   ("title", "heading", "article"))))]
    groups = group(signatures(found))
    shared_titles = Counter(_title(record) for record in found)
    return {"word": word, "articles": len(found), "groups": len(groups),
            "titles_twice_or_more": sum(count > 1 for count in shared_titles.values()),
            "groups_across_categories": [
                [(found[at]["id"], found[at]["category"]) for at in members]
                for members in groups if len({found[at]["category"] for at in members}) > 1]}


def depth(index: Path, shallow: int = 10, deep: int = 40,
          queries: dict[str, list[str]] | None = None) -> dict:
    """The `queries` (by default the bench's) whose first `shallow` hits (ids, groups shown
    by one article) are not the first `shallow` of `deep`: a group showing another
    article, or merged with another, when more hits are read."""
    from bench.queries import load
    from search.errors import SearchError
    from search.searcher import open_searcher

    differ, same, examples = 0, 0, []
    with open_searcher(index) as searcher:
        for kind, texts in (queries or load()).items():
            for text in texts:
                try:
                    first = [hit.id for hit in searcher.search(text, limit=shallow).hits]
                    more = [hit.id for hit in searcher.search(text, limit=deep).hits]
                except SearchError:
                    continue
                if first == more[:shallow]:
                    same += 1
                    continue
                differ += 1
                if len(examples) < 5:
                    examples.append({"kind": kind, "query": text, "shallow": first,
                                     "deep": more[:shallow]})
    return {"index": str(index), "shallow": shallow, "deep": deep, "differ": differ,
            "same": same, "examples": examples}


# --- the cost of signatures at indexing ----------------------------------------------

def _index_here(corpus: str, folder: str, without: bool) -> None:
    """One indexing run, in this process (started by `cost`): with or without the copy
    fields, everything else alike."""
    from search import index as index_module

    if without:
        index_module.copy_fields = lambda article: {}
    report = index_module.update([Path(corpus)], Path(folder))
    print(json.dumps({"added": report.added}))


def cost(sizes: list[int], repeat: int) -> list[dict]:
    """CPU and wall time of indexing the first `size` articles with and without the
    signatures, the two interleaved in one run, each a fresh index."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-copies-") as work:
        for size in sizes:
            corpus = Path(work) / f"orangesum-{size}.jsonl"
            with open(SOURCE, encoding="utf-8") as lines, open(corpus, "w") as out:
                out.writelines(itertools.islice(lines, size))
            runs: dict[str, list] = {"with": [], "without": []}
            for turn in range(repeat):
                for variant in ("without", "with") if turn % 2 == 0 else ("with", "without"):
                    folder = Path(work) / "index"
                    shutil.rmtree(folder, ignore_errors=True)
                    log(f"indexing {size:,} articles {variant} signatures ({turn + 1}/{repeat})")
                    command = [str(PYTHON), "-m", "bench.copies", "_index", str(corpus),
                               str(folder)] + (["--without"] if variant == "without" else [])
                    run = checked(run_measured(command, cwd=ROOT), f"indexing {variant}")
                    runs[variant].append((run.cpu_s, run.wall_s, load_average()[0]))
            cpu = {variant: min(cpu for cpu, _, _ in found) for variant, found in runs.items()}
            wall = {variant: min(wall for _, wall, _ in found) for variant, found in runs.items()}
            rows.append({"articles": size, "cpu_s": cpu, "wall_s": wall,
                         "cpu_added": round(cpu["with"] / cpu["without"] - 1, 3),
                         "wall_added": round(wall["with"] / wall["without"] - 1, 3),
                         "runs": runs})
            log(f"{size:,}: CPU {cpu['without']:.1f} -> {cpu['with']:.1f} s "
                f"({rows[-1]['cpu_added']:+.1%}), wall {wall['without']:.1f} -> "
                f"{wall['with']:.1f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.copies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", default="all",
                        choices=["all", "groups", "sample", "cost", "example", "depth",
                                 "_index"])
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--without", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="5000,36152",
                        help="Articles indexed for the cost (default: 5000,36152).")
    parser.add_argument("--index", type=Path, help="The index `depth` reads.")
    parser.add_argument("--repeat", type=int, default=2,
                        help="Runs of each variant per size; the fastest counts (default 2).")
    args = parser.parse_args(argv)
    if args.step == "_index":
        _index_here(*args.paths, args.without)
        return 0
    report: dict = {"load_average": load_average()}
    if args.step == "depth":
        if args.index is None:
            parser.error("depth reads an index: give --index DIR")
        report["depth"] = depth(args.index)
    if args.step == "example":
        records = list(orangesum_records(SOURCE))
        report["example"] = [example(records, word) for word in args.paths or ["maroc"]]
    if args.step in ("all", "groups", "sample"):
        records = list(orangesum_records(SOURCE))
        pools = analyse(records)
        if args.step == "sample":
            for kind, first, second in sample(pools):
                print(show_pair(records, kind, first, second,
                                pools["exact"]((first, second))) + "\n")
            return 0
        report["groups"] = groups_report(records, pools)
    if args.step in ("all", "cost"):
        report["cost"] = cost([int(size) for size in args.sizes.split(",")], args.repeat)
    report["load_average_after"] = load_average()
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
