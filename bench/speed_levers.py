"""What would make our product faster: candidate changes measured without editing `search/`.

Each variant patches the product in a process of its own (monkeypatching `search` or
Whoosh), then indexes, or answers the query set of `speed.py`; the rounds are
interleaved (baseline, variant A, variant B, ..., baseline, ...) and medians reported,
as ratios to the unpatched product measured in the same run. Run `speed.py` first: the
variants use its corpus copy, its index and its snapshot of `search/`.

    .venv/bin/python bench/speed_levers.py [--work /tmp/search-speed] [--what index,query]
        [--index-sample 3000] [--rounds 3] [--query-rounds 2] [--per-type 40] [--variants a,b,...]

Index variants (on the first `--index-sample` records of the export):
    product          `search.index.update`, unpatched
    whoosh-fr        stock Whoosh, our schema with LanguageAnalyzer("fr") (speed_peers.py)
    fold-cache       `analysis.fold` behind an unbounded lru_cache
    token-cache      the filters after the tokenizer run once per distinct word (a dict from
                     the token's text to its term), positions renumbered as StopFilter does
    limitmb-512      Whoosh writer `limitmb=512` instead of 256
    procs2-multiseg  Whoosh writer `procs=2, multisegment=True`
    chars            text fields store character offsets (`TEXT(chars=True)`)
    combined         token-cache + procs2-multiseg + limitmb-512
Query variants (on `--work`/`--index`, default the one-segment index-ours; `chars-pinpoint`
on an index of the corpus copy built with `chars`):
    product, token-cache (also used by the highlighter's re-analysis),
    one-pass-count   Whoosh's TopCollector without block-quality skipping, so that
                     `len(results)` needs no second run of the query
    no-replace       the collector never rebuilds its matcher tree (Whoosh: every 10 matches)
    expand-once      fuzzy/prefix/wildcard expansions computed once per query and reader
    fuzzy-prefix2    `word~` expands only to terms sharing the first 2 letters (Whoosh: 1)
    multiterm-union  expand-once, and a prefix/fuzzy/wildcard query of more than 8 terms
                     matches the union of their documents, one list with each document's
                     summed term scores, instead of a tree of one matcher per term; snippets
                     mark the query's expanded terms
    chars-pinpoint   highlights from stored character offsets with a PinpointFragmenter
    terms-once       the highlighter's expanded query terms computed once per query and
                     segment by segment (Whoosh: for every hit, on the whole index)
    combined         token-cache + one-pass-count + no-replace + terms-once + multiterm-union
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from whoosh.analysis import Filter, Token

BENCH = Path(__file__).resolve().parent
PYTHON = Path(sys.executable)

INDEX_VARIANTS = ("product", "whoosh-fr", "fold-cache", "token-cache", "limitmb-512",
                  "procs2-multiseg", "chars", "combined")
QUERY_VARIANTS = ("product", "token-cache", "one-pass-count", "no-replace", "expand-once",
                  "terms-once", "fuzzy-prefix2", "multiterm-union", "chars-pinpoint", "combined")


# --- the patches -----------------------------------------------------------------------

class MemoFilters(Filter):
    """The filters of an analyzer after its tokenizer, run once per distinct token text.

    Valid for chains where each filter maps one token to at most one (as ours does:
    elision, lowercase, fold, stop, stem): the term of a token depends on its text only.
    Positions are renumbered over the kept tokens, as `StopFilter(renumber=True)` does.
    """

    def __init__(self, filters) -> None:
        self.filters = list(filters)
        self.cache: dict[str, tuple[str, bool] | None] = {}

    def __getstate__(self):  # the schema is pickled into the index: not the cache
        return {"filters": self.filters}

    def __setstate__(self, state) -> None:
        self.filters, self.cache = state["filters"], {}

    def _term(self, text: str) -> tuple[str, bool] | None:
        """The token's final text and whether it is a stop word; None if dropped."""
        token = Token(positions=False, chars=False, removestops=False)
        token.text, token.stopped, token.boost = text, False, 1.0
        stream = iter([token])
        for f in self.filters:
            stream = f(stream)
        out = next(stream, None)
        return None if out is None else (out.text, bool(out.stopped))

    def __call__(self, tokens):
        cache = self.cache
        pos = None
        for t in tokens:
            text = t.text
            found = cache.get(text, False)
            if found is False:
                found = cache[text] = self._term(text)
            if found is None:
                continue
            t.text, stopped = found
            if stopped:
                if not t.removestops:  # the highlighter keeps stop words, marked
                    t.stopped = True
                    yield t
                continue
            t.stopped = False
            if t.positions:
                if pos is None:
                    pos = t.pos
                else:
                    pos += 1
                    t.pos = pos
            yield t


def memoized(analyzer):
    from whoosh.analysis.analyzers import CompositeAnalyzer

    tokenizer, *filters = analyzer.items
    return CompositeAnalyzer(tokenizer, MemoFilters(filters))


def patch_token_cache() -> None:
    import search.analysis
    import search.index

    original = search.analysis.french_analyzer
    search.index.french_analyzer = lambda: memoized(original())


def patch_fold_cache() -> None:
    from functools import lru_cache

    import search.analysis

    search.analysis.fold = lru_cache(maxsize=None)(search.analysis.fold)


def patch_writer(**options) -> None:
    from whoosh.index import FileIndex

    original = FileIndex.writer

    def writer(self, procs=1, **kwargs):
        kwargs.update(options)
        return original(self, **kwargs)

    FileIndex.writer = writer


def patch_chars() -> None:
    import search.index
    from whoosh import formats
    from whoosh.fields import TEXT

    original = search.index.build_schema

    def build_schema():
        schema = original()
        for _, field in schema.items():
            if isinstance(field, TEXT):
                field.format = formats.Characters(field_boost=field.format.field_boost)
        return schema

    search.index.build_schema = build_schema


def patch_searcher_analyzers(searcher) -> None:
    """The open index's text analyzers memoized (query parsing and highlighting)."""
    from whoosh.fields import TEXT

    ix = searcher._ix
    schema = ix.schema
    for _, field in schema.items():
        if isinstance(field, TEXT):
            field.analyzer = field.format.analyzer = memoized(field.analyzer)
    # Whoosh reads the schema from the table of contents on each access: keep this one.
    type(ix).schema = property(lambda self, schema=schema: schema)
    searcher._searcher.schema = schema
    searcher._searcher.ixreader.schema = schema


def patch_one_pass_count() -> None:
    from whoosh import collectors

    original = collectors.TopCollector.__init__

    def __init__(self, limit=10, usequality=True, **kwargs):
        original(self, limit=limit, usequality=False, **kwargs)

    collectors.TopCollector.__init__ = __init__


def patch_no_replace() -> None:
    """Whoosh's collectors rebuild their matcher tree every 10 matches (`replace=10`), asking
    every branch for its maximum quality: with a few hundred expanded terms, that walk costs
    more than the matching. `replace=0` never rebuilds."""
    from whoosh import collectors

    original = collectors.TopCollector.__init__

    def __init__(self, limit=10, usequality=True, **kwargs):
        original(self, limit=limit, usequality=usequality, **kwargs)
        self.replace = 0

    collectors.TopCollector.__init__ = __init__


def patch_expand_once() -> None:
    from whoosh.query import terms

    for cls in (terms.FuzzyTerm, terms.Prefix, terms.Wildcard):
        original = cls._btexts

        def _btexts(self, ixreader, original=original):
            cache = getattr(ixreader, "_bench_expansions", None)
            if cache is None:
                cache = ixreader._bench_expansions = {}
            key = (type(self).__name__, repr(self))
            if key not in cache:
                cache[key] = list(original(self, ixreader))
            return cache[key]

        cls._btexts = _btexts


def patch_fuzzy_prefix2() -> None:
    from whoosh.query import terms

    # Whoosh's FuzzyTermPlugin sets `prefixlength` after building the query: patch its use.
    def _btexts(self, ixreader):
        return ixreader.terms_within(self.fieldname, self.text, self.maxdist,
                                     prefix=max(self.prefixlength, 2))

    terms.FuzzyTerm._btexts = _btexts


def patch_multiterm_union(threshold: int = 8) -> None:
    """A constant-score prefix/fuzzy/wildcard query of more than `threshold` terms matches
    the union of their documents (one sorted list with summed scores) instead of a tree of
    one matcher per term; the highlighter marks the query's expanded terms
    (`Results.has_matched_terms` False)."""
    from whoosh import matching
    from whoosh.query import terms
    from whoosh.searching import Results

    original = terms.MultiTerm.matcher

    def matcher(self, searcher, context=None):
        if not self.constantscore:
            return original(self, searcher, context)
        reader = searcher.reader()
        words = [word for word in self._btexts(reader) if word]
        if len(words) <= threshold:
            return original(self, searcher, context)
        # Scored as Whoosh scores the union: the sum of the terms' scores in each document
        # (Whoosh's `constantscore` asks for no weighting, but `Searcher.postings` then
        # falls back to the searcher's BM25F), times the boost.
        scores: dict[int, float] = {}
        for word in words:
            m = searcher.postings(self.field(), word)
            while m.is_active():
                scores[m.id()] = scores.get(m.id(), 0.0) + m.score()
                m.next()
        ids = sorted(scores)
        return matching.ListMatcher(ids, weights=[scores[i] * self.boost for i in ids])

    terms.MultiTerm.matcher = matcher
    Results.has_matched_terms = lambda self: False


def patch_terms_once() -> None:
    """The highlighter's expanded query terms computed once per query, segment by segment.

    Whoosh's `Results.query_terms(expand=True)` runs for every hit, on the top reader: with
    several segments that is a MultiReader, whose `terms_within` (fuzzy) computes an edit
    distance against every term with the same first letter, in Python."""
    from whoosh.searching import Results

    def query_terms(self, expand=False, fieldname=None):
        cache = self.__dict__.setdefault("_bench_query_terms", {})
        key = (expand, fieldname)
        if key not in cache:
            reader = self.searcher.reader()
            readers = [leaf for leaf, _ in reader.leaf_readers()] if expand else [reader]
            cache[key] = set().union(*(
                self.q.existing_terms(leaf, fieldname=fieldname, expand=expand)
                for leaf in readers))
        return cache[key]

    Results.query_terms = query_terms


def patch_pinpoint() -> None:
    import search.searcher
    from whoosh.highlight import PinpointFragmenter

    from search.snippets import FRAGMENT_CHARS, SURROUND_CHARS

    search.searcher.fragmenter = lambda: PinpointFragmenter(
        maxchars=FRAGMENT_CHARS, surround=SURROUND_CHARS, autotrim=True)


INDEX_PATCHES = {
    "product": [],
    "fold-cache": [patch_fold_cache],
    "token-cache": [patch_token_cache],
    "limitmb-512": [lambda: patch_writer(limitmb=512)],
    "procs2-multiseg": [lambda: patch_writer(procs=2, multisegment=True)],
    "chars": [patch_chars],
    "combined": [patch_token_cache, lambda: patch_writer(limitmb=512, procs=2, multisegment=True)],
}
QUERY_PATCHES = {
    "product": [], "token-cache": [], "one-pass-count": [patch_one_pass_count],
    "expand-once": [patch_expand_once], "fuzzy-prefix2": [patch_fuzzy_prefix2],
    "terms-once": [patch_terms_once], "no-replace": [patch_no_replace],
    "multiterm-union": [patch_expand_once, patch_multiterm_union],
    "chars-pinpoint": [patch_pinpoint],
    "combined": [patch_one_pass_count, patch_no_replace, patch_expand_once, patch_terms_once,
                 patch_multiterm_union],
}
MEMO_QUERY_VARIANTS = ("token-cache", "combined")


# --- workers (run in a process of their own) -------------------------------------------

def index_worker(variant: str, corpus: Path, out: Path) -> dict:
    if variant == "whoosh-fr":
        from speed_peers import build_whoosh

        return {"documents": build_whoosh(corpus, out)}
    for patch in INDEX_PATCHES[variant]:
        patch()
    from search.index import update

    report = update([corpus], out)
    return {"documents": report.added}


def digest(value) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()[:12]


def query_worker(variant: str, index: Path, queries_file: Path, repeat: int) -> dict:
    from speed import OurSearcher, time_queries

    for patch in QUERY_PATCHES[variant]:
        patch()
    queries = json.loads(queries_file.read_text("utf-8"))
    searcher = OurSearcher(index)
    answer = searcher.__enter__()
    if variant in MEMO_QUERY_VARIANTS:
        patch_searcher_analyzers(searcher.searcher)
    try:
        kept: dict[str, list] = {}
        figures = time_queries(answer, queries, repeat, peer=False, keep=kept)
        # What each query returns (ids, snippets and their highlights), to compare variants.
        figures["answers"] = {
            text: [digest([h.id for h in hits]),
                   digest([(h.id, h.snippet.text, h.snippet.highlights) for h in hits])]
            for text, hits in kept.items()}
    finally:
        searcher.__exit__(None, None, None)
    return figures


# --- the driver ------------------------------------------------------------------------

def sample_of(corpus: Path, records: int, out: Path) -> Path:
    with open(corpus, encoding="utf-8") as lines, open(out, "w", encoding="utf-8") as sample:
        for number, line in enumerate(lines):
            if number >= records:
                break
            sample.write(line)
    return out


def bench_index_variants(variants, corpus: Path, work: Path, rounds: int) -> dict:
    from speed import log, run_measured, size_on_disk

    runs: dict[str, list] = {v: [] for v in variants}
    for round_ in range(rounds):
        for variant in variants:
            out = work / f"lever-index-{variant}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            run = run_measured([str(PYTHON), str(Path(__file__)), "--worker", "index", variant,
                                str(corpus), str(out)])
            if run.returncode:
                raise SystemExit(f"index variant {variant} failed:\n{run.stderr[-3000:]}")
            docs = json.loads(run.stdout.strip().splitlines()[-1])["documents"]
            runs[variant].append((run.wall_s, run.cpu_s, run.peak_rss_mb, docs,
                                  size_on_disk(out)))
            log(f"round {round_ + 1} {variant}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s cpu")
    base = statistics.median(r[0] for r in runs["product"]) if "product" in runs else None
    base_cpu = statistics.median(r[1] for r in runs["product"]) if "product" in runs else None
    results = {}
    for variant, rows in runs.items():
        wall = statistics.median(r[0] for r in rows)
        results[variant] = {
            "documents": rows[0][3],
            "wall_s": round(wall, 2),
            "cpu_s": round(statistics.median(r[1] for r in rows), 2),
            "docs_per_s": round(rows[0][3] / wall, 1),
            "peak_rss_mb": round(max(r[2] for r in rows), 1),
            "index_mb": round(rows[-1][4] / 1e6, 1),
            "speedup_vs_product": round(base / wall, 3) if base else None,
            "cpu_speedup_vs_product": round(
                base_cpu / statistics.median(r[1] for r in rows), 3) if base_cpu else None,
        }
    return results


def bench_query_variants(variants, index: Path, chars_index: Path | None, queries: dict,
                         work: Path, rounds: int, repeat: int) -> dict:
    from speed import log, run_measured

    queries_file = work / "lever-queries.json"
    queries_file.write_text(json.dumps(queries, ensure_ascii=False), "utf-8")
    runs: dict[str, list] = {v: [] for v in variants}
    for round_ in range(rounds):
        for variant in variants:
            folder = chars_index if variant == "chars-pinpoint" else index
            run = run_measured([str(PYTHON), str(Path(__file__)), "--worker", "query", variant,
                                str(folder), str(queries_file), str(repeat)])
            if run.returncode:
                raise SystemExit(f"query variant {variant} failed:\n{run.stderr[-3000:]}")
            runs[variant].append(json.loads(run.stdout.strip().splitlines()[-1]))
            log(f"round {round_ + 1} {variant}: done")
    results = {}
    reference = runs["product"][0]["answers"] if "product" in runs else None
    for variant, rows in runs.items():
        results[variant] = {
            kind: {stat: round(statistics.median(r[kind][stat] for r in rows), 2)
                   for stat in ("p50_ms", "p95_ms")}
            for kind in queries
        }
        if reference:
            answers = rows[0]["answers"]
            ids = sum(answers[text][0] == reference[text][0] for text in reference)
            same = sum(answers[text] == reference[text] for text in reference)
            results[variant]["same_ids"] = f"{ids}/{len(reference)}"
            results[variant]["same_answers"] = f"{same}/{len(reference)}"
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        kind, variant, *rest = argv[1:]
        if kind == "index":
            result = index_worker(variant, Path(rest[0]), Path(rest[1]))
        else:
            result = query_worker(variant, Path(rest[0]), Path(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return 0

    from speed import DATA_DIR, make_queries, machine, use_snapshot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-speed"),
                        help="the --work folder of a speed.py run (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--what", default="index,query")
    parser.add_argument("--index-sample", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--query-rounds", type=int, default=2)
    parser.add_argument("--per-type", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each query per round")
    parser.add_argument("--variants", help="comma-separated (default: all)")
    parser.add_argument("--index", default="index-ours",
                        help="the index in --work the query variants use (default: %(default)s; "
                             "index-ours-updated has the segments of speed.py's updates)")
    args = parser.parse_args(argv)
    chosen = set(args.variants.split(",")) if args.variants else None
    corpus = args.work / "orangesum.jsonl"
    snapshot = use_snapshot(args.work, take=False)  # the code speed.py measured
    report: dict = {"machine": machine(snapshot)}

    if "index" in args.what:
        variants = [v for v in INDEX_VARIANTS if chosen is None or v in chosen or v == "product"]
        source = args.data / "orangesum" / "orangesum.jsonl"  # the copy has changed records
        sample = sample_of(source, args.index_sample, args.work / "lever-sample.jsonl")
        report["index"] = bench_index_variants(variants, sample, args.work, args.rounds)
        print(f"## Index variants, first {args.index_sample:,} records, median of "
              f"{args.rounds} interleaved rounds\n")
        print(f"{'variant':<16} {'wall s':>7} {'cpu s':>7} {'docs/s':>7} {'RSS MB':>7} "
              f"{'index MB':>8} {'speed-up wall':>13} {'cpu':>6}")
        for variant, r in report["index"].items():
            print(f"{variant:<16} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} {r['docs_per_s']:>7.0f} "
                  f"{r['peak_rss_mb']:>7.0f} {r['index_mb']:>8.1f} "
                  f"{r['speedup_vs_product']:>12.2f}x {r['cpu_speedup_vs_product']:>5.2f}x")
        print()

    if "query" in args.what:
        variants = [v for v in QUERY_VARIANTS if chosen is None or v in chosen or v == "product"]
        chars_index = None
        if "chars-pinpoint" in variants:
            chars_index = args.work / "lever-index-chars-full"
            version = (snapshot / "VERSION").read_text("utf-8")
            built_by = chars_index / "BUILT-BY"
            if not built_by.is_file() or built_by.read_text("utf-8") != version:
                from speed import log
                log("building a chars=True index of the whole corpus copy...")
                from speed import run_measured
                shutil.rmtree(chars_index, ignore_errors=True)
                run = run_measured([str(PYTHON), str(Path(__file__)), "--worker", "index",
                                    "chars", str(corpus), str(chars_index)])
                if run.returncode:
                    raise SystemExit(run.stderr[-3000:])
                built_by.write_text(version, "utf-8")
        queries = make_queries(args.data / "orangesum" / "known-item-dev.tsv", args.per_type)
        report["query"] = bench_query_variants(variants, args.work / args.index, chars_index,
                                               queries, args.work, args.query_rounds, args.repeat)
        print(f"## Query variants on speed.py's index, {args.per_type} queries per type, "
              f"p50 / p95 ms, median of {args.query_rounds} interleaved rounds\n")
        print(f"{'type':<13}" + "".join(f"{v:>17}" for v in report["query"]))
        for kind in queries:
            print(f"{kind:<13}" + "".join(
                f"{r[kind]['p50_ms']:>7.1f} / {r[kind]['p95_ms']:>6.1f}"
                for r in report["query"].values()))
        for key in ("same_ids", "same_answers"):
            print(f"{key.replace('_', ' '):<13}" + "".join(
                f"{r.get(key, '-'):>17}" for r in report["query"].values()))
        print("(same ids: queries whose top 10 ids equal the product's; same answers: "
              "ids, snippets and highlights)")
        print()

    print(json.dumps({"speed_levers": report}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
