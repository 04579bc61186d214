"""The shared vocabulary: plain frozen dataclasses, no Whoosh types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article as parsed from its file, ready to index."""

    id: str
    path: str
    title: str
    body: str
    date: str | None = None
    dateline: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Snippet:
    """A passage of an article; `highlights` are (start, end) offsets into `text`."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    rank: int
    id: str
    path: str
    title: str
    date: str | None
    dateline: str | None
    category: str | None
    score: float | None  # None when sorted by something else than relevance
    snippet: Snippet


@dataclass(frozen=True)
class SearchResults:
    """The answer to a query. `partial` is true when no article matched every word."""

    query: str
    total: int
    partial: bool
    hits: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did."""

    index_dir: str
    indexed: int
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
