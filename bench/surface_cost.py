"""What the surface fields (`search.surface`) cost in index size and indexing time, by layout.

    python -m bench.surface_cost [--sample 5000] [--repeat 2] [--work DIR]

The first `--sample` OrangeSum articles are indexed (one process, no sub-writers, so the
layouts compare alike) three ways: without surface fields; with one `surface` field holding
the default fields' text (title, lead, dateline, body, joined as paragraphs); with one surface
twin per searchable field (the product's layout). Reports the index's size on disk and the
CPU and wall time of `search.index.rebuild` (the best of `--repeat` runs), each against the
layout without surface fields.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import DATA_DIR
from search import index as index_module
from search import schema as schema_module
from search import store as store_module
from search.whoosh_fast import writer as writer_module

FIELD_MAP = {"id": "id", "lead": "heading", "body": "article"}


def _layouts():
    build, fields = schema_module.build_schema, schema_module.document_fields
    default = list(schema_module.DEFAULT_FIELDS)

    def without_surface():
        schema = build()
        for name in schema_module.SURFACE_FIELDS.values():
            schema.remove(name)
        return schema

    def plain_fields(article):
        values = fields(article)
        return {k: v for k, v in values.items() if k not in schema_module.SURFACE_FIELDS.values()}

    def one_field_schema():
        schema = without_surface()
        schema.add("surface", build()[schema_module.SURFACE_FIELDS["body"]])
        return schema

    def one_field(article):
        values = plain_fields(article)
        values["surface"] = "\n\n".join(values[name] for name in default if values.get(name))
        return values

    return {
        "none": (without_surface, plain_fields),
        "one surface field": (one_field_schema, one_field),
        "one per field": (build, fields),
    }


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="surface-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample.jsonl"
    with (DATA_DIR / "orangesum" / "orangesum.jsonl").open(encoding="utf-8") as source, \
            sample.open("w", encoding="utf-8") as out:
        for n, line in enumerate(source):
            if n >= args.sample:
                break
            record = json.loads(line)
            record["id"] = str(record["id"])
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    writer_module.SUB_WRITERS = False
    figures = {}
    for name, (schema, fields) in _layouts().items():
        store_module.build_schema, index_module.document_fields = schema, fields
        best_cpu = best_wall = float("inf")
        for _ in range(args.repeat):
            target = work / "index"
            shutil.rmtree(target, ignore_errors=True)
            wall, cpu = time.perf_counter(), time.process_time()
            index_module.rebuild([sample], target, field_map=FIELD_MAP)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
        figures[name] = (_size(target), best_cpu, best_wall)
        print(f"{name}: {figures[name][0]:,} bytes, CPU {best_cpu:.1f} s, wall {best_wall:.1f} s",
              flush=True)
    size0, cpu0, wall0 = figures["none"]
    print(f"{args.sample} OrangeSum articles, best of {args.repeat} rebuilds, one process")
    print(f"{'layout':<20} {'size MB':>8} {'size %':>7} {'CPU s':>7} {'CPU %':>7} {'wall s':>7}")
    for name, (size, cpu, wall) in figures.items():
        print(f"{name:<20} {size / 1e6:>8.1f} {100 * (size / size0 - 1):>+6.1f}% "
              f"{cpu:>7.1f} {100 * (cpu / cpu0 - 1):>+6.1f}% {wall:>7.1f}")


if __name__ == "__main__":
    main()
