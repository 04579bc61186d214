"""Postings read from Whoosh 3 segments a block at a time, without their positions, and
field lengths read from their column at once.

Reads Whoosh's private internals: the block matcher's offsets, header and compression
(`W3LeafMatcher`), the pickled layout of a block, the length column of a segment."""

from __future__ import annotations

import io
import pickle
import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.formats import Positions
from whoosh.matching import FilterMatcher
from whoosh.system import _INT_SIZE, unpack_int
from whoosh.util.numeric import byte_to_length

LENGTH_OF_BYTE = [byte_to_length(byte) for byte in range(256)]  # Whoosh's lengths, a byte each


def length_column(reader, fieldname: str) -> bytes | None:
    """The length byte of `fieldname` in each document of a Whoosh 3 segment, read at
    once; None for any other reader."""
    try:
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        return column._dbfile.get(column._basepos, column._count)
    except AttributeError:
        return None


def field_lengths(reader, fieldname: str, stored: bytes | None) -> Callable[[int], int]:
    """docnum → the length of `fieldname` in that document, as `reader.doc_field_length`
    gives it, from the segment's length column read at once (`stored`, `length_column`'s
    answer): a fifth of the time of a truncation was that call's five levels of Python
    per posting. Whoosh 3's column; any other reader asks document by document."""
    if stored is None:
        return lambda docnum: reader.doc_field_length(docnum, fieldname, 1)
    table = LENGTH_OF_BYTE
    return lambda docnum: table[stored[docnum]] if docnum < len(stored) else 1


@dataclass
class Block:
    """One block of a term's postings: its documents (ascending), their term frequencies,
    and the block's largest frequency and shortest field length (None when unknown)."""

    ids: Sequence[int]
    weights: Sequence[float]
    max_weight: float | None = None
    min_length: int | None = None
    last: int | None = None  # its last document, deleted or not, where known


def _beneath_deletions(reader, fieldname: str, text: bytes) -> tuple[object, frozenset]:
    """A term's matcher in a segment and the segment's deleted documents: beneath the
    filter that Whoosh wraps it in when some are deleted (which takes the postings one at
    a time again), the deleted ones then left out by the caller."""
    postings = reader.postings(fieldname, text)
    if isinstance(postings, FilterMatcher) and hasattr(reader, "deleted_docs_set"):
        return postings.child, reader.deleted_docs_set
    return postings, frozenset()


def blocks(reader, fieldname: str, text: bytes) -> Iterator[Block]:
    """The postings of a term a block at a time where they are Whoosh 3's (a posting at a
    time costs three method calls), else as one block without statistics.

    A segment with deleted documents wraps its postings in a filter that would take them
    one at a time again: its blocks are read beneath it, without the deleted documents
    (the block's statistics, which counted them, still bound the others)."""
    postings, deleted = _beneath_deletions(reader, fieldname, text)
    if not hasattr(postings, "_read_weights"):
        ids, weights = [], []
        while postings.is_active():
            if postings.id() not in deleted:
                ids.append(postings.id())
                weights.append(postings.weight())
            postings.next()
        yield Block(ids, weights)
        return
    if not postings.is_active():
        return
    for head in _heads(postings):
        ids, weights = _decoded(postings, head)
        if deleted:
            kept = [at for at, docnum in enumerate(ids) if docnum not in deleted]
            ids, weights = [ids[at] for at in kept], [weights[at] for at in kept]
        yield Block(ids, weights, head.max_weight, head.min_length, last=head.last)


@dataclass
class _Head:
    """Where a block lies in the postings file and what its header says."""

    position: int  # of the block's length, where `_goto` goes
    data: int  # where its data starts
    end: int  # where the next block starts
    count: int
    last: int
    max_weight: float
    compression: int
    min_length: int
    # The pickle protocol of its header, and so of its data (`writer.BLOCK_PROTOCOL`);
    # 2, Whoosh's, where unknown.
    protocol: int = 2


def _heads(postings) -> Iterator[_Head]:
    """The header of every block of a Whoosh 3 matcher's term, read from the file's bytes:
    `_goto` reads each through `pickle.load` on the file, a call to the file per opcode
    (a third of the time of ranking `plus`)."""
    postfile, position = postings._postfile, postings._baseoffset
    while True:
        data = postfile.get(position, _HEAD_BYTES)
        length = unpack_int(data[:_INT_SIZE])[0]
        stream = io.BytesIO(data[_INT_SIZE:])
        try:
            count, last, max_weight, compression, shortest, _ = pickle.Unpickler(stream).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
            postings._goto(position)  # a header longer than usual: Whoosh reads it
            count, last, max_weight, compression = (
                postings._blocklength, postings._maxid, postings._maxweight,
                postings._compression)
            data_start, shortest = postings._dataoffset, None
            minimum, protocol = postings._minlength, 2
        else:
            data_start = position + _INT_SIZE + stream.tell()
            minimum, protocol = byte_to_length(shortest), data[_INT_SIZE + 1]
        end = position + _INT_SIZE + abs(length)
        yield _Head(position, data_start, end, count, last, max_weight, compression, minimum,
                    protocol)
        if length < 0:  # the last block
            return
        position = end


# Bytes enough for a block's length and header: (count, last id, largest weight,
# compression, shortest and longest length bytes) pickled, at most about 40 bytes.
_HEAD_BYTES = 64


class TermBlocks:
    """One term's postings in a segment, every block's header read first (its last
    document, largest frequency and shortest field: `heads`), each block decoded only
    when asked for, once (ids and frequencies without positions, deleted documents left
    out): a word's best documents are found without decoding the blocks that cannot hold
    them. Postings that are not Whoosh 3's are read whole, as one block without bounds."""

    def __init__(self, reader, fieldname: str, text: bytes) -> None:
        postings, self._deleted = _beneath_deletions(reader, fieldname, text)
        self._postings = postings
        self._decoded: dict[int, Block] = {}
        self._frequencies: dict[int, float] = {}  # of the documents of decoded blocks
        if not hasattr(postings, "_read_weights"):
            block = next(blocks(reader, fieldname, text))
            block.last = block.ids[-1] if block.ids else -1
            self._where: list[_Head | None] = [None]
            self.heads = [block]
            self._keep(0, block)
        else:
            self._where = list(_heads(postings))
            self.heads = [Block((), (), head.max_weight, head.min_length, last=head.last)
                          for head in self._where]
        self._lasts = [head.last for head in self.heads]

    def _keep(self, at: int, block: Block) -> None:
        self._decoded[at] = block
        self._frequencies.update(zip(block.ids, block.weights, strict=True))

    def block(self, at: int) -> Block:
        """The block `at`, decoded."""
        found = self._decoded.get(at)
        if found is None:
            head = self._where[at]
            ids, weights = _decoded(self._postings, head)
            if self._deleted:
                kept = [at for at, docnum in enumerate(ids) if docnum not in self._deleted]
                ids, weights = [ids[at] for at in kept], [weights[at] for at in kept]
            found = Block(ids, weights, head.max_weight, head.min_length, last=head.last)
            self._keep(at, found)
        return found

    def decoded(self) -> list[Block]:
        """The blocks decoded so far."""
        return list(self._decoded.values())

    def every_block(self) -> Iterator[Block]:
        """Every block, in order, each decoded (once)."""
        return map(self.block, range(len(self.heads)))

    def is_decoded(self, at: int) -> bool:
        return at in self._decoded

    def all_decoded(self) -> bool:
        return len(self._decoded) == len(self.heads)

    def span(self, at: int) -> tuple[int, int]:
        """The first and last document numbers that the block `at` may hold."""
        return (self._lasts[at - 1] + 1 if at else 0), self._lasts[at]

    def blocks_over(self, first: int, last: int) -> range:
        """The blocks that may hold a document numbered from `first` to `last`."""
        return range(bisect_left(self._lasts, first),
                     min(bisect_left(self._lasts, last) + 1, len(self._lasts)))

    def block_at(self, docnum: int) -> int | None:
        """The block that would hold `docnum`; None past the last."""
        at = bisect_left(self._lasts, docnum)
        return at if at < len(self.heads) else None

    def decoded_over(self, first: int, last: int) -> Mapping[int, float] | None:
        """The term's frequencies of the documents numbered `first` to `last` (a document
        not there does not have the term), if every block that may hold one is decoded;
        else None."""
        if all(at in self._decoded for at in self.blocks_over(first, last)):
            return self._frequencies
        return None

    def decoded_frequency(self, docnum: int) -> float | None:
        """The term's frequency in `docnum`, whose block is decoded: None if it is not
        there (`frequency` without looking for its block again)."""
        return self._frequencies.get(docnum)

    def frequency(self, docnum: int) -> float | None:
        """The term's frequency in `docnum`, None if it is not there."""
        found = self._frequencies.get(docnum)
        if found is not None:
            return found
        at = self.block_at(docnum)
        if at is None or at in self._decoded:
            return None
        self.block(at)
        return self._frequencies.get(docnum)


# The start of a Whoosh 3 postings block's data, `dumps((ids, weights, values), 2)` (3
# where `writer.CompactPostingsWriter` wrote it): the gaps between its document numbers
# (ints), then its term frequencies (None when all are 1, else floats, or one float when
# all are alike: never followed by another), each maybe memoized.
_IDS_AND_WEIGHTS = re.compile(rb"""\x80[\x02\x03]
    (?: \( (?:K.|M..|J....)* t | \) | (?:K.|M..|J....){1,3} [\x85-\x87] ) (?:q.|r....)?
    (?: N | \( (?:G.{8})* t | (?:G.{8}){1,3} [\x85-\x87] | G.{8} (?!G) ) (?:q.|r....)?
    """, re.S | re.X)
# Bytes enough for that start: the pickle's header, then at most 5 bytes a gap and 9 a
# frequency.
_HEADER_BYTES = 16
_POSTING_BYTES = 14


def ids_and_weights(postings) -> tuple[Sequence[int], Sequence[float]]:
    """The document numbers and term frequencies of the block `postings` is in, decoded
    without its positions.

    Whoosh decodes a block whole, positions included: 128 byte strings that protocol 2
    pickles as calls, four fifths of the time of reading a frequent word (`plus`: 21.5 ms
    for its 89 body blocks on OrangeSum's first segment, 4.7 ms here). Only the start of
    the block is uncompressed and read; a block that does not read back as Whoosh wrote
    it (its last number is not the one its header gives) is left to Whoosh."""
    found = _ids_and_weights(
        postings._postfile, postings._dataoffset, postings._nextoffset,
        postings._blocklength, postings._compression, postings._maxid, postings._byteids)
    if found is not None:
        return found
    postings._read_ids()
    postings._read_weights()
    return postings._ids, postings._weights


def _decoded(postings, head: _Head) -> tuple[Sequence[int], Sequence[float]]:
    """The ids and frequencies of the block `head` of `postings`: a block pickled with
    protocol 3 is unpickled whole (its positions as bytes cost little), one pickled with
    protocol 2 only from its start (`ids_and_weights`)."""
    if head.protocol >= 3 and not postings._byteids:
        ids, weights, _ = _block_data(postings, head)
        if _as_its_header_says(ids, weights, head.count, head.last):
            return ids, weights
    found = _ids_and_weights(postings._postfile, head.data, head.end, head.count,
                             head.compression, head.last, postings._byteids)
    if found is not None:
        return found
    postings._goto(head.position)
    return ids_and_weights(postings)


def _ids_and_weights(postfile, start: int, end: int, count: int, compression: int,
                     last: int, byteids) -> tuple[list[int], list[float]] | None:
    """A block's ids and frequencies decoded from the start of its data; None when it
    does not read back as Whoosh writes it."""
    data = postfile.get(start, end - start)
    if compression:
        data = zlib.decompressobj().decompress(data, _HEADER_BYTES + _POSTING_BYTES * count)
    found = _IDS_AND_WEIGHTS.match(data)
    if not found or byteids:
        return None
    gaps, weights = pickle.loads(found.group() + b"\x86.")  # TUPLE2, STOP
    ids = list(accumulate(gaps))
    if isinstance(weights, float):
        weights = [weights] * count
    elif weights is None:
        weights = [1.0] * count
    if _as_its_header_says(ids, weights, count, last):
        return ids, weights
    return None


def _as_its_header_says(ids: Sequence[int], weights: Sequence[float], count: int,
                        last: int) -> bool:
    """Whether a block's decoded ids and frequencies are as many as its header counts,
    the last id the one it gives (else the block is left to Whoosh's reading)."""
    return len(ids) == len(weights) == count and bool(ids) and ids[-1] == last


def documents_with_any(reader, fieldname: str, texts: Iterable[bytes]) -> set[int]:
    """The index-wide numbers of the documents, deleted ones left out, that hold any of
    `texts` in `fieldname`: Whoosh's `docs_for_query` of an OR of terms, without the
    matchers it builds for each segment (a few terms looked up for each hit shown)."""
    texts = list(texts)
    found: set[int] = set()
    leaves = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
    for leaf, offset in leaves:
        for text in texts:
            if (fieldname, text) in leaf:
                for block in blocks(leaf, fieldname, text):
                    found.update(offset + docnum for docnum in block.ids)
    return found


def postings_at(postings, documents: Iterable[int]) -> Iterator[int]:
    """Each of `documents` (ascending) that `postings` has, with `postings` moved to it
    (skipping whole blocks on the way, then bisecting the block's ids)."""
    skip_to = (postings.skip_to if type(postings) is not W3LeafMatcher
               else lambda docnum: _skip_in_block(postings, docnum))
    for docnum in documents:
        # Inactive from the start when every posting is of a deleted document.
        if postings.is_active() and postings.id() < docnum:
            skip_to(docnum)
        if not postings.is_active():
            return
        if postings.id() == docnum:
            yield docnum


def positions_at(reader, fieldname: str, text: bytes, documents: Iterable[int]
                 ) -> tuple[dict[int, float], dict[int, list[int]]]:
    """The term's frequency and positions in each of `documents` (ascending, none of them
    deleted) that has it.

    Moved to each document (`postings_at`), Whoosh's matcher then decodes its positions
    through three method calls (`value_as`), and decodes a block's ids one at a time:
    half the time of a phrase of frequent words (`"trois mois"`: 49,000 postings at 360k).
    Here each block that may hold one of `documents` is read whole once, from where its
    header says (`_block_data`), its ids decoded at once and bisected, and the positions
    of those documents decoded together (`_decoded_positions_of`), or by the field's
    format where it is not Whoosh's `Positions`."""
    postings = reader.postings(fieldname, text)
    if isinstance(postings, FilterMatcher):
        postings = postings.child  # `documents` has no deleted document
    frequencies: dict[int, float] = {}
    positions: dict[int, list[int]] = {}
    if type(postings) is not W3LeafMatcher or postings._byteids:
        for docnum in postings_at(postings, documents):
            frequencies[docnum] = postings.weight()
            positions[docnum] = postings.value_as("positions")
        return frequencies, positions
    decode = (None if type(postings.format).decode_positions is Positions.decode_positions
              else postings.format.decoder("positions"))
    heads, wanted = _HeadsAhead.of(postings), list(documents)
    at = 0
    while at < len(wanted):
        head = heads.holding(wanted[at])
        if head is None:
            break
        inside = bisect_right(wanted, head.last, at)
        ids, weights, values = _block_data(postings, head)
        found = []  # (document, its posting's place in the block)
        for docnum in wanted[at:inside]:
            place = bisect_left(ids, docnum)
            if place < len(ids) and ids[place] == docnum:
                found.append((docnum, place))
        decoded = (_decoded_positions_of([values[place] for _, place in found])
                   if decode is None else [decode(values[place]) for _, place in found])
        for (docnum, place), where in zip(found, decoded, strict=True):
            frequencies[docnum] = weights[place]
            positions[docnum] = where
        at = inside
    return frequencies, positions


def postings_with_positions(reader, fieldname: str, text: bytes
                            ) -> tuple[dict[int, float], Mapping[int, bytes]] | None:
    """Every posting of a term in a segment, deleted documents left out: its frequency in
    each document, and its positions there still encoded (`positions_of` decodes them),
    each block read once and whole. None where that would cost more than reading the
    frequencies alone (`blocks_with_positions`)."""
    read = blocks_with_positions(reader, fieldname, text)
    if read is None:
        return None
    frequencies: dict[int, float] = {}
    values: dict[int, bytes] = {}
    for ids, weights, encoded in read:
        frequencies.update(zip(ids, weights, strict=True))
        values.update(zip(ids, encoded, strict=True))
    return frequencies, values


def blocks_with_positions(reader, fieldname: str, text: bytes
                          ) -> Iterator[tuple[list[int], Sequence[float], Sequence[bytes]]] | None:
    """A term's postings a block at a time, deleted documents left out: each block's
    documents, frequencies and positions still encoded (`gaps_of` decodes them). None
    where that would cost more than reading the frequencies alone (blocks pickled with
    Whoosh's protocol 2, positions not in Whoosh's `Positions` format, postings that are
    not Whoosh 3's)."""
    postings, deleted = _beneath_deletions(reader, fieldname, text)
    if (type(postings) is not W3LeafMatcher or postings._byteids
            or type(postings.format).decode_positions is not Positions.decode_positions):
        return None
    heads = list(_heads(postings))
    if any(head.protocol < 3 for head in heads):
        return None
    return _blocks_with_positions(postings, heads, deleted)


def _blocks_with_positions(postings: W3LeafMatcher, heads: list[_Head], deleted: frozenset
                           ) -> Iterator[tuple[list[int], Sequence[float], Sequence[bytes]]]:
    for head in heads:
        ids, weights, values = _block_data(postings, head)
        if deleted:
            kept = [at for at, docnum in enumerate(ids) if docnum not in deleted]
            ids, weights, values = ([ids[at] for at in kept], [weights[at] for at in kept],
                                    [values[at] for at in kept])
        yield ids, weights, values


def positions_of(values: Mapping[int, bytes], documents: list[int]) -> dict[int, list[int]]:
    """The positions of each of `documents`, from their encoded values
    (`postings_with_positions`), decoded together."""
    return dict(zip(documents, _decoded_positions_of([values[docnum] for docnum in documents]),
                    strict=True))


def _block_data(postings: W3LeafMatcher, head: _Head
                ) -> tuple[list[int], Sequence[float], Sequence[bytes]]:
    """The ids, frequencies and values of the block `head`, read as Whoosh's `_read_data`
    reads them but from where `_heads` found its data, without `_goto` reading its header
    again through `pickle.load` on the file."""
    data = postings._postfile.get(head.data, head.end - head.data)
    if head.compression:
        data = zlib.decompress(data)
    gaps, weights, values = pickle.loads(data)
    if weights is None or isinstance(weights, float):
        weights = [1.0 if weights is None else weights] * len(gaps)
    return list(accumulate(gaps)), weights, values


def positions_across(reader, fieldname: str, text: bytes, documents: Iterable[int]
                     ) -> dict[int, list[int]]:
    """The term's positions in each of `documents` (index-wide numbers, ascending, none of
    them deleted) that has it, in an index of one segment or several: `positions_at` in
    each segment. Whoosh's matcher over several segments skips to a document by reading
    the header of every block on the way through `pickle.load` on the file (re-ranking
    two frequent words at 360k: a tenth of the query's CPU)."""
    found: dict[int, list[int]] = {}
    documents = list(documents)
    leaves = [(reader, 0)] if reader.is_atomic() else list(reader.leaf_readers())
    for number, (leaf, offset) in enumerate(leaves):
        end = leaves[number + 1][1] if number + 1 < len(leaves) else float("inf")
        inside = [docnum - offset for docnum in documents if offset <= docnum < end]
        if inside and (fieldname, text) in leaf:
            _, positions = positions_at(leaf, fieldname, text, inside)
            found.update((offset + docnum, where) for docnum, where in positions.items())
    return found


def _gaps(value: bytes) -> list[int]:
    """The pickled gaps of one encoded value (its count first, the final STOP maybe left
    out): `Positions.decode_positions` without adding them up."""
    return pickle.loads(value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b".")


# A position list as `Positions.encode` writes it: its count, then the gaps pickled
# (protocol 2 header, a list, maybe without the final STOP).
_PICKLED_LIST = b"\x80\x02]"
_STOP = ord(".")


def _decoded_positions_of(values: list[bytes]) -> list[list[int]]:
    """The positions of each of `values` (`Positions.decode_positions`), unpickled in
    one call (`gaps_of`) and added up in C rather than in a Python loop."""
    return [list(accumulate(gaps)) for gaps in gaps_of(values)]


def position_gaps_of(values: Mapping[int, bytes], documents: list[int]) -> list[list[int]]:
    """The gaps between the positions of each of `documents` (its first, its first
    position), from their encoded values (`postings_with_positions`): `positions_of`
    without adding them up, for a caller that adds them up at once."""
    return gaps_of([values[docnum] for docnum in documents])


def gaps_of(values: Sequence[bytes]) -> list[list[int]]:
    """The gaps between the positions of each of `values` (its first, its first position),
    the pickled gaps of each unpickled in one call: the lists pickled one
    after another inside one list (a frequent phrase decodes tens of thousands)."""
    bodies = []
    for value in values:
        if not value.startswith(_PICKLED_LIST, _INT_SIZE):
            return [_gaps(value) for value in values]
        bodies.append(value[_INT_SIZE + 2:-1] if value[-1] == _STOP else value[_INT_SIZE + 2:])
    return pickle.loads(b"\x80\x02(" + b"".join(bodies) + b"l.")


def _skip_in_block(postings: W3LeafMatcher, docnum: int) -> None:
    """Whoosh 3's `skip_to`, which reads every block header on the way through `pickle.load`
    on the file (a call to the file per opcode) and then steps through the block's postings
    one at a time (three method calls each): here the headers are read from the file's
    bytes (`_heads`), the block is gone to directly, and its ids are bisected."""
    if docnum > postings.block_max_id():
        head = _HeadsAhead.of(postings).holding(docnum)
        if head is None:
            postings._atend = True  # past the last block, as Whoosh's skip leaves it
            return
        postings._goto(head.position)
    if postings._ids is None:
        postings._read_ids()
    postings._i = bisect_left(postings._ids, docnum, postings._i)


class _HeadsAhead:
    """The block headers of a matcher's term, read as far as a skip needs them, once."""

    def __init__(self, postings: W3LeafMatcher) -> None:
        self._unread = _heads(postings)
        self._read: list[_Head] = []
        self._lasts: list[int] = []

    @classmethod
    def of(cls, postings: W3LeafMatcher) -> _HeadsAhead:
        found = postings.__dict__.get("_heads_ahead")
        if found is None:
            found = postings.__dict__["_heads_ahead"] = cls(postings)
        return found

    def holding(self, docnum: int) -> _Head | None:
        """The first block whose last document is `docnum` or after; None if none is."""
        read, lasts = self._read, self._lasts
        if lasts and lasts[-1] >= docnum:
            return read[bisect_left(lasts, docnum)]
        for head in self._unread:
            read.append(head)
            lasts.append(head.last)
            if head.last >= docnum:
                return head
        return None


def looked_up(reader, fieldname: str, text: bytes, documents: list[int]) -> dict[int, float]:
    """The term frequency in each of `documents` (ascending) that has the term: only the
    blocks that may hold them decoded, without their positions (`TermBlocks`)."""
    terms = TermBlocks(reader, fieldname, text)
    found = {}
    for docnum in documents:
        frequency = terms.frequency(docnum)
        if frequency is not None:
            found[docnum] = frequency
    return found
