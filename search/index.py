"""The Whoosh index on disk: schema, opening, and atomic rebuilds.

Layout of an index folder:
    CURRENT      the name of the generation that readers open (replaced atomically)
    gen-*/       one complete Whoosh index per generation
    write.lock   held by the one process allowed to write

A rebuild writes a new generation beside the current one and switches `CURRENT` only when
it is complete, so a crash or Ctrl-C at any moment leaves the previous index whole. The
generation it replaces is kept until the next write, for readers that opened it.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import struct
import zlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema

from search.analysis import french_analyzer
from search.errors import CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError
from search.ingest import find_article_files, load_articles
from search.models import Article, RebuildReport, Skipped

CURRENT = "CURRENT"
LOCK = "write.lock"
GENERATION_PREFIX = "gen-"
LOCK_WAIT_SECONDS = 3.0
WRITER_LIMIT_MB = 256

# What Whoosh raises when its files are truncated, garbled or missing (its own
# `whoosh.index.IndexError` covers an empty folder and a garbled table of contents).
CORRUPTION_ERRORS = (
    OSError, EOFError, struct.error, pickle.UnpicklingError, zlib.error,
    ValueError, KeyError, IndexError, whoosh_index.IndexError,
)

# Fields searched when a query names none, with their query-time boosts.
DEFAULT_FIELDS = {"title": 2.0, "lead": 1.5, "dateline": 1.0, "body": 1.0}
SEARCHABLE_FIELDS = ("title", "lead", "body", "dateline", "category", "author")


def build_schema() -> Schema:
    analyzer = french_analyzer()

    def text() -> TEXT:
        # Words that the analyzer splits (`sud-sud`, `Al-Farabi`) are searched as phrases.
        return TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase")

    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=text(),
        lead=text(),
        body=text(),
        dateline=text(),
        category=text(),
        author=text(),
        source=ID(stored=True),
        url=STORED(),
        date=ID(stored=True, sortable=True),
    )


def _show(index_dir: Path) -> str:
    return f"{index_dir}{os.sep}"


def open_index(index_dir: Path):
    """The current generation of the index in `index_dir`, checked to be readable."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        if index_dir.is_dir() and any(index_dir.glob(f"{GENERATION_PREFIX}*")):
            raise IndexCorruptError(
                f"The index in {_show(index_dir)} has no {CURRENT} file. "
                "Run `search rebuild` to rebuild it."
            )
        raise IndexMissingError(f"No index in {_show(index_dir)}. Run `search rebuild` first.")
    try:
        generation = index_dir / pointer.read_text("utf-8").strip()
        ix = whoosh_index.open_dir(str(generation))
        with ix.reader() as reader:
            reader.doc_count()
    except CORRUPTION_ERRORS as error:
        raise IndexCorruptError(
            f"The index in {_show(index_dir)} is damaged ({type(error).__name__}). "
            "Run `search rebuild` to rebuild it."
        ) from None
    return ix


@contextmanager
def write_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index's write lock; wait up to `wait` seconds for another writer."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a") as lock_file:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"Another process is writing to the index in {_show(index_dir)}; "
                        "try again when it has finished."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _current_generation(index_dir: Path) -> str | None:
    try:
        return (index_dir / CURRENT).read_text("utf-8").strip() or None
    except OSError:
        return None


def _fsync_tree(folder: Path) -> None:
    for file in folder.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch_current(index_dir: Path, generation: str) -> None:
    temporary = index_dir / f"{CURRENT}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(generation + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _remove_generations(index_dir: Path, keep: Iterable[str | None]) -> None:
    kept = set(keep)
    for folder in index_dir.glob(f"{GENERATION_PREFIX}*"):
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def _document(article: Article) -> dict[str, str]:
    fields = {
        "id": article.id,
        "path": article.path,
        "title": article.title,
        "body": article.body,
        "dateline": article.dateline,
        "category": article.category,
        "date": article.date,
    }
    return {name: value for name, value in fields.items() if value}


def rebuild(
    paths: Iterable[Path],
    index_dir: Path,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Index every article under `paths` into a fresh generation, then switch to it.

    `on_start(n)` is told how many files will be read; `progress(1)` after each one.
    """
    paths = list(paths)
    files = list(find_article_files(paths))
    if on_start:
        on_start(len(files))
    where = ", ".join(str(p) for p in paths) or "the given paths"
    return build(load_articles(files), index_dir, progress=progress, source_name=where)


def build(
    items: Iterable[Article | Skipped],
    index_dir: Path,
    progress: Callable[[int], None] | None = None,
    source_name: str = "the given articles",
) -> RebuildReport:
    """A fresh generation of the index holding `items`, switched to only once complete."""
    with write_lock(index_dir):
        previous = _current_generation(index_dir)
        _remove_generations(index_dir, keep=[previous])
        generation = Path(tempfile.mkdtemp(prefix=GENERATION_PREFIX, dir=index_dir))
        try:
            indexed, skipped = _fill(generation, items, progress)
            if not indexed:
                raise CorpusError(
                    f"No article could be indexed from {source_name}; "
                    "the index was left as it was."
                )
            _fsync_tree(generation)
            _switch_current(index_dir, generation.name)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        # The replaced generation stays for readers that opened it; older ones go.
        _remove_generations(index_dir, keep=[generation.name, previous])
    return RebuildReport(index_dir=str(index_dir), indexed=indexed, skipped=tuple(skipped))


def _fill(
    generation: Path,
    items: Iterable[Article | Skipped],
    progress: Callable[[int], None] | None,
) -> tuple[int, list[Skipped]]:
    ix = whoosh_index.create_in(str(generation), build_schema())
    writer = ix.writer(limitmb=WRITER_LIMIT_MB)
    indexed, skipped, seen = 0, [], set()
    try:
        for item in items:
            if isinstance(item, Skipped):
                skipped.append(item)
            elif item.id in seen:
                skipped.append(Skipped(item.path, f"another file already has the id {item.id}"))
            else:
                seen.add(item.id)
                writer.add_document(**_document(item))
                indexed += 1
            if progress:
                progress(1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return indexed, skipped
