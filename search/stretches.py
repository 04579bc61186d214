"""An export's lines in stretches of about a megabyte, each with the digest of its bytes,
so that re-reading a changed export skips what did not change.

A one-million-article export is 2.4 GB. When one record changed, every line used to be
read, hashed with blake2b and looked up (12 s); the manifest now also keeps the
export's stretches (`Stretch`), and `StretchReader` compares each stretch's bytes with one
xxh3 digest (several GB/s) before reading its lines one by one. A stretch that is as it was
gives its articles as they were (`Reused`), even where lines were added or removed before
it: its first line, hashed, says where it starts now.

Only what the digest covers is trusted: a stretch is reused only if its bytes and how the
export is read (the parser version and field map) are the same, and if its articles had
ids of their own and none of its records was skipped, or else its first line is where it
was (an article without an id, and a skipped record, are known by their line numbers).
What depends on other lines is asked of the writer (`accepts`): an id a line read before
now has, a skipped record whose indexed article is kept only while no other line has its
id (and whose id another file may take). A stretch where the writer found an id taken by
another record or file is never reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import xxhash

STRETCH_BYTES = 1 << 20  # a stretch ends with the first line that reaches this size
TRIES = 3  # a stretch whose first line keeps recurring is compared this often at most


@dataclass(frozen=True)
class Stretch:
    """A run of whole lines of an export as the manifest keeps it."""

    length: int  # bytes
    digest: str  # xxh3-128 of its bytes and of how the export was read
    head: int  # xxh3-64 of its first line: where it begins, if lines moved
    first_line: int  # the number of its first line
    lines: int
    articles: int = 0  # how many articles of the file's entry, in order, it gave
    # Every one of its records has an id of its own, and none was skipped (a skipped
    # record is told by its line number): the same bytes elsewhere are the same articles.
    movable: bool = True
    # Its skipped records, told again: (line, why, id or "", whether its article was kept).
    skipped: tuple[tuple[int, str, str, bool], ...] = ()
    # False where what it gave depends on other lines (an id taken by another record or
    # file): then it only says whether its bytes changed.
    reusable: bool = True

    @property
    def gave_records(self) -> bool:
        """Whether it holds records (else only blank lines)."""
        return bool(self.articles or self.skipped)

    def as_list(self) -> list:
        return [self.length, self.digest, self.head, self.first_line, self.lines,
                self.articles, self.movable, [list(skip) for skip in self.skipped],
                self.reusable]

    @classmethod
    def from_list(cls, values: list) -> Stretch:
        """Raises ValueError if `values` is not what `as_list` writes."""
        if (not isinstance(values, list) or len(values) != 9
                or not all(type(v) is int and v >= 0 for v in values[:1] + values[2:6])
                or not isinstance(values[1], str) or type(values[6]) is not bool
                or not isinstance(values[7], list)
                or not all(isinstance(skip, list) and len(skip) == 4
                           and list(map(type, skip)) == [int, str, str, bool]
                           for skip in values[7])
                or type(values[8]) is not bool):
            raise ValueError("not a stretch")
        return cls(*values[:7], tuple(tuple(skip) for skip in values[7]), values[8])


@dataclass(frozen=True)
class Reused:
    """An old stretch (its index in the manifest's list) found as it was, now from
    `first_line` on: its articles are the ones the manifest lists for it."""

    index: int
    first_line: int
    lines: int

    @property
    def next_line(self) -> int:
        return self.first_line + self.lines


@dataclass(frozen=True)
class Read:
    """A stretch whose lines were read one by one (the records before this mark)."""

    stretch: Stretch

    @property
    def next_line(self) -> int:
        return self.stretch.first_line + self.stretch.lines


class _Open:
    """The stretch being read line by line."""

    def __init__(self, first_line: int) -> None:
        self.first_line, self.lines, self.length, self.head = first_line, 0, 0, 0
        self.digest = xxhash.xxh3_128()

    def add(self, line: bytes, head: int | None) -> None:
        if not self.lines:
            self.head = xxhash.xxh3_64_intdigest(line) if head is None else head
        self.digest.update(line)
        self.lines += 1
        self.length += len(line)

    def closed(self, reading: bytes) -> Read:
        """The stretch read, its digest `span_digest` of its lines (made as they came)."""
        self.digest.update(reading)
        return Read(Stretch(self.length, self.digest.hexdigest(), self.head,
                            self.first_line, self.lines))


class StretchReader:
    """The lines of an export open at its first record (bytes, one at a time), with a
    `Read` mark closing each stretch of them, and a `Reused` mark in place of the lines of
    each old stretch found as it was and that `accepts(index)` (the writer, which knows
    whether its articles would be the same). `position` is the offset in the stream of
    what has been given so far."""

    def __init__(self, stream: BinaryIO, old: Sequence[Stretch], reading: bytes,
                 accepts: Callable[[int], bool] = lambda index: True) -> None:
        self.stream, self.old, self.reading, self._accepts = stream, old, reading, accepts
        self.position = stream.tell()
        self._heads: dict[int, list[int]] = {}
        for index, stretch in enumerate(old):
            if stretch.reusable:
                self._heads.setdefault(stretch.head, []).append(index)
        self._tries = [0] * len(old)

    def __iter__(self) -> Iterator[bytes | Read | Reused]:
        stream, line_number, expected = self.stream, 1, 0
        current = _Open(line_number)
        while True:
            # Right after a reused stretch (or at the start), the next one is tried whole;
            # then each line read is looked up among the old stretches' first lines.
            found = expected if self._same(expected, line_number) else None
            if found is None:
                expected = len(self.old)
                line = stream.readline()
                if not line:
                    break
                head = xxhash.xxh3_64_intdigest(line) if self._heads else None
                found = next((index for index in self._heads.get(head, ())
                              if self._same(index, line_number, line)), None)
            if found is not None:
                if current.lines:
                    yield current.closed(self.reading)
                yield self._reuse(found, line_number)
                line_number, expected = line_number + self.old[found].lines, found + 1
                current = _Open(line_number)
                continue
            current.add(line, head)
            self.position += len(line)
            yield line
            line_number += 1
            if current.length >= STRETCH_BYTES:
                yield current.closed(self.reading)
                current = _Open(line_number)
        if current.lines:
            yield current.closed(self.reading)

    def _same(self, index: int, line_number: int, first: bytes | None = None) -> bool:
        """Whether the old stretch `index` may be reused here, its bytes compared; the
        stream is left at the current position. `first`, when given, is the line just
        read from here (the stretch is compared from this line on)."""
        if index >= len(self.old):
            return False
        old = self.old[index]
        if (not old.reusable or self._tries[index] >= TRIES
                or not (old.movable or old.first_line == line_number)):
            return False
        self._tries[index] += 1
        self.stream.seek(self.position)
        data = self.stream.read(old.length)
        # A last line without its line break is the same only if it is still the last.
        ends = data.endswith(b"\n") or not self.stream.read(1)
        if (len(data) == old.length and ends
                and span_digest(data, self.reading) == old.digest):
            self._tries[index] = TRIES  # an old stretch's articles are reused once
            if self._accepts(index):
                self.stream.seek(self.position)
                return True
        self.stream.seek(self.position + (len(first) if first is not None else 0))
        return False

    def _reuse(self, index: int, line_number: int) -> Reused:
        old = self.old[index]
        self.position += old.length
        self.stream.seek(self.position)
        return Reused(index, line_number, old.lines)


def span_digest(data: bytes, reading: bytes) -> str:
    """A stretch's digest: xxh3-128 of its bytes and of how the export is read."""
    digest = xxhash.xxh3_128(data)
    digest.update(reading)
    return digest.hexdigest()


def fingerprint_of(stretches: Sequence[Stretch]) -> str:
    """The fingerprint of an export cut into `stretches`, made of their digests."""
    return _fingerprint(stretch.digest for stretch in stretches)


def survey_stretches(stream: BinaryIO, stretches: Sequence[Stretch], reading: bytes) -> str:
    """`fingerprint_of` the stretches the bytes of `stream` (open at its first record)
    make when cut as `stretches` are, read as `reading`: the indexed fingerprint if they
    are as they were, another if not."""
    found = _fingerprint(span_digest(stream.read(stretch.length), reading)
                         for stretch in stretches)
    return f"{found}+" if stream.read(1) else found


def _fingerprint(digests: Iterable[str]) -> str:
    combined = xxhash.xxh3_128()
    for digest in digests:
        combined.update(digest.encode())
    return f"stretches:{combined.hexdigest()}"
