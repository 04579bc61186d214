"""Copies of one dispatch: articles whose bodies are near-duplicates, and their groups.

A republished dispatch, or the same wire copy under two sections, has (nearly) the same
body as its original, whatever its title, dateline or section. Two articles are copies
when the Jaccard similarity of the sets of three-word shingles of their bodies is at
least COPY_THRESHOLD, as estimated by MinHash signatures (datasketch's). At 0.8, a
dispatch with a paragraph added or rewritten, a figure updated or a sentence cut is a copy;
a later version that rewrites a third of the text, or another daily report that shares its
stock sentences, is not (bench/copies.py measures the grouping against pairs read one by one).

Words are the body's words, lower-cased and without punctuation (`words`): the analyzer's
terms would cost as much as indexing the body again (about 1 ms an article, against 0.2),
and stemming and dropped stop words only make different texts look alike. The title,
dateline and lead are other fields; a body of fewer than MIN_WORDS words has no
signature, as stock lines ("Vidéo.", a caption) would make copies of unrelated articles.

Copies are found without any structure over the whole index, so that adding or removing
an article changes the groups by itself (locality-sensitive hashing, as in datasketch's
`MinHashLSH`, whose tables would have to be kept in step with every update): each
signature is cut into BANDS bands of ROWS values, each band gives one term (`band_terms`),
which the index keeps in its `copy_bands` field beside the stored signature. The articles
that share a band term with an article are its candidates, each verified against the
threshold: two articles at 0.8 share a band with probability 0.94, at 0.9 with 0.995.
Each band term is one more term in the index, and terms of one article each are what
Whoosh writes slowest: four bands of three values (two terms fewer than six of four,
for 0.94 against 0.96 at 0.8, and more candidates to verify below the threshold).
Halving the signature to 64 values would save about 0.04 ms an article, and its coarser
estimate made two pairs at 0.76 and 0.79 copies and lost one at 0.81 on the judged
sample (bench/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator, Sequence
from functools import cache
from operator import eq

COPY_THRESHOLD = 0.8
SIGNATURE_SIZE = 128  # MinHash permutations: the estimate's standard error at 0.8 is 0.035
BANDS = 4  # of ROWS values each, from the signature's first BANDS * ROWS
ROWS = 3
MIN_WORDS = 20
SEED = 1  # datasketch's default: the permutations every signature is made with

# Punctuation, typographic spaces and quotes become spaces before words are cut on spaces:
# a table on UTF-8 bytes for ASCII punctuation, replacements for the few others (`words`).
_ASCII_PUNCTUATION = bytes.maketrans(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
                                     b" " * 32)
_OTHER_PUNCTUATION = ("\u2019", "\u2018", "\u00ab", "\u00bb", "\u201c", "\u201d", "\u2013",
                      "\u2014", "\u2026", "\u00a0", "\u202f", "\u2009")
_VALUES = struct.Struct(f"<{SIGNATURE_SIZE}I")  # a stored signature: its values, little-endian
_VALUE_BYTES = 4
_VALUE_FORMAT = next(code for code in "HILQ" if struct.calcsize(code) == _VALUE_BYTES)


def words(body: str) -> list[bytes]:
    """The body's words as copies are compared: lower-cased, punctuation dropped, as
    UTF-8. String methods and a byte table, not a regular expression: a third of the time."""
    text = body.lower()
    for mark in _OTHER_PUNCTUATION:
        if mark in text:
            text = text.replace(mark, " ")
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_PUNCTUATION).split()


@cache
def _sketching():
    """numpy, and datasketch's MinHash made once and cleared for each body (making one costs
    as much as filling it). Imported here, for indexing only (`_minhash_class`)."""
    import numpy as np

    MinHash = _minhash_class()

    # Odd 64-bit multipliers that mix three word hashes into one shingle hash.
    mix = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
    return np, mix, MinHash(num_perm=SIGNATURE_SIZE, seed=SEED, hashfunc=np.asarray)


def _minhash_class() -> type:
    """datasketch's MinHash, without the rest of datasketch: its package imports its LSH
    classes, which import scipy.integrate, 0.75 s of CPU in every indexing process (of
    about 0.9 s for all of datasketch) for a function MinHash never calls. Its `minhash`
    module is imported under a bare stand-in for the package (the same directory, no
    `__init__`), which is then dropped: a later `import datasketch` runs the package
    whole and finds that module already imported."""
    import importlib.util
    import sys
    import types

    if "datasketch" not in sys.modules:
        spec = importlib.util.find_spec("datasketch")
        bare = types.ModuleType("datasketch")
        bare.__path__ = list(spec.submodule_search_locations)
        sys.modules["datasketch"] = bare
        try:
            importlib.import_module("datasketch.minhash")
        finally:
            del sys.modules["datasketch"]
    return sys.modules["datasketch.minhash"].MinHash


def signature(body: str) -> bytes | None:
    """The MinHash signature (datasketch's) of the body's word 3-grams, as the index stores
    it; None for a body too short to tell a copy (MIN_WORDS).

    Each word is hashed once (CRC-32: the same in every process and on every machine) and
    three consecutive hashes are mixed into a shingle's. The shingles' hashes go to
    datasketch as one batch of one array that its hash function (`np.asarray`) passes on
    whole: with one Python int a shingle, its loop calling the hash function on each took
    as long as all its numpy work."""
    found = _shingle_hashes(body)
    if found is None:
        return None
    sketch = _sketching()[2]
    sketch.clear()
    sketch.update_batch((found,))
    return sketch.hashvalues.astype("<u4").tobytes()


def shingles(body: str) -> list[int] | None:
    """The 32-bit hashes of the body's word 3-grams (None below MIN_WORDS words): the set
    whose Jaccard similarity the signatures estimate."""
    found = _shingle_hashes(body)
    return None if found is None else found.tolist()


def _shingle_hashes(body: str):
    found = words(body)
    if len(found) < MIN_WORDS:
        return None
    np, (a, b), _ = _sketching()
    hashes = np.fromiter(map(zlib.crc32, found), dtype=np.uint64, count=len(found))
    return ((hashes[:-2] * a + hashes[1:-1] * b + hashes[2:]) >> np.uint64(32)).astype(np.uint32)


def _values(signature: bytes) -> Sequence[int]:
    """A stored signature's values, read in place as unsigned ints of `_VALUE_BYTES`: they
    are only compared with each other, so the byte order they are read in changes nothing
    (a third less time than unpacking them, for a grouping's thousands of comparisons)."""
    return memoryview(signature).cast(_VALUE_FORMAT)


def band_terms(signature: bytes) -> list[str]:
    """The terms under which the index files the signature: band number and a digest of
    the band's values. Two signatures share a term when one of their bands is equal."""
    size = ROWS * _VALUE_BYTES
    return [f"{band}.{_digest(signature[start:start + size])}"
            for band, start in enumerate(range(0, BANDS * size, size))]


def _digest(band: bytes) -> str:
    return hashlib.blake2b(band, digest_size=8).hexdigest()


def similarity(first: bytes, second: bytes) -> float:
    """The estimated Jaccard similarity of the shingles of two signatures' bodies: the
    share of equal values, as datasketch's `MinHash.jaccard` computes it (here on the
    stored values, so that a query needs neither datasketch nor numpy)."""
    same = sum(map(eq, _values(first), _values(second)))
    return same / SIGNATURE_SIZE


def usable(signature: bytes | None) -> bool:
    """A stored signature of this version's size (an index is rebuilt when it changes)."""
    return signature is not None and len(signature) == _VALUES.size


def shown_similarity(mine: bytes | None, theirs: bytes | None) -> float:
    """The similarity of an article of a group to the one asked for, as `search show
    --copies` shows it: to three decimals (1.0 for a signature it cannot compare)."""
    if not (usable(mine) and usable(theirs)):
        return 1.0
    return round(similarity(mine, theirs), 3)


def are_copies(first: bytes | None, second: bytes | None) -> bool:
    return usable(first) and usable(second) and similarity(first, second) >= COPY_THRESHOLD


def copy_pairs(signatures: Sequence[bytes | None]) -> Iterator[tuple[int, int]]:
    """The pairs of positions (i < j) of `signatures` that are copies: those sharing a band
    term, verified, as the index finds them."""
    filed: dict[str, list[int]] = {}
    for at, found in enumerate(signatures):
        if not usable(found):
            continue
        verified = set()
        for term in band_terms(found):
            for other in filed.setdefault(term, []):
                if other not in verified:
                    verified.add(other)
                    if are_copies(signatures[other], found):
                        yield other, at
            filed[term].append(at)


def group(signatures: Sequence[bytes | None]) -> list[list[int]]:
    """The positions of `signatures` grouped as copies, each group in the order given and
    the groups in the order of their first member. Copies of copies join one group (the
    groups are the connected parts of the copy relation: those of `copy_pairs`).

    A signature is checked against each other group filed under one of its band terms,
    member by member until one is its copy, never against its own group: 2,000 copies of
    one boilerplate took 16 s when every pair was checked, as `copy_pairs` lists them."""
    parent = list(range(len(signatures)))

    def root(at: int) -> int:
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    filed: dict[str, dict[int, list[int]]] = {}  # band term → a group's root → its members
    for at, found in enumerate(signatures):
        if not usable(found):
            continue
        for term in band_terms(found):
            bucket = filed.setdefault(term, {})
            for key in [key for key in bucket if root(key) != key]:
                # groups that joined another since they were filed: filed under its root
                bucket.setdefault(root(key), []).extend(bucket.pop(key))
            for key, members in bucket.items():
                mine, theirs = root(at), root(key)
                if mine != theirs and any(are_copies(signatures[member], found)
                                          for member in members):
                    parent[max(mine, theirs)] = min(mine, theirs)
            bucket.setdefault(root(at), []).append(at)
    groups: dict[int, list[int]] = {}
    for at in range(len(signatures)):
        groups.setdefault(root(at), []).append(at)
    return list(groups.values())


def earliest_first(fields: dict) -> tuple[bool, str, str]:
    """Sort key of the articles of a group, by their fields (a stored `date` and `id`): the
    earliest first, undated last, then by id.

    The earliest shows a group: the original dispatch, the one a citation names, and a
    choice that a copy indexed later (a republication) does not change. The longest, as
    Westlaw keeps, would change whenever an updated version came in."""
    date = fields.get("date")
    return (date is None, date or "", fields["id"])
