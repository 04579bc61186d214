"""Vocabulary probes (issue 11): does a query for a country, a demonym, an acronym, a full
name or a person find every article that names the thing, however it is written?

    .venv/bin/python -m bench.quality.vocabulary [--systems ours,tantivy,fts5]
        [--probes bench/quality/probes.json] [--source ORANGESUM.jsonl] [--seeds DIR]
        [--work DIR] [--json FILE] [--index DIR]

The corpus is the OrangeSum export and the seed articles (`seeds/`), written once into one
JSONL file in `--work` that every system indexes whole (title, heading as the lead, body):
ours as `search index` does (`search.index.rebuild`), the peers with `bench.peers`' builders.
Indexes are cached in `--work` (`bench.quality.systems.cached_index`), ours keyed by the
contents of the `search` package, so a run on changed code rebuilds it; `--index DIR`
queries an index of ours already built over that corpus instead (to try a change to the
query side without a rebuild; the index must be of the same analyzer version).

Each probe of `probes.json` is a query as an analyst types it and the *thing* it names.
A thing is a regular expression over the raw text (title, heading and body, accents
stripped, curly apostrophes made straight) of every form of it: `forms` (names, long
names, demonyms, spellings) and `compounds` (`maroco-`, `sino-`...), written without
accents and case-sensitive unless wrapped in `(?i:...)`; its `keys` (lowercase substrings
one of which every match contains) only spare the scan of articles that cannot match.
This truth owes nothing to any analyzer. Kinds (see `probes.json`):

- `country`, `demonym`, `acronym`, `fullname`, `person`, `elision`: the truth is every
  article that matches the thing;
- `prefix`: the query is the country, and recall counts only the articles that name it
  through a compound alone (`relations maroco-kazakhes`, never `Maroc` or `marocain`);
- `compound`: the query is a compound word, its thing that word's forms.

A hit is right when its article matches the thing (all of its forms, for `prefix` too).
Every hit counts, not the top 10: each system is asked for as many hits as there are
articles, ours with every copy of a dispatch as a hit of its own (`copies=True`; by default
it shows one article per group of copies, and counting groups lost a tenth of every
truth). Recall = hits in the truth / truth; precision = right hits / hits (undefined, and
left out of the means, when a system returns nothing). The report gives each probe, then mean
recall and precision per kind and over all probes, for each system.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DATA_DIR, ROOT, code_version, load_average, log
from bench.peers import BUILDERS, OPENERS, SqliteFts5, Tantivy, digest
from bench.quality.systems import OurEngine, cached_index
from bench.quality.tasks import Corpus

PROBES = Path(__file__).with_name("probes.json")
SOURCE = DATA_DIR / "orangesum" / "orangesum.jsonl"
SEEDS = ROOT / "seeds"
WORK = DATA_DIR.parent.parent / "tmp-probes"
KINDS = ("country", "demonym", "prefix", "acronym", "fullname", "person", "elision",
         "compound")
SYSTEM_NAMES = ("ours", "tantivy", "fts5")
SEED_PREFIX = "seed-"

_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A query's answer: the keys (see `doc_key`) of every article it finds.
Finder = Callable[[str], set[str]]


def doc_key(doc_id: str) -> str:
    """The record id an engine's document id ends with: ours and the peers prefix it with
    the file's name and `#`."""
    return doc_id.rsplit("#", 1)[-1]


def plain(text: str) -> str:
    """`Côte d’Ivoire` → `Cote d'Ivoire`: accents stripped, case kept, apostrophes straight."""
    decomposed = unicodedata.normalize("NFD", text.replace("’", "'").replace("ʼ", "'"))
    return _COMBINING.sub("", decomposed)


# --- the probes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Thing:
    forms: re.Pattern
    compounds: re.Pattern | None = None
    # Lowercase substrings one of which every match contains: articles without any are
    # not searched (a pattern takes seconds over the whole archive; `in` is fast).
    keys: tuple[str, ...] | None = None

    def may_be_in(self, lowered: str) -> bool:
        return self.keys is None or any(key in lowered for key in self.keys)

    def named_in(self, text: str) -> bool:
        return bool(self.forms.search(text)
                    or (self.compounds is not None and self.compounds.search(text)))

    def only_compound_in(self, text: str) -> bool:
        return (self.compounds is not None and bool(self.compounds.search(text))
                and not self.forms.search(text))


@dataclass(frozen=True)
class Probe:
    kind: str
    query: str
    thing: str


def _pattern(where: str, source: str) -> re.Pattern:
    if plain(source) != source:
        raise ValueError(f"{where}: write the pattern without accents (it is matched on "
                         f"text whose accents are stripped): {source!r}")
    try:
        return re.compile(source)
    except re.error as error:
        raise ValueError(f"{where}: {error}") from None


def _keys(where: str, keys: list[str] | None) -> tuple[str, ...] | None:
    if keys is None:
        return None
    if not keys or any(not key or plain(key).lower() != key for key in keys):
        raise ValueError(f"{where}: keys must be lowercase, without accents: {keys!r}")
    return tuple(keys)


def read_probes(path: Path) -> tuple[dict[str, Thing], list[Probe]]:
    """The things and the probes of a probes file; ValueError if one is malformed."""
    data = json.loads(path.read_text(encoding="utf-8"))
    things = {
        name: Thing(_pattern(name, spec["forms"]),
                    _pattern(name, spec["compounds"]) if spec.get("compounds") else None,
                    _keys(name, spec.get("keys")))
        for name, spec in data["things"].items()
    }
    probes = [Probe(**spec) for spec in data["probes"]]
    for probe in probes:
        if probe.kind not in KINDS:
            raise ValueError(f"probe {probe.query!r}: unknown kind {probe.kind!r}")
        if probe.thing not in things:
            raise ValueError(f"probe {probe.query!r}: unknown thing {probe.thing!r}")
        if probe.kind == "prefix" and things[probe.thing].compounds is None:
            raise ValueError(f"probe {probe.query!r}: a prefix probe's thing needs compounds")
    return things, probes


# --- the corpus ------------------------------------------------------------------------

def write_corpus(source: Path, seeds: Path, work: Path) -> Corpus:
    """The export's records and one record per seed file (`seed-NAME`, the whole file as its
    body), in one JSONL file in `work`, rewritten only when a source changed."""
    inputs = [source, *sorted(seeds.glob("*.txt"))]
    key = "\n".join(f"{p.resolve()} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in inputs)
    path = work / "vocabulary-corpus.jsonl"
    done = path.with_name(path.name + ".done")
    if not (path.is_file() and done.is_file() and done.read_text("utf-8") == key):
        # Written beside, then renamed: a run building an index from the file meanwhile
        # keeps reading the whole old one (a run truncating it in place cut one short).
        partial = path.with_name(path.name + ".partial")
        with open(source, encoding="utf-8") as lines, open(partial, "w", encoding="utf-8") as out:
            for line in lines:
                if line.strip():
                    out.write(line.rstrip("\n") + "\n")
            for seed in inputs[1:]:
                record = {"id": SEED_PREFIX + seed.stem, "title": "", "heading": "",
                          "article": seed.read_text(encoding="utf-8")}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        done.unlink(missing_ok=True)
        partial.replace(path)
        done.write_text(key, "utf-8")
    return Corpus("vocabulary", path, "id", "article")


def raw_texts(corpus: Corpus) -> dict[str, str]:
    """Every indexed article's title, heading and body, `plain`, by key."""
    texts = {}
    with open(corpus.path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            body = record.get("article") or ""
            if body.strip():
                parts = (record.get("title") or "", record.get("heading") or "", body)
                texts[str(record["id"])] = plain("\n".join(parts))
    return texts


# --- the systems, asked for every hit --------------------------------------------------

class OursWhole:
    """Our engine on title, lead and body, as `search index` and `search query` use it."""

    name = "ours"

    def fingerprint(self) -> str:
        return digest(OurEngine().fingerprint(), "search.index.rebuild")

    def build(self, corpus: Corpus, folder: Path) -> None:
        from search.index import rebuild

        rebuild([corpus.path], folder)

    @contextmanager
    def open(self, folder: Path, limit: int) -> Iterator[Finder]:
        from search.errors import SearchError
        from search.searcher import open_searcher

        with open_searcher(folder) as searcher, _without_snippets():
            def find(text: str) -> set[str]:
                try:
                    results = searcher.search(text, limit=limit, copies=True)
                except SearchError:
                    return set()
                return {doc_key(hit.id) for hit in results.hits}

            yield find


@contextmanager
def _without_snippets() -> Iterator[None]:
    """`Searcher.search` as it is, but its hits made without a snippet: highlighting
    thousands of hits per query would take most of the run. If `search.searcher` no
    longer makes its hits with `_hit(rank, hit, scored, body_of)`, hits keep their
    snippets."""
    from search import searcher
    from search.models import Hit, Snippet

    made = getattr(searcher, "_hit", None)
    if made is None:
        yield
        return

    def bare(rank: int, hit, scored: bool, *_) -> Hit:
        return Hit(rank=rank, id=hit["id"], path="", title="", date=None, dateline=None,
                   category=None, source=None, url=None, score=None, snippet=Snippet(""))

    searcher._hit = bare
    try:
        yield
    finally:
        searcher._hit = made


class PeerWhole:
    """A peer of `bench.peers` on title, lead and body, as the speed benchmark builds and
    queries it: words ANDed, `"..."` a phrase, `word*` a prefix."""

    def __init__(self, name: str, fingerprint: Callable[[], str]) -> None:
        self.name = name
        self._fingerprint = fingerprint

    def fingerprint(self) -> str:
        return digest(self._fingerprint(), "bench.peers " + self.name)

    def build(self, corpus: Corpus, folder: Path) -> None:
        BUILDERS[self.name](corpus.path, folder)

    @contextmanager
    def open(self, folder: Path, limit: int) -> Iterator[Finder]:
        with OPENERS[self.name](folder, limit=limit) as answer:
            yield lambda text: {doc_key(doc_id)
                                for doc_id, _ in answer(peer_kind(text), text) or []}


def peer_kind(text: str) -> str:
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return "phrase"
    if text.endswith("*"):
        return "prefix"
    return "words"


SYSTEMS = {
    "ours": OursWhole(),
    "tantivy": PeerWhole("tantivy", Tantivy().fingerprint),
    "fts5": PeerWhole("fts5", SqliteFts5().fingerprint),
}


# --- scoring ---------------------------------------------------------------------------

@dataclass
class Score:
    hits: int
    truth: int
    right: int  # hits whose article names the thing
    found: int  # articles of the truth among the hits

    @property
    def recall(self) -> float | None:
        return self.found / self.truth if self.truth else None

    @property
    def precision(self) -> float | None:
        return self.right / self.hits if self.hits else None


@dataclass
class Outcome:
    probe: Probe
    truth: int
    scores: dict[str, Score] = field(default_factory=dict)


def truth_sets(things: dict[str, Thing], probes: list[Probe],
               texts: dict[str, str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """For each thing used: the articles that name it, and those that name it through a
    compound only (for the things of prefix probes)."""
    lowered = {key: text.lower() for key, text in texts.items()}
    named: dict[str, set[str]] = {}
    compound_only: dict[str, set[str]] = {}
    for name in dict.fromkeys(p.thing for p in probes):
        thing = things[name]
        named[name] = {key for key, text in texts.items()
                       if thing.may_be_in(lowered[key]) and thing.named_in(text)}
        if any(p.thing == name and p.kind == "prefix" for p in probes):
            compound_only[name] = {key for key in named[name]
                                   if thing.only_compound_in(texts[key])}
    return named, compound_only


def score_all(probes: list[Probe], named: dict[str, set[str]],
              compound_only: dict[str, set[str]], finders: dict[str, Finder]) -> list[Outcome]:
    outcomes = []
    for probe in probes:
        right_set = named[probe.thing]
        truth = compound_only[probe.thing] if probe.kind == "prefix" else right_set
        outcome = Outcome(probe, len(truth))
        for name, find in finders.items():
            hits = find(probe.query)
            outcome.scores[name] = Score(len(hits), len(truth), len(hits & right_set),
                                         len(hits & truth))
        outcomes.append(outcome)
    return outcomes


def mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def summary(outcomes: list[Outcome], systems: list[str]) -> dict[str, dict[str, dict]]:
    """Per kind (and `all`): probes, and each system's mean recall and precision."""
    groups = {kind: [o for o in outcomes if o.probe.kind == kind] for kind in KINDS}
    groups["all"] = list(outcomes)
    table: dict[str, dict[str, dict]] = {}
    for kind, group in groups.items():
        scored = [o for o in group if o.truth]
        if not scored:
            continue
        table[kind] = {"probes": len(scored)}
        for name in systems:
            table[kind][name] = {
                "recall": mean([o.scores[name].recall for o in scored]),
                "precision": mean([o.scores[name].precision for o in scored]),
                "empty": sum(o.scores[name].hits == 0 for o in scored),
            }
    return table


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(outcomes: list[Outcome], systems: list[str]) -> str:
    table = summary(outcomes, systems)
    lines = ["| kind | probes | " + " | ".join(f"{s} R | {s} P" for s in systems) + " |",
             "|---|---:|" + "---:|---:|" * len(systems)]
    for kind, row in table.items():
        cells = [f"{_figure(row[s]['recall'])} | {_figure(row[s]['precision'])}" for s in systems]
        label = "**mean**" if kind == "all" else kind
        lines.append(f"| {label} | {row['probes']} | " + " | ".join(cells) + " |")
    empty = {s: table["all"][s]["empty"] for s in systems} if "all" in table else {}
    lines += ["", "Probes a system answered with nothing (precision left out): "
              + ", ".join(f"{s} {n}" for s, n in empty.items()) + "."]
    return "\n".join(lines)


def probe_lines(outcomes: list[Outcome], systems: list[str]) -> list[str]:
    lines = ["kind\tquery\tthing\ttruth\t" + "\t".join(f"{s} hits/R/P" for s in systems)]
    for o in outcomes:
        cells = [f"{sc.hits}/{_figure(sc.recall)}/{_figure(sc.precision)}"
                 for sc in (o.scores[s] for s in systems)]
        lines.append(f"{o.probe.kind}\t{o.probe.query}\t{o.probe.thing}\t{o.truth}\t"
                     + "\t".join(cells))
    return lines


def run(probes_file: Path, source: Path, seeds: Path, work: Path, systems: list[str],
        say: Callable[[str], None] = log, index: Path | None = None,
        ) -> tuple[list[Outcome], dict]:
    """Builds (or reuses) each system's index, scores every probe; the outcomes and the
    run's facts (documents, build and query seconds per system)."""
    things, probes = read_probes(probes_file)
    work.mkdir(parents=True, exist_ok=True)
    corpus = write_corpus(source, seeds, work)
    texts = raw_texts(corpus)
    start = time.perf_counter()
    named, compound_only = truth_sets(things, probes, texts)
    facts: dict = {"documents": len(texts), "probes": len(probes),
                   "truth_s": round(time.perf_counter() - start, 1), "systems": {}}
    say(f"{len(probes)} probes, {len(texts)} articles, truth in {facts['truth_s']} s")
    limit = len(texts) + 1
    outcomes: list[Outcome] | None = None
    for name in systems:
        system = SYSTEMS[name]
        if name == "ours" and index is not None:
            folder, build_s = index, None
        else:
            folder, build_s = cached_index(system, corpus, work)
        built = "cached" if build_s is None else f"built in {build_s:.0f} s"
        say(f"{name}: index {built} ({folder})")
        start = time.perf_counter()
        with system.open(folder, limit) as find:
            scored = score_all(probes, named, compound_only, {name: find})
        if outcomes is None:
            outcomes = scored
        else:
            for mine, other in zip(outcomes, scored, strict=True):
                mine.scores.update(other.scores)
        facts["systems"][name] = {"build_s": build_s and round(build_s, 1),
                                  "query_s": round(time.perf_counter() - start, 1)}
        say(f"{name}: queries in {facts['systems'][name]['query_s']} s")
    return outcomes or [], facts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", default=",".join(SYSTEM_NAMES))
    parser.add_argument("--probes", type=Path, default=PROBES)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--json", type=Path, help="write every probe's figures here")
    parser.add_argument("--index", type=Path,
                        help="query this index of ours (built over the corpus) as it is")
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in args.systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system {unknown[0]!r}; choose among {', '.join(SYSTEMS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    start = time.perf_counter()
    try:
        outcomes, facts = run(args.probes, args.source, args.seeds, args.work, args.systems,
                              index=args.index)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    facts.update(seconds=round(time.perf_counter() - start, 1), code=code_version(),
                 load_before=load_before, load_after=load_average())
    print("\n".join(probe_lines(outcomes, args.systems)))
    print()
    print(markdown(outcomes, args.systems))
    print()
    print(json.dumps(facts))
    if args.json:
        args.json.write_text(json.dumps({
            "facts": facts, "summary": summary(outcomes, args.systems),
            "probes": [{"kind": o.probe.kind, "query": o.probe.query, "thing": o.probe.thing,
                        "truth": o.truth,
                        "scores": {s: vars(sc) for s, sc in o.scores.items()}}
                       for o in outcomes]}, indent=1, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
