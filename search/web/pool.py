"""Readers shared by the requests of a server: one request at a time on each.

A reader is not thread-safe (a Whoosh searcher reads its segments through a shared file
position), so each request borrows one for its length and gives it back; no lock is held
while it is used. A few readers stay open per data version (`Backend.version`), so that
what a reader reads once and keeps (the archive's vocabulary for "did you mean", 19 s of
CPU on the 36k index) is paid a few times per version, not once per request; a request
that finds them all lent waits for one (the server is bound by the CPU anyway). When
`search index` switches to a new generation, the next request opens readers on it, and
the old ones are closed as soon as they are idle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from search.backend import Backend, Reader

READERS = 4  # open per version, at most
RECHECK_SECONDS = 1.0  # a request waiting for a reader looks for a new version this often


class ReaderPool:
    """At most `size` readers of the backend's current version, lent one request at a time."""

    def __init__(self, backend: Backend, size: int = READERS) -> None:
        self.backend = backend
        self.size = size
        self._lock = threading.Condition()  # held only to take or put back a reader
        self._version: str | None = None
        self._idle: list[Reader] = []
        self._open = 0  # readers of the current version, idle or lent

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """A reader on the current data for the length of a `with` block."""
        reader, version = self.take()
        try:
            yield reader
        finally:
            self.give_back(reader, version)

    def take(self) -> tuple[Reader, str | None]:
        """A reader on the current data and its version, to `give_back` once done."""
        while True:
            version = self.backend.version()
            with self._lock:
                stale = self._switch(version)
                reader = self._idle.pop() if self._idle else None
                opening = reader is None and self._open < self.size
                if opening:
                    self._open += 1
                elif reader is None:
                    self._lock.wait(RECHECK_SECONDS)
            _close_all(stale)
            if reader is not None:
                return reader, version
            if opening:
                return self._opened(version), version

    def _opened(self, version: str | None) -> Reader:
        try:
            return self.backend.reader()
        except BaseException:
            with self._lock:
                if self._version == version:
                    self._open -= 1
                    self._lock.notify()
            raise

    def give_back(self, reader: Reader, version: str | None) -> None:
        """Keeps `reader` for the next request, or closes it if its version is gone."""
        with self._lock:
            kept = self._version == version
            if kept:
                self._idle.append(reader)
                self._lock.notify()
        if not kept:
            reader.close()

    def _switch(self, version: str | None) -> list[Reader]:
        """Makes `version` the current one; returns the idle readers of the old one (those
        lent are closed when given back)."""
        if version == self._version:
            return []
        self._version, stale, self._idle, self._open = version, self._idle, [], 0
        self._lock.notify_all()
        return stale

    def close(self) -> None:
        """Closes the idle readers (at shutdown); readers in use close when given back."""
        with self._lock:
            stale, self._idle, self._version, self._open = self._idle, [], None, 0
        _close_all(stale)

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


def _close_all(readers: list[Reader]) -> None:
    for reader in readers:
        reader.close()
