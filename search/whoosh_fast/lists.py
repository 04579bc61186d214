"""A segment's long posting lists as raw arrays in a file beside it (`LISTS_SUFFIX`), which
numpy reads in place: no zlib, no pickle, no Python step per block.

Reading a frequent word's Whoosh blocks is most of the slowest queries at 360k articles
(`était entre`: 52 of 80 ms of CPU; `autres~`: 60 of 108): every block is inflated,
unpickled and walked in Python, at about 13-15 µs a block of 128 postings. The lists that
`arrays` reads whole, those of `LIST_POSTINGS` postings or more in a segment, are written
again here when the segment's generation is written: a document number's low 16 bits and
its frequency, 3 bytes a posting (4 where a frequency passes 255), and, in the fields that
keep them, its positions (2 bytes each, 4 where one passes 65,535), which a phrase reads.

Layout: `MAGIC`, each list's arrays (the low bits of its documents as little-endian
uint16, then its frequencies as uint8 or uint16, padded to an even length; then its
positions as uint16 or uint32), the directory (JSON: field → term → [offset, count,
bytes per frequency, CRC-32 of the list's bytes, the count of its documents under each
multiple of 65,536], followed where it has positions by [their offset, bytes per
position, their CRC-32]), the directory's offset (8 bytes, little-endian) and `MAGIC`
again. Bytes that do not match their CRC-32 are a damaged index, never a wrong answer.

Reads Whoosh's private internals: the storage a segment reader reads its files from
(`_storage`, an overlay of a compound segment on its folder's storage)."""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np
from whoosh.reading import CorruptIndexError

from search.whoosh_fast.postings import blocks, blocks_with_positions, gaps_of

LISTS_SUFFIX = ".lists"
# The lists written: as long as those that `arrays` reads whole (`matchers.ARRAY_POSTINGS`).
LIST_POSTINGS = 5_000
MAGIC = b"SRCHLST1"
_OFFSET = struct.Struct("<Q")
_HIGH_BITS = 16
_LOW = np.dtype("<u2")
_FREQUENCIES = {1: np.dtype("<u1"), 2: np.dtype("<u2")}
_POSITIONS = {2: np.dtype("<u2"), 4: np.dtype("<u4")}
_BLOCKS_AT_ONCE = 256  # blocks whose positions are decoded together when writing
_WITHOUT_POSITIONS = 5  # the length of a directory's entry without positions
_ATTACHED = "_search_long_lists"  # the attribute of a segment reader holding its lists


def lists_file(folder: Path, segment_reader) -> Path:
    """Where a segment's lists are written, named as Whoosh names the segment's own files
    (so that Whoosh removes it with them)."""
    return folder / f"{segment_reader.segment().segment_id()}{LISTS_SUFFIX}"


def write(target: Path, segment_reader, positions_in: Collection[str],
          release_pages: Callable[[], None] = lambda: None) -> bool:
    """Write the long lists of a segment's scored fields to `target`, with their positions
    in the fields `positions_in` (those phrases read); nothing (and False) when it has
    none. `release_pages` is called after each list: the pages of a mapped segment that
    were read stay in the process's resident memory until it gives them back."""
    directory: dict[str, dict[str, list]] = {}
    with open(target, "wb") as out:
        out.write(MAGIC)
        for fieldname, text, ids, frequencies, positions in _long_lists(
                segment_reader, positions_in, release_pages):
            data, width, highs = encoded(ids, frequencies)
            entry = [out.tell(), len(ids), width, zlib.crc32(data), highs]
            out.write(data)
            if positions is not None:
                data, width = encoded_positions(positions)
                entry += [out.tell(), width, zlib.crc32(data)]
                out.write(data)
            directory.setdefault(fieldname, {})[_key(text)] = entry
        if not directory:
            out.close()
            target.unlink()
            return False
        at = out.tell()
        out.write(json.dumps(directory).encode("ascii"))
        out.write(_OFFSET.pack(at) + MAGIC)
    return True


def encoded(ids: np.ndarray, frequencies: np.ndarray) -> tuple[bytes, int, list[int]]:
    """A list's bytes (padded to an even length), its bytes per frequency and the count
    of its documents under each multiple of 65,536; `ids` ascending, `frequencies` whole
    numbers from 1 to 65,535."""
    width = 1 if len(frequencies) == 0 or int(frequencies.max()) < 256 else 2
    data = (ids & 0xFFFF).astype(_LOW).tobytes() + frequencies.astype(_FREQUENCIES[width]).tobytes()
    highs = np.bincount(ids >> _HIGH_BITS).tolist() if len(ids) else []
    return data + b"\0" * (len(data) % 2), width, highs


def decoded(data: bytes, count: int, width: int, highs: list[int]
            ) -> tuple[np.ndarray, np.ndarray]:
    """The documents (int64) and frequencies (float64) of `encoded`'s answer."""
    ids = np.frombuffer(data, dtype=_LOW, count=count).astype(np.int64)
    ids += np.repeat(np.arange(len(highs), dtype=np.int64) << _HIGH_BITS, highs)
    frequencies = np.frombuffer(data, dtype=_FREQUENCIES[width], count=count,
                                offset=count * _LOW.itemsize).astype(np.float64)
    return ids, frequencies


def encoded_positions(positions: np.ndarray) -> tuple[bytes, int]:
    """A list's positions (each document's, one document after the other) and the bytes
    each takes: 2, or 4 where one passes 65,535."""
    width = 2 if len(positions) == 0 or int(positions.max()) <= 0xFFFF else 4
    return positions.astype(_POSITIONS[width]).tobytes(), width


def _long_lists(segment_reader, positions_in: Collection[str], release_pages: Callable[[], None]
                ) -> Iterator[tuple[str, bytes, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(field, term, documents, frequencies, positions or None) of every list of
    `LIST_POSTINGS` or more of a segment's scored fields whose frequencies are whole
    numbers up to 65,535; the positions in the fields `positions_in` that have them, one
    per frequency."""
    from search.whoosh_fast import arrays  # which imports this module

    schema = segment_reader.schema
    for fieldname in segment_reader.indexed_field_names():
        if fieldname not in schema or not schema[fieldname].scorable:
            continue
        for text, info in segment_reader.iter_field(fieldname):
            if info.doc_frequency() < LIST_POSTINGS:
                continue
            read = (blocks_with_positions(segment_reader, fieldname, text)
                    if fieldname in positions_in else None)
            if read is None:
                postings = arrays.of_blocks(blocks(segment_reader, fieldname, text))
                positions = None
            else:
                postings, positions = _with_positions(read)
            frequencies = postings.weights
            if not (len(frequencies) and frequencies.min() >= 1 and frequencies.max() <= 0xFFFF
                    and np.array_equal(frequencies, np.floor(frequencies))):
                continue
            if positions is not None and (positions.counts != frequencies).any():
                positions = None  # a format whose frequency is not its count of positions
            yield (fieldname, text, postings.ids, frequencies,
                   None if positions is None else positions.flat)
            release_pages()


def _with_positions(read: Iterator[tuple[list[int], Sequence[float], Sequence[bytes]]]):
    """A term's `arrays.Postings` and `arrays.Positions`, from its blocks read with their
    positions, decoded `_BLOCKS_AT_ONCE` blocks at a time (the Python lists of a word in
    every article of a segment would take hundreds of MB)."""
    from search.whoosh_fast.arrays import Positions, Postings  # which import this module

    ids: list[int] = []
    weights: list[float] = []
    counts, flats = [], []
    for chunk in iter(lambda: list(islice(read, _BLOCKS_AT_ONCE)), []):
        documents = [docnum for block_ids, _, _ in chunk for docnum in block_ids]
        decoded = Positions.of_gaps(documents, gaps_of(
            [value for _, _, values in chunk for value in values]))
        ids += documents
        weights += (weight for _, block_weights, _ in chunk for weight in block_weights)
        counts.append(decoded.counts)
        flats.append(decoded.flat.astype(np.uint32))
    documents = np.array(ids, dtype=np.int64)
    if not counts:  # no block left: every document deleted
        counts, flats = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.uint32)]
    return (Postings(documents, np.array(weights, dtype=np.float64)),
            Positions(documents, np.concatenate(counts), np.concatenate(flats)))


def _key(text: bytes | str) -> str:
    """A term as the directory's key (callers may give it as Whoosh's text or bytes)."""
    return text if isinstance(text, str) else text.decode("utf-8", "surrogateescape")


class SegmentLists:
    """The long lists of one segment, read from its mapped file."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        # read where it lies: the arrays of a list are views of the map, which they keep
        self._view = memoryview(self._map)
        end = len(self._map) - len(MAGIC)
        if (self._map[:len(MAGIC)] != MAGIC or end < _OFFSET.size + len(MAGIC)
                or self._map[end:] != MAGIC):
            raise CorruptIndexError(f"{self.name} is not a file of long lists")
        (at,) = _OFFSET.unpack(self._map[end - _OFFSET.size:end])
        try:
            directory = json.loads(self._map[at:end - _OFFSET.size].decode("ascii"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            directory = None
        if not isinstance(directory, dict) or not all(
                isinstance(terms, dict) for terms in directory.values()):
            raise CorruptIndexError(f"{self.name} has a garbled directory")
        self._directory: dict[str, dict[str, list]] = directory
        self._end = at

    def holds(self, fieldname: str, text: bytes | str) -> bool:
        return _key(text) in self._directory.get(fieldname, {})

    def postings(self, fieldname: str, text: bytes | str) -> tuple[np.ndarray, np.ndarray] | None:
        """A term's documents (ascending, int64) and frequencies (float64), deleted ones
        included; None when the term's list is not here."""
        entry = self._directory.get(fieldname, {}).get(_key(text))
        return None if entry is None else self._list(entry)

    def with_positions(self, fieldname: str, text: bytes | str
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """`postings` and the positions of each document (unsigned, as stored), one
        document after the other (as many as its frequency); None when they are not
        here."""
        entry = self._directory.get(fieldname, {}).get(_key(text))
        if entry is None or (isinstance(entry, list) and len(entry) == _WITHOUT_POSITIONS):
            return None
        ids, frequencies = self._list(entry)
        try:
            offset, width, crc = entry[_WITHOUT_POSITIONS:]
            count = int(frequencies.sum())
            data = self._view[offset:offset + count * _POSITIONS[width].itemsize]
            fits = (type(offset) is int and offset >= len(MAGIC)
                    and offset + len(data) <= self._end
                    and len(data) == count * _POSITIONS[width].itemsize
                    and zlib.crc32(data) == crc)
        except (TypeError, ValueError, KeyError):
            fits = False
        if not fits:
            raise CorruptIndexError(f"{self.name} holds garbled positions")
        return ids, frequencies, np.frombuffer(data, dtype=_POSITIONS[width])

    def _list(self, entry) -> tuple[np.ndarray, np.ndarray]:
        try:
            offset, count, width, crc, highs = entry[:_WITHOUT_POSITIONS]
            size = count * (_LOW.itemsize + _FREQUENCIES[width].itemsize)
            data = self._view[offset:offset + size + size % 2]
            fits = (type(offset) is int and type(count) is int and offset >= len(MAGIC)
                    and offset + size <= self._end and zlib.crc32(data) == crc
                    and all(type(high) is int and high >= 0 for high in highs)
                    and sum(highs) == count)
        except (TypeError, ValueError, KeyError):
            fits = False
        if not fits:
            raise CorruptIndexError(f"{self.name} holds a garbled list")
        return decoded(data, count, width, highs)


def of_reader(segment_reader) -> SegmentLists | None:
    """The long lists of a segment reader's segment, opened once per reader; None when the
    segment has no such file (a generation written before them, or no long list)."""
    found = segment_reader.__dict__.get(_ATTACHED, False)
    if found is False:
        found = None
        folder = _folder(segment_reader)
        if folder is not None and hasattr(segment_reader, "segment"):
            path = lists_file(Path(folder), segment_reader)
            if os.path.exists(path):
                found = SegmentLists(path)
        segment_reader.__dict__[_ATTACHED] = found
    return found


def _folder(segment_reader) -> str | None:
    storage = getattr(segment_reader, "_storage", None)
    storage = getattr(storage, "b", storage)  # a compound segment: an overlay on the folder
    return getattr(storage, "folder", None)
