"""Large posting lists as numpy arrays: read once, united, intersected and scored at once.

Two frequent words (`était entre` on the 10x archive: 270,000 postings, 46,700 documents
having both) cost less in C than a posting at a time in Python: the union of a word's
fields, the documents having every word and their BM25F scores are array operations. A
score is computed from the same numbers in the same order as Whoosh's scorer computes it
(`matchers.TermScorer`), each operation rounded alike, so the scores are the same to the
last bit, and so are the sums added in the same order.

numpy (a dependency already, for the copies' signatures) takes about 70 ms of CPU to
import: the query side imports this module only for lists long enough to repay it
(`matchers.as_arrays`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from search.whoosh_fast import lists
from search.whoosh_fast.matchers import TermScorer
from search.whoosh_fast.postings import (
    LENGTH_OF_BYTE,
    Block,
    blocks,
    looked_up,
    position_gaps_of,
    postings_with_positions,
)

# Whoosh's field length of each length byte, and 1 at index 256: a document past the
# column's end, whose length reads as 1 (`postings.field_lengths`).
_LENGTH_OF_BYTE = np.array([*LENGTH_OF_BYTE, 1], dtype=np.int64)
_PAST_THE_COLUMN = 256
# A position within a document takes the low bits of a key (`in_phrase`); a field's
# positions stay far below 2**32.
_POSITION_BITS = 32


@dataclass
class Postings:
    """One term's postings in one field of a segment: document numbers (ascending) and
    their term frequencies."""

    ids: np.ndarray
    weights: np.ndarray


def read(reader, fieldname: str, text: bytes) -> Postings:
    """Every posting of a term, deleted documents left out: from the segment's file of
    long lists where it is there (`lists`), else from its blocks (`postings.blocks`)."""
    written = _written(reader, fieldname, text)
    return written if written is not None else of_blocks(blocks(reader, fieldname, text))


def _written(reader, fieldname: str, text: bytes) -> Postings | None:
    """A term's postings from its segment's file of long lists, deleted documents left
    out; None when the file does not hold them."""
    found = lists.of_reader(reader)
    written = found.postings(fieldname, text) if found is not None else None
    if written is None:
        return None
    ids, frequencies = written
    kept = _not_deleted(reader, ids)
    if kept is not None:
        ids, frequencies = ids[kept], frequencies[kept]
    return Postings(ids, frequencies)


def _not_deleted(reader, ids: np.ndarray) -> np.ndarray | None:
    """Which of a segment's `ids` are not deleted; None when it has no deleted document
    (the long lists keep the postings of those deleted after they were written)."""
    if not reader.has_deletions():
        return None
    return ~np.isin(ids, np.fromiter(reader.deleted_docs_set, dtype=np.int64))


def read_with_positions(reader, fieldname: str, text: bytes) -> tuple[Postings, Positions] | None:
    """A term's postings and its positions in each document, deleted documents left out:
    from the segment's file of long lists where it holds them, else from its blocks read
    whole (`postings.postings_with_positions`); None where neither can give them."""
    found = lists.of_reader(reader)
    written = found.with_positions(fieldname, text) if found is not None else None
    if written is None:
        read = postings_with_positions(reader, fieldname, text)
        if read is None:
            return None
        frequencies, values = read
        documents = list(frequencies)
        return (Postings(np.array(documents, dtype=np.int64),
                         np.fromiter(frequencies.values(), dtype=np.float64,
                                     count=len(documents))),
                Positions.of_gaps(documents, position_gaps_of(values, documents)))
    ids, frequencies, flat = written
    counts = frequencies.astype(np.int64)
    kept = _not_deleted(reader, ids)
    if kept is not None:
        ids, frequencies, counts, flat = (ids[kept], frequencies[kept], counts[kept],
                                          flat[np.repeat(kept, counts)])
    return Postings(ids, frequencies), Positions(ids, counts, flat)


def is_written(reader, fieldname: str, text: bytes) -> bool:
    """Whether the segment's file of long lists holds a term's postings."""
    found = lists.of_reader(reader)
    return found is not None and found.holds(fieldname, text)


def of_blocks(decoded: Iterable[Block]) -> Postings:
    """The postings of a term's decoded blocks, in their order."""
    ids: list[int] = []
    weights: list[float] = []
    for block in decoded:
        ids += block.ids
        weights += block.weights
    return Postings(np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64))


def read_among(reader, fieldname: str, text: bytes, documents: np.ndarray) -> Postings:
    """The postings of a term among `documents` (ascending): taken from its long list
    where the segment's file holds it (read whole, it costs less than looking up), else
    only the blocks that may hold them decoded (`postings.looked_up`)."""
    written = _written(reader, fieldname, text)
    if written is not None:
        kept = np.isin(written.ids, documents, assume_unique=True)
        return Postings(written.ids[kept], written.weights[kept])
    found = looked_up(reader, fieldname, text, documents.tolist())
    return Postings(np.fromiter(found.keys(), dtype=np.int64, count=len(found)),
                    np.fromiter(found.values(), dtype=np.float64, count=len(found)))


def united(lists: list[np.ndarray]) -> np.ndarray:
    """The documents of any of `lists` (each ascending), ascending, each once."""
    if len(lists) <= 1:
        return lists[0] if lists else np.array([], dtype=np.int64)
    documents = np.concatenate(lists)
    documents.sort()
    return documents[_firsts(documents)]


def intersection(documents: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The documents of both (each ascending, each once), ascending."""
    return np.intersect1d(documents, others, assume_unique=True)


def scores(scorer: TermScorer, documents: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """The term's score in each of `documents` from its frequency there: Whoosh's BM25
    (`whoosh.scoring.bm25`) computed operation by operation as it computes it, times the
    boost."""
    idf, avgfl, b, k1, boost = scorer.parameters
    lengths = _lengths(scorer, documents)
    return idf * ((frequencies * (k1 + 1)) / (frequencies + k1 * ((1 - b) + b * lengths / avgfl))
                  ) * boost


def _lengths(scorer: TermScorer, documents: np.ndarray) -> np.ndarray:
    """The field's length in each of `documents`, as `postings.field_lengths` reads it."""
    stored = scorer.length_bytes
    if stored is None:
        return np.fromiter((scorer.length(docnum) for docnum in documents.tolist()),
                           dtype=np.int64, count=len(documents))
    column = np.frombuffer(stored, dtype=np.uint8)
    inside = documents < len(column)
    length_bytes = np.full(len(documents), _PAST_THE_COLUMN, dtype=np.int64)
    length_bytes[inside] = column[documents[inside]]
    return _LENGTH_OF_BYTE[length_bytes]


def summed_scores(documents: np.ndarray, terms: list[tuple[TermScorer, Postings]]
                  ) -> np.ndarray:
    """The score of each of `documents` (ascending): the sum of the terms' scores, added
    in the order of `terms` from 0.0, as `AllWords` adds them (adding 0.0 where a document
    lacks a term changes no bit)."""
    total = np.zeros(len(documents))
    for scorer, postings in terms:
        total += aligned(documents, scorer, postings)
    return total


def aligned(documents: np.ndarray, scorer: TermScorer, postings: Postings) -> np.ndarray:
    """The term's score in each of `documents` (ascending), 0.0 where it is not."""
    found = np.zeros(len(documents))
    ids = postings.ids
    if len(ids):
        at = np.searchsorted(ids, documents)
        at[at == len(ids)] = 0
        having = ids[at] == documents
        found[having] = scores(scorer, documents[having], postings.weights[at[having]])
    return found


def aligned_lists(scored: list[tuple[Sequence[int], Sequence[float]]]
                  ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The documents of any of the `scored` lists (each its documents, ascending, and
    their scores), ascending, and each list's scores in them, 0.0 where it lacks one."""
    as_arrays = [(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float64))
                 for ids, scores in scored]
    documents = united([ids for ids, _ in as_arrays])
    each = []
    for ids, scores in as_arrays:
        found = np.zeros(len(documents))
        found[np.searchsorted(documents, ids)] = scores
        each.append(found)
    return documents, each


def summed(scored: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The documents of any of the `scored` lists (each its documents, ascending, and
    their scores), ascending, each with the sum of its scores added in the lists' order:
    the sums of `queries.summed_into` (a stable sort keeps a document's scores in that
    order, and `np.add.at` adds them one after the other)."""
    if len(scored) <= 1:
        return scored[0] if scored else (np.array([], dtype=np.int64), np.array([]))
    ids = np.concatenate([documents for documents, _ in scored])
    each = np.concatenate([scores for _, scores in scored])
    order = np.argsort(ids, kind="stable")  # runs already ascending: a merge
    ids, each = ids[order], each[order]
    first = _firsts(ids)
    total = np.zeros(int(first.sum()))
    np.add.at(total, np.cumsum(first) - 1, each)
    return ids[first], total


def as_array(scores: np.ndarray | float, count: int) -> np.ndarray:
    """Scores as an array of `count`: a sum over no list at all is a float."""
    return np.full(count, scores) if isinstance(scores, float) else scores


def best_of(documents: np.ndarray, scores: np.ndarray, limit: int
            ) -> tuple[list[int], list[float]]:
    """Those of `documents` that can be among the best `limit` by score, the lowest
    number first among equal scores: every one above the `limit`-th best score, then the
    lowest numbers of those at it (copies of one dispatch tie by thousands)."""
    if len(documents) <= limit:
        return documents.tolist(), scores.tolist()
    least = np.partition(scores, len(scores) - limit)[len(scores) - limit]
    above = scores > least
    tied = np.flatnonzero(scores == least)[:limit - int(above.sum())]
    kept = np.flatnonzero(above)
    kept = np.concatenate([kept, tied])
    return documents[kept].tolist(), scores[kept].tolist()


def as_dict(scored: tuple[np.ndarray, np.ndarray]) -> dict[int, float]:
    """docnum → score."""
    documents, scores = scored
    return dict(zip(documents.tolist(), scores.tolist(), strict=True))


def from_dict(scores: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """(documents ascending, their scores) of docnum → score."""
    documents = sorted(scores)
    return (np.array(documents, dtype=np.int64),
            np.array([scores[docnum] for docnum in documents], dtype=np.float64))


def scored(scorer: TermScorer, postings: Postings) -> tuple[np.ndarray, np.ndarray]:
    """A term's documents and its score in each."""
    return postings.ids, scores(scorer, postings.ids, postings.weights)


@dataclass
class Positions:
    """A word's positions in each of `documents` (ascending): how many in each, and all of
    them one document after the other, each document's ascending (integers of any
    width: those of the long lists are read as they are stored)."""

    documents: np.ndarray
    counts: np.ndarray
    flat: np.ndarray

    @classmethod
    def of_lists(cls, documents: list[int], positions: Mapping[int, list[int]]) -> Positions:
        """From docnum → positions."""
        lists = [positions[docnum] for docnum in documents]
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        return cls(np.asarray(documents, dtype=np.int64), counts,
                   np.fromiter(chain.from_iterable(lists), dtype=np.int64,
                               count=int(counts.sum())))

    @classmethod
    def of_gaps(cls, documents: list[int], gaps: list[list[int]]) -> Positions:
        """From each document's gaps between its positions (the first, its first position,
        as `postings.position_gaps_of` gives them), added up at once."""
        counts = np.fromiter(map(len, gaps), dtype=np.int64, count=len(gaps))
        # sums[i]: every gap before the i-th; each document's first gap is its first
        # position, so the sum of the documents before it is taken off its positions
        sums = np.zeros(int(counts.sum()) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(chain.from_iterable(gaps), dtype=np.int64, count=len(sums) - 1),
                  out=sums[1:])
        starts = np.cumsum(counts) - counts
        return cls(np.asarray(documents, dtype=np.int64), counts,
                   sums[1:] - np.repeat(sums[starts], counts))

    def among(self, documents: np.ndarray) -> Positions:
        """The positions in `documents` (ascending), some of this one's: only theirs are
        gathered (a common word has millions)."""
        if len(documents) == len(self.documents) and np.array_equal(documents, self.documents):
            return self
        kept = np.flatnonzero(np.isin(self.documents, documents, assume_unique=True))
        counts = self.counts[kept]
        starts = (np.cumsum(self.counts) - self.counts)[kept]
        # each kept document's positions: its start, plus 0, 1, ... its count less one
        gathered = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(
            int(counts.sum()))
        return Positions(documents, counts, self.flat[gathered])


def in_phrase(documents: list[int], words: list[tuple[int, Positions]]) -> list[int]:
    """The documents of `documents` (ascending) where the words stand as in the phrase:
    each word (its place in the phrase, and its `Positions` in `documents` or more) at
    some position p plus its place. Every document's positions are numbered at once, as
    (document, position less the word's place), and intersected word after word:
    Whoosh's ordered spans one position apart (`queries._in_order` with a slop of 1),
    without a loop over the documents in Python."""
    if not len(documents):
        return []
    documents = np.asarray(documents, dtype=np.int64)
    found = None
    shift = max(place for place, _ in words)  # keeps every key's position part positive
    for place, positions in words:
        positions = positions.among(documents)
        # ascending: documents ascending, each one's positions ascending
        keys = (np.repeat(np.arange(len(documents), dtype=np.int64), positions.counts)
                << _POSITION_BITS) + positions.flat + (shift - place)
        found = keys if found is None else np.intersect1d(found, keys, assume_unique=True)
    return documents[np.unique(found >> _POSITION_BITS)].tolist()


def scores_in(scorer: TermScorer, documents: list[int], frequencies: Mapping[int, float]
              ) -> np.ndarray:
    """The term's score in each of `documents` (all of which have it)."""
    return scores(scorer, np.asarray(documents, dtype=np.int64),
                  np.fromiter((frequencies[docnum] for docnum in documents), dtype=np.float64,
                              count=len(documents)))


def _firsts(ascending: np.ndarray) -> np.ndarray:
    """Where each value of `ascending` first appears (True), its repeats after it False."""
    first = np.ones(len(ascending), dtype=bool)
    np.not_equal(ascending[1:], ascending[:-1], out=first[1:])
    return first
