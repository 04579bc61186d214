"""Readers shared by the requests of a server: one request at a time on each.

A reader is not thread-safe (a Whoosh searcher reads its segments through a shared file
position), so each request borrows one for its length and gives it back; no lock is held
while it is used. Readers belong to the data version they were opened on
(`Backend.version`): when `search index` switches to a new generation, the next request
opens readers on it, and the old ones are closed as soon as they are idle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from search.backend import Backend, Reader

IDLE_READERS = 4  # kept open between requests; more are opened when more requests overlap


class ReaderPool:
    """Idle readers of the backend's current version, lent one request at a time."""

    def __init__(self, backend: Backend, idle: int = IDLE_READERS) -> None:
        self.backend = backend
        self.idle_limit = idle
        self._lock = threading.Lock()  # held only to take or put back a reader
        self._version: str | None = None
        self._idle: list[Reader] = []

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
        version = self.backend.version()
        with self._lock:
            stale = self._switch(version)
            reader = self._idle.pop() if self._idle else None
        _close_all(stale)
        return reader or self.backend.reader(), version

    def give_back(self, reader: Reader, version: str | None) -> None:
        """Keeps `reader` for the next request, or closes it if its version is gone or
        enough readers are idle."""
        with self._lock:
            kept = self._version == version and len(self._idle) < self.idle_limit
            if kept:
                self._idle.append(reader)
        if not kept:
            reader.close()

    def _switch(self, version: str | None) -> list[Reader]:
        """Makes `version` the current one; returns the idle readers of the old one."""
        if version == self._version:
            return []
        self._version, stale, self._idle = version, self._idle, []
        return stale

    def close(self) -> None:
        """Closes the idle readers (at shutdown); readers in use close when given back."""
        with self._lock:
            stale, self._idle, self._version = self._idle, [], None
        _close_all(stale)

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


def _close_all(readers: list[Reader]) -> None:
    for reader in readers:
        reader.close()
