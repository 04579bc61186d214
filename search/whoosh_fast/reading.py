"""Segments read from an mmap in place: no copy at opening, no system call per read.

Whoosh opens a compound segment through an mmap and then wraps each of its sub-files in
`BufferFile(BytesIO(view))`, which copies it: opening an index copied all of it into
memory (375 MB for a `search query` process on the 36k OrangeSum index). Opened without an
mmap, each read of a posting block or a term becomes a seek and a read on the file:
frequent and fuzzy words then cost 20 % to 120 % more. Here each file is mapped once, and
a compound segment's sub-files are `SubFile` views of the map (Whoosh's own class, given
the map instead of a file), from which each read copies only what it reads.

Reads Whoosh's private internals: `CompoundStorage` takes a file's `subset` when the
storage does not declare `supports_mmap`; `SubFile` seeks its parent before each read;
a segment reader's term table (`_terms._tindex`, an `OrderedHashReader`) and the fields
of its binary search.
"""

from __future__ import annotations

import mmap
import os

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

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return _MappedFile(mapped, name)


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
