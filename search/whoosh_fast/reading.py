"""Segments read from an mmap in place: no copy at opening, no system call per read.

Whoosh opens a compound segment through an mmap and then wraps each of its sub-files in
`BufferFile(BytesIO(view))`, which copies it: opening an index copied all of it into
memory (375 MB for a `search query` process on the 36k OrangeSum index). Opened without an
mmap, each read of a posting block or a term becomes a seek and a read on the file:
frequent and fuzzy words then cost 20 % to 120 % more. Here each file is mapped once, and
a compound segment's sub-files are `SubFile` views of the map (Whoosh's own class, given
the map instead of a file), from which each read copies only what it reads.

Columns of byte strings (the stored fields, the body) are read a value at a time where
they lie: Whoosh's reader loads a column's lengths and offsets whole first (6.4 MB for
the stored fields of a million articles, for a query that shows ten).

Reads Whoosh's private internals: `CompoundStorage` takes a file's `subset` when the
storage does not declare `supports_mmap`; `SubFile` seeks its parent before each read;
a segment reader's term table (`_terms._tindex`, an `OrderedHashReader`) and the fields
of its binary search; a segment's per-document reader (`_perdoc`: its column files and
cached column readers) and the layout of `VarBytesColumn`.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import weakref
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from whoosh import columns
from whoosh.codec.whoosh3 import STORED_COLUMN, W3PerDocReader
from whoosh.filedb.compound import SubFile
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.filedb.structfile import StructFile


class _MappedFile(StructFile):
    """A whole file read through an mmap; `subset` gives a view of part of it."""

    def __init__(self, mapped: mmap.mmap, name: str) -> None:
        super().__init__(mapped, name=name)
        self._map = mapped

    def subset(self, offset: int, length: int, name: str | None = None) -> StructFile:
        return _MappedView(self._map, offset, length, name or self._name)


class _MappedView(StructFile):
    """Part of a mapped file (a compound segment's sub-file). Reads go through Whoosh's
    `SubFile`; `get`, which term tables call for every key they compare, slices the map
    directly (half of a fuzzy word's time went through `SubFile`'s seek and read)."""

    def __init__(self, mapped: mmap.mmap, offset: int, length: int, name: str) -> None:
        super().__init__(SubFile(mapped, offset, length), name=name)
        self._map, self._start, self._end = mapped, offset, offset + length

    def get(self, position: int, length: int) -> bytes:
        start = self._start + max(0, position)
        return self._map[start:min(start + length, self._end)]


class MappedStorage(FileStorage):
    """Whoosh's folder storage, read-only in use, whose files are read through an mmap."""

    supports_mmap = False  # so that CompoundStorage asks our files for their subsets

    def __init__(self, path: str) -> None:
        super().__init__(path, supports_mmap=False)
        # the maps still open (weakly: a map goes with the reader that opened it)
        self._maps: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._maps.add(mapped)
        return _MappedFile(mapped, name)

    def release_pages(self) -> None:
        """Gives back the pages of the mapped files read so far: they count in the
        process's resident memory (a whole segment, once a job has read all of it), and
        are read again from the page cache when asked for."""
        for mapped in list(self._maps):
            if not mapped.closed:
                mapped.madvise(mmap.MADV_DONTNEED)


# The levels of a term table's binary search whose keys are remembered: at most 2**18 keys
# a table (about 25 MB at worst; a query adds a few thousand), the levels most searches
# share; the deeper ones are read each time (16 levels: fuzzy words 10 % slower).
REMEMBERED_LEVELS = 18


class _RememberingTermTable(OrderedHashReader):
    """Whoosh's ordered term table, whose binary search remembers the keys it read. A fuzzy
    word walks its automaton through hundreds of terms near each other, each step a
    binary search that read the same first keys again (`closest_key_pos` is Whoosh's,
    with the keys of its first `REMEMBERED_LEVELS` levels read once)."""

    def closest_key_pos(self, key):
        if not isinstance(key, bytes):
            raise TypeError(f"Key {key!r} should be bytes")
        read = self.__dict__.setdefault("_keys_read", {})
        lo, hi, depth = 0, self.indexlen, 0
        while lo < hi:
            mid = (lo + hi) // 2
            midkey = read.get(mid)
            if midkey is None:
                midkey = self.key_at(self._get_pos(self.indexbase + mid * self.indexsize))
                if depth < REMEMBERED_LEVELS:
                    read[mid] = midkey
            depth += 1
            if midkey < key:
                lo = mid + 1
            else:
                hi = mid
        if lo == self.indexlen:
            return None
        return self._get_pos(self.indexbase + lo * self.indexsize)


def remember_term_keys(reader) -> None:
    """Makes the term tables of `reader`'s segments remember the keys their binary
    searches read, for as long as the reader is open (a few keys per term looked up)."""
    leaves = [reader] if reader.is_atomic() else [leaf for leaf, _ in reader.leaf_readers()]
    for leaf in leaves:
        table = getattr(getattr(leaf, "_terms", None), "_tindex", None)
        if type(table) is OrderedHashReader:
            table.__class__ = _RememberingTermTable


class InPlaceBytes:
    """A segment's column of byte strings written by Whoosh's `VarBytesColumn` (or
    `CompressedBytesColumn`, given `decompress`), each value found from its own length
    and offset in the file. Only columns that wrote their offsets (Whoosh does past
    32,768 documents) are read so; `in_place` gives Whoosh's reader for the others."""

    def __init__(self, dbfile, basepos: int, length: int, doccount: int,
                 decompress: Callable[[bytes], bytes] | None = None) -> None:
        layout = _layout(dbfile, basepos, length, doccount)
        self._lengths_format, self._lengths_size = _format(layout.lengths_code)
        self._offsets_format, self._offsets_size = _format(layout.offsets_code)
        self._lengths_at, self._offsets_at = layout.lengths_at, layout.offsets_at
        self._file, self._base, self._doccount = dbfile, basepos, doccount
        self._decompress = decompress

    def __len__(self) -> int:
        return self._doccount

    def __getitem__(self, docnum: int) -> bytes:
        if not 0 <= docnum < self._doccount:
            raise IndexError(docnum)
        get = self._file.get
        length, = struct.unpack(self._lengths_format, get(
            self._lengths_at + docnum * self._lengths_size, self._lengths_size))
        if not length:
            return b""
        offset, = struct.unpack(self._offsets_format, get(
            self._offsets_at + docnum * self._offsets_size, self._offsets_size))
        value = get(self._base + offset, length)
        return self._decompress(value) if self._decompress else value


def _has_offsets(dbfile, basepos: int, length: int) -> bool:
    return length > 0 and dbfile.get_byte(basepos + length - 1) == ord("X")


@dataclass(frozen=True)
class _Layout:
    """Where a `VarBytesColumn` keeps, after its values, the array of their lengths and,
    past 32,768 documents, the array of their offsets (None where not written)."""

    lengths_code: str
    lengths_at: int
    offsets_code: str | None
    offsets_at: int | None


def _layout(dbfile, basepos: int, length: int, doccount: int) -> _Layout:
    """The layout of a `VarBytesColumn` as its last bytes give it: the arrays' typecodes,
    then `X` where the offsets were written. Raises struct.error where those bytes name no
    array, or the arrays would begin before the column (its bytes are damaged)."""
    if length < 1:
        raise struct.error("an empty column")
    last = basepos + length - 1
    offsets_code = offsets_at = None
    if _has_offsets(dbfile, basepos, length):
        offsets_code = _typecode(dbfile.get_byte(last - 1))
        lengths_code = _typecode(dbfile.get_byte(last - 2))
        offsets_at = end = last - 2 - doccount * array(offsets_code).itemsize
    else:
        lengths_code, end = _typecode(dbfile.get_byte(last)), last
    lengths_at = end - doccount * array(lengths_code).itemsize
    if lengths_at < basepos:
        raise struct.error("the column's arrays begin before it")
    return _Layout(lengths_code, lengths_at, offsets_code, offsets_at)


def _typecode(byte: int) -> str:
    if chr(byte) not in "bBhHiIlLqQ":
        raise struct.error(f"no array's typecode: {byte}")
    return chr(byte)


def _format(typecode: str) -> tuple[str, int]:
    """The struct format of one big-endian item of a Whoosh array of `typecode` (written
    with the machine's item size), and that size."""
    size = array(typecode).itemsize
    letter = {1: "b", 2: "h", 4: "i", 8: "q"}[size]
    return ">" + (letter.upper() if typecode.isupper() else letter), size


def in_place(column: columns.Column, dbfile, basepos: int, length: int, doccount: int):
    """A reader of a `VarBytesColumn` or `CompressedBytesColumn` that reads each value in
    place where the column wrote its offsets, else Whoosh's own."""
    if type(column) in (columns.VarBytesColumn, columns.CompressedBytesColumn) and \
            _has_offsets(dbfile, basepos, length):
        compressed = type(column) is columns.CompressedBytesColumn
        return InPlaceBytes(dbfile, basepos, length, doccount,
                            zlib.decompress if compressed else None)
    return column.reader(dbfile, basepos, length, doccount)


class _InPlaceStored:
    """Whoosh's stored-fields column (a pickled dict, compressed), read in place."""

    def __init__(self, values: InPlaceBytes) -> None:
        self._values = values

    def __getitem__(self, docnum: int) -> dict | None:
        value = self._values[docnum]
        return pickle.loads(value) if value else None


def _column_file(perdoc: W3PerDocReader, fieldname: str) -> tuple | None:
    if not perdoc.has_column(fieldname):
        return None
    if fieldname not in perdoc._colfiles:
        perdoc._colfiles[fieldname] = perdoc._get_column_file(fieldname)
    return perdoc._colfiles[fieldname]


def _leaves(reader) -> list[tuple[object, int]]:
    return [(reader, 0)] if reader.is_atomic() else list(reader.leaf_readers())


def read_stored_fields_in_place(reader) -> None:
    """Makes the segments of `reader` read each article's stored fields where they lie,
    for as long as the reader is open."""
    for leaf, _ in _leaves(reader):
        perdoc = getattr(leaf, "_perdoc", None)
        if not isinstance(perdoc, W3PerDocReader) or "_stored" in perdoc._readers:
            continue
        found = _column_file(perdoc, "_stored")
        if found is not None and _has_offsets(*found):
            perdoc._readers["_stored"] = _InPlaceStored(
                InPlaceBytes(*found, perdoc.doc_count_all(), zlib.decompress))


def _by_segment(reader, read_in: Callable[[object], Callable[[int], object]]
                ) -> Callable[[int], object]:
    """docnum (of `reader`, one segment or several) → what `read_in(segment)` reads for
    the document's number in its segment."""
    leaves = _leaves(reader)
    starts = [offset for _, offset in leaves]
    readers = [read_in(leaf) for leaf, _ in leaves]

    def read(docnum: int) -> object:
        at = bisect_right(starts, docnum) - 1
        return readers[at](docnum - starts[at])
    return read


def stored_fields_of(reader) -> Callable[[int], dict]:
    """docnum (of `reader`, one segment or several) → its stored fields, as
    `reader.stored_fields` answers, from each segment's per-document reader: without the
    layers above it (the reader of several segments, then a copy of the fields filtered
    by the schema, which holds them all here), 3.5 of a read's 13 µs."""
    def read_in(leaf) -> Callable[[int], dict]:
        perdoc = getattr(leaf, "_perdoc", None)
        return perdoc.stored_fields if isinstance(perdoc, W3PerDocReader) else leaf.stored_fields
    return _by_segment(reader, read_in)


def column_values(reader, fieldname: str) -> Callable[[int], object]:
    """docnum (of `reader`, one segment or several) → the value that `fieldname`'s column
    of byte strings holds for it, None where none: as `reader.column_reader(fieldname)`
    answers, without loading each segment's lengths and offsets when they were written;
    None for all where the schema has no such field."""
    if fieldname not in reader.schema:
        return lambda docnum: None
    field = reader.schema[fieldname]

    def read_in(leaf) -> Callable[[int], bytes]:
        perdoc = getattr(leaf, "_perdoc", None)
        found = _column_file(perdoc, fieldname) if isinstance(perdoc, W3PerDocReader) else None
        if found is not None:
            return in_place(field.column_type, *found, perdoc.doc_count_all()).__getitem__
        if leaf.has_column(fieldname):
            return leaf.column_reader(fieldname, translate=False).__getitem__
        return lambda docnum: b""
    raw = _by_segment(reader, read_in)

    def value(docnum: int) -> object:
        found = raw(docnum)
        return field.from_column_value(found) if found else None
    return value


def without_stored_fields(reader) -> list[int]:
    """The segments of `reader` (their numbers) that hold documents but no stored fields:
    a part missing from a segment's directory (a garbled name), which Whoosh's codec
    would read as None at the first hit shown."""
    return [number for number, (leaf, _) in enumerate(_leaves(reader))
            if isinstance(perdoc := getattr(leaf, "_perdoc", None), W3PerDocReader)
            and perdoc.doc_count_all() and _column_file(perdoc, "_stored") is None]


def misfit_columns(reader) -> list[str]:
    """The columns of byte strings in `reader`'s segments whose lengths and offsets do not
    describe their bytes (Whoosh's writer can write a stale offsets array: see
    `search.whoosh_fast.writer.FilledColumnsWriter`), a line each. Reads them whole."""
    found = []
    for number, (leaf, _) in enumerate(_leaves(reader)):
        perdoc = getattr(leaf, "_perdoc", None)
        if not isinstance(perdoc, W3PerDocReader):
            continue
        kinds = [("_stored", STORED_COLUMN), *((name, field.column_type)
                                               for name, field in leaf.schema.items())]
        for name, column in kinds:
            column = getattr(column, "_child", column)
            if not isinstance(column, columns.VarBytesColumn | columns.CompressedBytesColumn):
                continue
            where = _column_file(perdoc, name)
            if where is not None and not _fits(*where, perdoc.doc_count_all()):
                found.append(f"segment {number}, column {name!r}: lengths and offsets do "
                             "not fit its bytes")
    return found


def _fits(dbfile, basepos: int, length: int, doccount: int) -> bool:
    """Whether a `VarBytesColumn`'s lengths (and offsets, where written) add up to the
    bytes before them, as its writer lays them out."""
    try:
        layout = _layout(dbfile, basepos, length, doccount)
    except struct.error:
        return False
    lengths = dbfile.get_array(layout.lengths_at, layout.lengths_code, doccount)
    starts = list(accumulate(lengths, initial=0))
    if starts[-1] != layout.lengths_at - basepos:
        return False
    return layout.offsets_code is None or list(dbfile.get_array(
        layout.offsets_at, layout.offsets_code, doccount)) == starts[:-1]
