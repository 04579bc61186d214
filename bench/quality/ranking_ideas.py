"""Ranking ideas scored on the same candidates (issue 4): the ideas table of RESULTS.md.

    .venv/bin/python -m bench.quality.ranking_ideas [--titles 1000] [--headings 400] [--depth 100]
        [--work DIR] [--data DIR]

For the first `--titles` title and `--headings` heading queries of `known-item-dev.tsv`,
the `--depth` best BM25 candidates of our index of the OrangeSum bodies (the evaluation's
cached index in --work, built if missing), each with its body's length and the positions
of the query's words, read from the index. Every idea is then a score computed from
those, so that ideas compare on the same candidates without re-running the queries:

- BM25 alone, as the index scores it;
- the product's re-scoring (`search.ranking.positional_boost`), and the same features
  added to the score instead of multiplying it;
- capitalised query words (not the first) weighing more in a BM25 recomputed from the
  positions, with the product's re-scoring;
- pseudo-relevance feedback: the terms of the best candidates re-scoring all of them;
- BM25's k1, b and a power of IDF, with the opening and proximity features;
- re-scoring only the best 10, 20, 30 or 100.

Weights were tuned on titles 1-300; titles 301-1000 and the headings check them.

Then two ceilings, on all the titles and headings read:

- duplicates: the product's ranking if every candidate whose body opens with the same
  `TWIN_CHARS` characters as the target's (a republished dispatch) ranked below it;
- an oracle: the best multiplicative re-scoring of the candidates by a weighted sum of
  features of the query's positions (`FEATURES`), its weights fitted by coordinate ascent
  on the evaluated queries themselves (and on the first `--piaf` PIAF questions). No
  weighting of these features does better on these queries; on unseen ones, it would do
  worse.

Prints MRR@10 per idea and query set, then one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATA_DIR
from bench.quality.systems import OurEngine, cached_index
from bench.quality.tasks import orangesum_corpus, piaf_task, read_known_item
from search.analysis import WORD_PATTERN, french_analyzer, term
from search.query import parse_words
from search.ranking import positional_boost, shares
from search.searcher import _ranked_terms, open_searcher

ANALYZER = french_analyzer()


@dataclass(frozen=True)
class Candidate:
    doc_id: str
    score: float  # BM25, as the index scores it
    length: int  # the body's length in words, as the index stores it
    positions: dict[str, list[int]]


@dataclass(frozen=True)
class Ranked:
    target: str
    terms: list[str]  # the query's words in the body, in order
    idf: dict[str, float]
    names: frozenset[str]  # terms of capitalised query words, the first word excepted
    candidates: list[Candidate]


def capitalised_terms(text: str) -> frozenset[str]:
    found = set()
    for number, match in enumerate(re.finditer(WORD_PATTERN, text)):
        word = match.group()
        if number and re.split("['’]", word)[-1][:1].isupper() and (found_term := term(word)):
            found.add(found_term)
    return frozenset(found)


def candidates(index: Path, queries, depth: int) -> list[Ranked]:
    """BM25's best `depth` for each query, with what every idea needs (private parts of
    the product's searcher: this is the product's own first stage, before re-scoring)."""
    ranked = []
    with open_searcher(index) as searcher:
        whoosh = searcher._searcher
        reader = whoosh.reader()
        for query in queries:
            parsed = parse_words(query.text, searcher._ix.schema)
            terms = _ranked_terms(parsed) if parsed is not None else []
            top = searcher._run(parsed, depth, "relevance", None).top_n if terms else []
            positions = searcher._positions(terms, sorted(docnum for _, docnum in top))
            ranked.append(Ranked(
                next(iter(query.relevant)), terms,
                {t: whoosh.idf("body", t) for t in terms},
                capitalised_terms(query.text),
                [Candidate(whoosh.stored_fields(docnum)["id"], score,
                           reader.doc_field_length(docnum, "body", 1),
                           positions.get(docnum, {}))
                 for score, docnum in top]))
    return ranked


def bm25(c: Candidate, r: Ranked, avgfl: float, k1=1.2, b=0.75, power=1.0, names=1.0):
    total = 0.0
    for t in set(r.terms):
        tf = len(c.positions.get(t, ()))
        if tf:
            weight = r.terms.count(t) * r.idf[t] ** power * (names if t in r.names else 1.0)
            total += weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * c.length / avgfl))
    return total


def mrr(ranked: list[Ranked], score, depth: int = 100) -> float:
    total = 0.0
    for r in ranked:
        pool = r.candidates[:depth]
        order = sorted(pool, key=lambda c: -score(c, r))
        best = [c.doc_id for c in order[:10]] + [c.doc_id for c in r.candidates[depth:10]]
        if r.target in best[:10]:
            total += 1 / (best.index(r.target) + 1)
    return total / len(ranked) if ranked else 0.0


TWIN_CHARS = 300


def openings(bodies: dict[str, str]) -> dict[str, str]:
    return {doc_id: text[:TWIN_CHARS] for doc_id, text in bodies.items()}


class Feedback:
    """Pseudo-relevance feedback (RM3-style) as a re-scoring: the `terms` terms that weigh
    most in the `depth` best candidates of `kept` (each term's share of an article times
    its IDF, the articles weighted by score); a candidate scores (1 - `weight`) × its kept
    score over the best one's + `weight` × its BM25-like match of those terms."""

    def __init__(self, kept, bodies: dict[str, str], idf, depth: int, terms: int,
                 weight: float, vectors: dict[str, tuple[Counter, int]]) -> None:
        self.kept, self.bodies, self.idf = kept, bodies, idf
        self.depth, self.terms, self.weight, self.vectors = depth, terms, weight, vectors
        self.scores: dict[int, dict[str, float]] = {}

    def vector(self, doc_id: str) -> tuple[Counter, int]:
        """The article's term counts, and its length in terms (at least 1)."""
        if doc_id not in self.vectors:
            counts = Counter(token.text for token in ANALYZER(self.bodies[doc_id]))
            self.vectors[doc_id] = counts, sum(counts.values()) or 1
        return self.vectors[doc_id]

    def __call__(self, c: Candidate, r: Ranked) -> float:
        if id(r) not in self.scores:
            kept = {c.doc_id: self.kept(c, r) for c in r.candidates}
            best = sorted(kept, key=kept.get, reverse=True)[:self.depth]
            total = sum(kept[doc_id] for doc_id in best) or 1.0
            model: Counter = Counter()
            for doc_id in best:
                vector, length = self.vector(doc_id)
                for t, tf in vector.items():
                    model[t] += kept[doc_id] / total * tf / length * self.idf(t)
            chosen = dict(model.most_common(self.terms))
            mass = sum(chosen.values()) or 1.0
            top = max(kept.values(), default=0.0) or 1.0
            self.scores[id(r)] = {
                doc_id: (1 - self.weight) * score / top + self.weight * sum(
                    w / mass * match(*self.vector(doc_id), t) for t, w in chosen.items())
                for doc_id, score in kept.items()}
        return self.scores[id(r)][c.doc_id]


def match(vector: Counter, length: int, t: str,
          k1: float = 1.2, b: float = 0.75, avgfl: float = 300) -> float:
    tf = vector[t]
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgfl)) if tf else 0.0


def without_twins(ranked: list[Ranked], opening: dict[str, str]) -> list[Ranked]:
    """Each query's candidates without the other articles that open as its target does."""
    return [Ranked(r.target, r.terms, r.idf, r.names,
                   [c for c in r.candidates
                    if c.doc_id == r.target or opening.get(c.doc_id) != opening.get(r.target)])
            for r in ranked]


def early_share(r: Ranked, c: Candidate, words: int) -> float:
    total = sum(r.idf[t] for t in set(r.terms)) or 1.0
    return sum(r.idf[t] for t in set(r.terms)
               if t in c.positions and c.positions[t][0] < words) / total


FEATURES = ("log of the kept boost", "opening (60 words)", "proximity", "coverage",
            "first 20 words", "first 150 words", "log length")


def features(c: Candidate, r: Ranked) -> list[float]:
    """The `FEATURES` of a candidate; the first is the product's re-scoring, from which
    the oracle's search starts."""
    opening, proximity, coverage = shares(r.terms, r.idf, c.positions)
    return [math.log(positional_boost(r.terms, r.idf, c.positions)), opening, proximity,
            coverage, early_share(r, c, 20), early_share(r, c, 150), math.log(c.length + 1)]


STEPS = [x / 10 for x in range(-20, 21)]


def fitted_oracle(ranked: list[Ranked]) -> tuple[float, dict[str, float]]:
    """The best MRR@10 of log BM25 + Σ weight × feature, weights fitted on `ranked`."""
    rows = [(r.target, [(c.doc_id, math.log(max(c.score, 1e-9)), features(c, r))
                        for c in r.candidates]) for r in ranked]

    def mrr_of(weights: list[float]) -> float:
        total = 0.0
        for target, candidates in rows:
            scored = sorted(candidates, key=lambda c: -(c[1] + sum(
                w * f for w, f in zip(weights, c[2], strict=True))))
            top = [doc_id for doc_id, _, _ in scored[:10]]
            if target in top:
                total += 1 / (top.index(target) + 1)
        return total / len(rows) if rows else 0.0

    weights = [1.0] + [0.0] * (len(FEATURES) - 1)
    best = mrr_of(weights)
    for _ in range(3):
        improved = False
        for i in range(len(weights)):
            for step in STEPS:
                trial = weights[:i] + [step] + weights[i + 1:]
                if (value := mrr_of(trial)) > best:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return best, dict(zip(FEATURES, weights, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--headings", type=int, default=400)
    parser.add_argument("--piaf", type=int, default=1000, help="PIAF questions for the oracle")
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-bench"))
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    args = parser.parse_args()

    queries = read_known_item(args.data / "orangesum" / "known-item-dev.tsv")
    index, _ = cached_index(OurEngine(), orangesum_corpus(args.data), args.work)
    start = time.perf_counter()
    titles = candidates(index, [q for q in queries if q.kind == "title"][:args.titles], args.depth)
    headings = candidates(index, [q for q in queries if q.kind == "heading"][:args.headings],
                          args.depth)
    print(f"candidates read in {time.perf_counter() - start:.0f} s")
    with open_searcher(index) as searcher:
        avgfl = searcher._searcher.avg_field_length("body")

    sets = {"titles 1-300": titles[:300], "titles 301-": titles[300:], "headings": headings}
    kept = lambda c, r: c.score * positional_boost(r.terms, r.idf, c.positions)  # noqa: E731

    def added(c, r):
        opening, proximity, coverage = shares(r.terms, r.idf, c.positions)
        total = sum(r.idf[t] for t in set(r.terms))
        return c.score + total * (0.5 * opening + 0.5 * proximity + 4 * coverage)

    def recomputed(**options):
        def score(c, r):
            opening, proximity, _ = shares(r.terms, r.idf, c.positions)
            return bm25(c, r, avgfl, **options) * (1 + 0.4 * opening + 0.4 * proximity)
        return score

    ideas = {
        "BM25 alone": lambda c, r: c.score,
        "kept: x (1 + opening, proximity, coverage)": kept,
        "the same features added": added,
    }
    for names in (1.25, 1.5, 2.0):
        ideas[f"capitalised words x{names}, re-scored"] = (
            lambda n: lambda c, r: bm25(c, r, avgfl, names=n)
            * positional_boost(r.terms, r.idf, c.positions))(names)
    bodies = dict(orangesum_corpus(args.data).documents())
    vectors: dict[str, tuple[Counter, int]] = {}
    with open_searcher(index) as searcher:
        idf = functools.lru_cache(maxsize=None)(
            lambda t: searcher._searcher.idf("body", t))
        for depth, terms, weight in ((3, 10, 0.1), (10, 10, 0.1), (10, 30, 0.1), (10, 30, 0.2)):
            feedback = Feedback(kept, bodies, idf, depth, terms, weight, vectors)
            ideas[f"feedback: {terms} terms of the best {depth}, weight {weight}"] = feedback
            for ranked in sets.values():  # the scores while the searcher is open
                mrr(ranked, feedback)
    for k1 in (0.9, 1.2, 1.6):
        for b in (0.5, 0.75, 0.9):
            for power in (1.0, 1.5, 2.0):
                ideas[f"k1 {k1} b {b} idf^{power}, opening+proximity"] = recomputed(
                    k1=k1, b=b, power=power)

    results: dict[str, dict[str, float]] = {}
    width = max(map(len, ideas))
    print(f"{'MRR@10':{width}}  " + "  ".join(f"{name:>13}" for name in sets))
    for idea, score in ideas.items():
        results[idea] = {name: round(mrr(ranked, score), 4) for name, ranked in sets.items()}
        print(f"{idea:{width}}  " + "  ".join(f"{v:13.4f}" for v in results[idea].values()))
    for depth in (10, 20, 30, 100):
        idea = f"kept, re-scoring the best {depth}"
        results[idea] = {name: round(mrr(ranked, kept, depth), 4) for name, ranked in sets.items()}
        print(f"{idea:{width}}  " + "  ".join(f"{v:13.4f}" for v in results[idea].values()))
    piaf = piaf_task(args.data)
    piaf_index, _ = cached_index(OurEngine(), piaf.corpus, args.work)
    questions = candidates(piaf_index, piaf.queries[:args.piaf], args.depth)
    found = ceilings({"titles": titles, "headings": headings}, questions, openings(bodies), kept)
    print("\nceilings, MRR@10")
    for idea, values in found.items():
        print(f"{idea:{width}}  " + "  ".join(f"{name} {v}" for name, v in values.items()))
    print(json.dumps({"ranking_ideas": results, "ceilings": found}))


def ceilings(known_items: dict[str, list[Ranked]], questions: list[Ranked],
             opening: dict[str, str], kept) -> dict[str, dict]:
    """The kept ranking, without the targets' duplicates, and the fitted oracle."""
    found: dict[str, dict] = {
        "kept": {name: round(mrr(ranked, kept), 4)
                 for name, ranked in {**known_items, "piaf": questions}.items()},
        "queries whose candidates hold a duplicate of the target": {},
        "kept, duplicates below the target": {},
        "oracle: weights fitted on these queries": {},
        "oracle weights": {},
    }
    for name, ranked in known_items.items():
        alone = without_twins(ranked, opening)
        found["queries whose candidates hold a duplicate of the target"][name] = sum(
            len(r.candidates) != len(a.candidates)
            for r, a in zip(ranked, alone, strict=True))
        found["kept, duplicates below the target"][name] = round(mrr(alone, kept), 4)
    for name, ranked in {**known_items, "piaf": questions}.items():
        value, weights = fitted_oracle(ranked)
        found["oracle: weights fitted on these queries"][name] = round(value, 4)
        found["oracle weights"][name] = weights
    return found

if __name__ == "__main__":
    main()
