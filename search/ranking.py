"""Second-stage ranking: BM25's best candidates re-scored by where the query's words stand.

A news article restates its headline in its opening lines, with the headline's words side
by side; BM25 counts the words but sees neither where they are nor what is next to them.
So the first `RERANK_DEPTH` candidates get their score multiplied by

    1 + OPENING_WEIGHT × opening + PROXIMITY_WEIGHT × proximity + COVERAGE_WEIGHT × coverage

where each share lies in [0, 1] and weighs every query term by its IDF, so that a rare name
counts for more than a common word, and long queries are not favoured over short ones:

- opening:   the share of the query found in the article's first `OPENING_POSITIONS` words;
- proximity: for each pair of query words next to each other in the query, found in that
             order within `PROXIMITY_WINDOW` words in the article, the pair's rarer word's
             IDF divided by the distance, as a share of the query;
- coverage:  the share of the query the article contains at all (BM25 alone lets one
             repeated word outweigh two others).

Weights tuned on the first 300 known-item titles of OrangeSum; on all of them
(bench/evaluate.py, bench/RESULTS.md) MRR@10 goes from 0.644 to 0.664 for titles, 0.648 to
0.653 for headings, 0.745 to 0.748 for PIAF. Boosting capitalised names, or changing BM25's
k1, b or the weight of IDF, measured worse.
Positions are word positions without stop words, as the index stores them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

RERANK_DEPTH = 30  # candidates re-scored; measured: deeper changes nothing
OPENING_POSITIONS = 60
PROXIMITY_WINDOW = 3
OPENING_WEIGHT = 0.4
PROXIMITY_WEIGHT = 0.4
COVERAGE_WEIGHT = 0.5

Key = TypeVar("Key", bound=Hashable)


def reranked(candidates: Sequence[tuple[float, Key]], query_terms: Sequence[str],
             idf: Mapping[str, float],
             positions: Mapping[Key, Mapping[str, Sequence[int]]]) -> list[tuple[float, Key]]:
    """`candidates` (BM25 score, key), best first, with the first `RERANK_DEPTH` re-scored
    by `positional_boost` (`positions` by key) and sorted again, ties in their order; the
    others follow unchanged: a boost is never below 1, so they stay below."""
    top = [(score * positional_boost(query_terms, idf, positions.get(key, {})), key)
           for score, key in candidates[:RERANK_DEPTH]]
    top.sort(key=lambda pair: -pair[0])
    return top + list(candidates[RERANK_DEPTH:])


def idf(articles: int, having: int) -> float:
    """Whoosh's inverse document frequency (`WeightingModel.idf`) of a term in `having` of
    `articles` articles, for a backend that counts them itself."""
    return math.log(articles / (having + 1)) + 1


def positional_boost(
    query_terms: Sequence[str], idf: Mapping[str, float], positions: Mapping[str, Sequence[int]]
) -> float:
    """The factor (≥ 1) by which an article's BM25 score is multiplied.

    `query_terms` are the query's terms in the query's order; `idf` gives each one's IDF;
    `positions` gives, for each query term the article contains, its sorted positions.
    """
    opening, proximity, coverage = shares(query_terms, idf, positions)
    return (1.0 + OPENING_WEIGHT * opening + PROXIMITY_WEIGHT * proximity
            + COVERAGE_WEIGHT * coverage)


def shares(
    query_terms: Sequence[str], idf: Mapping[str, float], positions: Mapping[str, Sequence[int]]
) -> tuple[float, float, float]:
    """The opening, proximity and coverage shares of the query, each in [0, 1]."""
    distinct = list(dict.fromkeys(query_terms))
    total = sum(idf[t] for t in distinct)
    if total <= 0:
        return 0.0, 0.0, 0.0
    found = [t for t in distinct if t in positions]
    opening = sum(idf[t] for t in found if positions[t][0] < OPENING_POSITIONS)
    coverage = sum(idf[t] for t in found)
    proximity = 0.0
    for first, second in itertools.pairwise(query_terms):
        if first == second or first not in positions or second not in positions:
            continue
        distance = _closest_following(positions[first], positions[second])
        if distance is not None:
            proximity += min(idf[first], idf[second]) / distance
    # A query that repeats words in a new order has more pairs than words.
    return opening / total, min(proximity / total, 1.0), coverage / total


def _closest_following(firsts: Sequence[int], seconds: Sequence[int]) -> int | None:
    """The smallest distance d in 1..PROXIMITY_WINDOW with a second word d after a first one."""
    following = set(seconds)
    best = None
    for position in firsts:
        for distance in range(1, (best or PROXIMITY_WINDOW + 1)):
            if position + distance in following:
                best = distance
                break
    return best
