"""Larger archives made from the OrangeSum export: `--copies` copies of every record.

    python -m bench.archive --copies 4 --out /tmp/archive-4.jsonl [--source FILE] [--seed 15]

Copy 0 of a record is the record itself. Copy k > 0 gets its own id (an integer id plus
k * ID_STRIDE, another id suffixed `-k`; its url gets `#copy-k`) and a perturbed body: the
body's sentences (its clauses, when it has fewer than three sentences), one of them dropped
and the rest rotated, so that copies are not identical and stay real French. Each record's
variants are drawn without repetition from a shuffle seeded by `--seed` and its id, and
copy k takes the k-th: copy k is the same in every archive, whatever `--copies` (a 4x
archive is the start of a 10x one, record by record). Written streaming: one record in memory.
28 copies of the 36,152 records make about 1M articles.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.common import DATA_DIR

ID_STRIDE = 1_000_000
SEED = 15
_SENTENCE_END = re.compile(r"(?<=[.!?…»])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def units(body: str) -> list[str]:
    """The body's sentences, or its clauses when it has fewer than three sentences."""
    sentences = [s for s in _SENTENCE_END.split(body.strip()) if s]
    if len(sentences) >= 3:
        return sentences
    return [c for c in _CLAUSE_END.split(body.strip()) if c]


def variant_count(n: int) -> int:
    """Bodies of n units have n * (n - 2) variants (drop one, rotate the rest by 1 to
    n - 2), 2 with n = 2 (drop either), none with one unit."""
    return n * (n - 2) if n >= 3 else (2 if n == 2 else 0)


def variant(parts: list[str], number: int) -> list[str]:
    """Variant `number` of `parts`: one part dropped, the others rotated."""
    n = len(parts)
    if n == 2:
        return [parts[1 - number]]
    drop, shift = divmod(number, n - 2)
    kept = parts[:drop] + parts[drop + 1:]
    shift += 1
    return kept[shift:] + kept[:shift]


def shuffled_prefix(count: int, wanted: int, rng: random.Random) -> list[int]:
    """The first `wanted` numbers of a random order of range(count), drawn lazily (a partial
    Fisher-Yates shuffle): the first k are the same whatever `wanted` is."""
    swapped: dict[int, int] = {}
    out = []
    for i in range(min(wanted, count)):
        j = rng.randrange(i, count)
        out.append(swapped.get(j, j))
        swapped[j] = swapped.get(i, i)
    return out


def copies_of(record: dict, copies: int, seed: int = SEED) -> Iterator[dict]:
    """`copies` versions of `record`: itself, then its perturbed copies."""
    yield record
    body = record.get("article") or ""
    parts = units(body)
    rng = random.Random(f"{seed}:{record.get('id')}")
    numbers = shuffled_prefix(variant_count(len(parts)), copies - 1, rng)
    for k in range(1, copies):
        copy = dict(record)
        copy["id"] = copy_id(record.get("id"), k)
        if copy.get("url"):
            copy["url"] = f"{copy['url']}#copy-{k}"
        if numbers:  # a body of one unit (or none) stays as it is
            # Past the number of variants, copies repeat them in order.
            copy["article"] = " ".join(variant(parts, numbers[(k - 1) % len(numbers)]))
        yield copy


def copy_id(original: object, k: int) -> object:
    if isinstance(original, int) and not isinstance(original, bool):
        if not 0 <= original < ID_STRIDE:
            raise ValueError(f"id {original} is outside 0..{ID_STRIDE - 1}")
        return original + k * ID_STRIDE
    return f"{original}-{k}"


def write_archive(source: Path, copies: int, out: Path, seed: int = SEED) -> int:
    """Write the archive of `source` to `out` (each source record, then its copies), one
    record in memory at a time; the number of records written."""
    if copies < 1:
        raise ValueError("--copies must be at least 1")
    written = 0
    temporary = out.with_name(out.name + ".part")
    with open(source, encoding="utf-8") as lines, open(temporary, "w", encoding="utf-8") as sink:
        for line in lines:
            if not line.strip():
                continue
            for copy in copies_of(json.loads(line), copies, seed):
                sink.write(json.dumps(copy, ensure_ascii=False) + "\n")
                written += 1
    temporary.replace(out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, required=True, help="copies of each record")
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--source", type=Path,
                        default=DATA_DIR / "orangesum" / "orangesum.jsonl",
                        help="the export to copy (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    written = write_archive(args.source, args.copies, args.out, args.seed)
    print(f"{args.out}: {written:,} records ({args.copies} copies of {args.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
