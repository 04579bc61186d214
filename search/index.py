"""The Whoosh index on disk: schema, opening, rebuilds and incremental updates.

Layout of an index folder:
    CURRENT      the name of the generation that readers open (replaced atomically)
    gen-*/       one complete Whoosh index per generation, with its `files.json`
    write.lock   held by the one process allowed to write

Every write makes a new generation and switches `CURRENT` to it only once it is complete,
so a process killed at any moment (SIGKILL included) leaves the previous index whole, and
readers always see one consistent generation. An update starts from hard links to the
current generation's files: Whoosh never rewrites a file, it adds segments and a new table
of contents, so the old generation stays intact for its readers. The replaced generation is
kept until the next write.

A write that adds many articles is indexed by two sub-writer processes, each making a
segment (`_ParallelWriter`); they die with the process that started them.

`files.json` remembers, for each indexed file, a fingerprint of its bytes and the hash of
each of its articles: an unchanged file is not even parsed, and a changed export updates
only the articles that changed.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import fcntl
import hashlib
import json
import multiprocessing
import os
import pickle
import queue
import re
import shutil
import signal
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from unidecode import unidecode
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, W3Segment, _lenfield
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from search.analysis import ANALYZER_VERSION, FrenchPositions, french_analyzer
from search.errors import (
    CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError, IndexOutdatedError,
    IndexWriteError, MassRemovalRefused, SearchError, SubWriterFailed, UnreadableArticle,
)
from search.formats import printable
from search.ingest import (
    SourceFile, check_field_map, find_article_files, parse_file, path_key, survey,
)
from search.models import (
    Article, Count, IndexCheck, IndexReport, IndexStats, Skipped, Unchanged,
)

CURRENT = "CURRENT"
LOCK = "write.lock"
MANIFEST = "files.json"
FORMAT = "format.json"  # the analyzer version whose terms the generation holds
CHECKSUMS = "checksums.json"  # size and digest of every other file of the generation
READERS = "readers.lock"  # shared-locked by readers: the generation is not deleted under them
GENERATION_PREFIX = "gen-"
_GENERATION_NAME = re.compile(r"\Agen-[A-Za-z0-9_]+\Z")
# Files of a generation that are its own, never shared with the next one by a hard link.
_OWN_FILES = frozenset({MANIFEST, FORMAT, CHECKSUMS, READERS})
# A write that removes more than MASS_REMOVAL_ARTICLES articles, or more than
# MASS_REMOVAL_SHARE of the index when that is more than MASS_REMOVAL_FLOOR articles, is
# refused unless confirmed (`--yes`): a wrong path or option must not empty an archive.
MASS_REMOVAL_ARTICLES = 1000
MASS_REMOVAL_SHARE = 0.10
MASS_REMOVAL_FLOOR = 10
LOCK_WAIT_SECONDS = 3.0
WRITER_LIMIT_MB = 256
# A write that adds this many articles or more is indexed by WRITER_PROCESSES sub-writers,
# each making a segment of its own, each with a posting buffer of SUB_WRITER_LIMIT_MB; a
# smaller one stays in the writing process and adds one segment.
PARALLEL_MIN_ARTICLES = 1000
WRITER_PROCESSES = 2
SUB_WRITER_LIMIT_MB = 128

# What Whoosh raises when its files are truncated, garbled or missing (its own
# `whoosh.index.IndexError` covers an empty folder and a garbled table of contents).
CORRUPTION_ERRORS = (
    OSError, EOFError, struct.error, pickle.UnpicklingError, zlib.error,
    ValueError, KeyError, IndexError, whoosh_index.IndexError,
)

# Fields searched when a query names none, with their query-time boosts.
DEFAULT_FIELDS = {"title": 2.0, "lead": 1.5, "dateline": 1.0, "body": 1.0}
SEARCHABLE_FIELDS = ("title", "lead", "body", "dateline", "category", "author")

Progress = Callable[[int], None]


def build_schema() -> Schema:
    analyzer = french_analyzer()

    def text() -> TEXT:
        # Words that the analyzer splits (`sud-sud`, `Al-Farabi`) are searched as phrases.
        field = TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase")
        field.format = FrenchPositions()  # Whoosh's postings, computed faster
        return field

    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=text(),
        lead=text(),
        body=text(),
        dateline=text(),
        category=text(),
        author=text(),
        # Exact labels, for filters and counts: `actu.orange.fr`, `societe/education`.
        source=ID(stored=True),
        category_key=ID,
        url=STORED(),
        date=ID(stored=True, sortable=True),
    )


def category_key(label: str) -> str:
    """A category label as filters and counts know it: `Société/Éducation` → `societe/education`."""
    return " ".join(unidecode(label).lower().split())


def _show(index_dir: Path) -> str:
    return f"{index_dir}{os.sep}"


def _damaged(index_dir: Path, reason: BaseException | str) -> IndexCorruptError:
    if isinstance(reason, BaseException):
        reason = type(reason).__name__
    return IndexCorruptError(
        f"The index in {_show(index_dir)} is damaged ({reason}). "
        "Run `search rebuild` to rebuild it."
    )


def _current_generation(index_dir: Path) -> str | None:
    """The generation `CURRENT` names, or None if it is missing, unreadable or garbled."""
    try:
        name = (index_dir / CURRENT).read_text("utf-8").strip()
    except (OSError, ValueError):
        return None
    return name if _GENERATION_NAME.match(name) else None


def _generation_to_read(index_dir: Path) -> Path:
    """The folder of the current generation; raises our errors if there is none."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        if index_dir.is_dir() and any(index_dir.glob(f"{GENERATION_PREFIX}*")):
            raise _damaged(index_dir, f"no {CURRENT} file")
        if index_dir.exists() and not index_dir.is_dir():
            raise IndexMissingError(
                f"{index_dir} is a file, not an index folder: name another folder with --index."
            )
        raise IndexMissingError(f"No index in {_show(index_dir)}. Run `search rebuild` first.")
    name = _current_generation(index_dir)
    if name is None:
        raise _damaged(index_dir, f"its {CURRENT} file is garbled")
    generation = index_dir / name
    if not generation.is_dir():
        raise _damaged(index_dir, f"{CURRENT} names {name}, which is missing")
    return generation


class ReadLease:
    """A shared lock on a generation's `readers.lock`, held while it is read: writers
    delete only generations that nobody holds (an flock, released by the kernel when its
    process dies)."""

    def __init__(self, handle=None) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


LEASE_ATTEMPTS = 100


def _lease(index_dir: Path) -> tuple[Path, ReadLease]:
    """The current generation, locked for reading.

    A writer may switch `CURRENT` and delete the generation between our reading it and
    locking it: then the lock file is gone, or held exclusively, and we read again."""
    for _ in range(LEASE_ATTEMPTS):
        generation = _generation_to_read(index_dir)
        try:
            handle = open(generation / READERS, "rb")
        except FileNotFoundError:
            if _current_generation(index_dir) == generation.name and generation.is_dir():
                return generation, ReadLease()  # written before readers' locks existed
            continue
        except OSError as error:
            raise _damaged(index_dir, f"{READERS}: {error.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # being deleted
            handle.close()
            time.sleep(0.01)
            continue
        if (generation / READERS).exists():
            return generation, ReadLease(handle)
        handle.close()
    raise IndexLockedError(
        f"The index in {_show(index_dir)} changed too often to be opened; try again."
    )


def open_current(index_dir: Path):
    """(Whoosh index, lease) of the current generation, checked to be readable; the
    generation stays on disk until the lease is released, whatever writes happen."""
    generation, lease = _lease(index_dir)
    try:
        return _open_generation(index_dir, generation), lease
    except BaseException:
        lease.release()
        raise


def open_index(index_dir: Path):
    """The current generation of the index in `index_dir`, checked to be readable."""
    ix, lease = open_current(index_dir)
    lease.release()
    return ix


def _open_generation(index_dir: Path, generation: Path):
    outdated = IndexOutdatedError(
        f"The index in {_show(index_dir)} was built by an older version of search, which "
        "analyzed words differently. Run `search rebuild` to rebuild it."
    )
    problem = _cheap_check(generation)
    if problem:
        raise _damaged(index_dir, problem)
    try:
        # Segments read in place: through an mmap, Whoosh copies each sub-file of a
        # compound segment into memory (`BufferFile(BytesIO(...))`), the whole index.
        ix = FileStorage(str(generation), supports_mmap=False).open_index()
        with ix.reader() as reader:
            reader.doc_count()
    except (AttributeError, ImportError):
        # The pickled schema names analyzer classes this version no longer has.
        raise outdated from None
    except (*CORRUPTION_ERRORS, TypeError) as error:  # TypeError: a garbled pickle
        raise _damaged(index_dir, error) from None
    if _format(generation).get("analyzer") != ANALYZER_VERSION:
        raise outdated
    return ix


def _format(generation: Path) -> dict:
    try:
        found = json.loads((generation / FORMAT).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _read_checksums(generation: Path) -> dict[str, tuple[int, str]] | None:
    """file name → (size, digest), as recorded when the generation was written; None if
    the generation has no readable record (or an older version wrote it)."""
    try:
        data = json.loads((generation / CHECKSUMS).read_text("utf-8"))
        return {name: (int(size), str(digest)) for name, (size, digest) in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _digest(file: Path) -> str:
    with open(file, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _cheap_check(generation: Path) -> str | None:
    """What is wrong with a generation, found without reading its segments: every file it
    recorded is there with its size, and its small files (table of contents, format) have
    their digest. None if nothing is."""
    recorded = _read_checksums(generation)
    if recorded is None:
        return f"{CHECKSUMS} is missing or garbled" if (generation / CHECKSUMS).exists() \
            or _format(generation).get("checksums") else None
    for name, (size, digest) in recorded.items():
        file = generation / name
        try:
            found = file.stat()
        except OSError:
            return f"{name} is missing"
        if not file.is_file():
            return f"{name} is not a file"
        if found.st_size != size:
            return f"{name} has {found.st_size:,} bytes, {size:,} expected"
        if name == FORMAT or name.endswith(".toc"):
            if _digest(file) != digest:
                return f"{name} has changed since it was written"
    return None


def _record_checksums(generation: Path, base: Path | None) -> None:
    """Size and digest of every file of `generation`; those shared with `base` by hard
    links keep the digests recorded there (the files never change)."""
    known = (_read_checksums(base) or {}) if base else {}
    recorded = {}
    for file in sorted(generation.iterdir()):
        if file.name in (CHECKSUMS, READERS) or file.name.endswith("LOCK") or not file.is_file():
            continue
        size = file.stat().st_size
        if file.name in known and known[file.name][0] == size and file.name not in _OWN_FILES:
            recorded[file.name] = known[file.name]
        else:
            recorded[file.name] = (size, _digest(file))
    (generation / CHECKSUMS).write_text(json.dumps(recorded, sort_keys=True), "utf-8")


@contextmanager
def write_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS, *,
               repair: bool = False) -> Iterator[None]:
    """Hold the index's write lock; wait up to `wait` seconds for another writer.

    An flock: the kernel releases it when its process dies, however it dies. A lock
    path that is not a file is damage; `repair` (a rebuild) replaces it.
    """
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexWriteError(
            f"{index_dir} is a file, not an index folder: name another folder with --index."
        )
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir / LOCK
    if lock_path.is_symlink() or lock_path.exists() and not lock_path.is_file():
        if not repair:
            raise _damaged(index_dir, f"{LOCK} is not a file")
        if lock_path.is_dir() and not lock_path.is_symlink():
            shutil.rmtree(lock_path)
        else:
            lock_path.unlink()
    with open(lock_path, "a") as lock_file:
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
    for path in (temporary, index_dir / CURRENT):  # a folder there is damage: replaced
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(generation + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _remove_generations(index_dir: Path, keep: Iterable[str | None]) -> None:
    """Every generation but those in `keep`, and those a reader holds."""
    kept = set(keep)
    for folder in index_dir.glob(f"{GENERATION_PREFIX}*"):
        if folder.name not in kept:
            _remove_unread(folder)


def _remove_unread(folder: Path) -> None:
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
        return
    try:
        handle = open(folder / READERS, "rb")
    except OSError:  # an unfinished write, or a generation from before readers' locks
        shutil.rmtree(folder, ignore_errors=True)
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a reader has it open: the next write will try again
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class FileEntry:
    """What the index holds from one file: its fingerprint, its articles' hashes, and the
    field map it is read with (remembered, so that a later run reads it the same way)."""

    fingerprint: str
    articles: dict[str, str] = field(default_factory=dict)  # id → hash
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why), told again
    field_map: dict[str, str] = field(default_factory=dict)


def _read_manifest(generation: Path) -> dict[str, FileEntry]:
    """The generation's `files.json`; raises ValueError if it is garbled."""
    try:
        data = json.loads((generation / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    try:
        return {str(key): FileEntry(**entry) for key, entry in data.items()}
    except (AttributeError, TypeError) as error:
        raise ValueError(f"{MANIFEST} is garbled") from error


def _write_manifest(generation: Path, files: Mapping[str, FileEntry]) -> None:
    """ASCII JSON: a file name that is not UTF-8 (its bytes as lone surrogates) is kept
    as `\\udcff` escapes and read back as it was."""
    data = {key: vars(entry) for key, entry in files.items()}
    (generation / MANIFEST).write_text(json.dumps(data), "ascii")


def _document(article: Article) -> dict[str, str]:
    fields = {
        "id": article.id,
        "path": article.path,
        "title": article.title,
        "lead": article.lead,
        "body": article.body,
        "dateline": article.dateline,
        "category": article.category,
        "category_key": category_key(article.category) if article.category else None,
        "author": article.author,
        "source": article.source.lower() if article.source else None,
        "url": article.url,
        "date": article.date,
    }
    return {name: value for name, value in fields.items() if value}


@dataclass
class _Tally:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def report(self, index_dir: Path) -> IndexReport:
        return IndexReport(str(index_dir), self.added, self.updated, self.removed,
                           self.unchanged, tuple(self.skipped))


class _LengthTables(W3PerDocReader):
    """Whoosh's per-document reader, whose field lengths for the posting writer are read
    into a table once per field (Whoosh reads the column file again for every posting:
    a tenth of the indexing time). The same lengths, so the same block statistics."""

    def doc_field_length_reader(self, fieldname, default=0):
        column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return lambda docnum, _default=default: _default
        return [byte_to_length(byte) if byte else None for byte in column].__getitem__


class _WritingCodec(W3Codec):
    """Whoosh's default codec, writing with `_LengthTables`. Segments record the plain
    codec, so the index on disk names Whoosh's classes only."""

    def per_document_reader(self, storage, segment):
        return _LengthTables(storage, segment)

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(), indexname)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when `parent` dies, however it dies (Linux)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def _run_sub_writer(parent: int, *args) -> None:
    """A sub-writer; a system error (no space left, a file-size limit...) goes back to the
    writing process as (errno, message) instead of a traceback on the terminal."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writing process's to handle
    task = SubWriterTask(*args)
    try:
        task.run()
    except OSError as error:
        task.resultqueue.put((_FAILED, error.errno, error.strerror), timeout=5)
        os._exit(1)
    except BaseException:
        os._exit(1)


_FAILED = "failed"  # a sub-writer's result that is an error, not a segment


class _ParallelWriter(MpWriter):
    """Whoosh's multiprocessing writer, held to the guarantees of a write.

    Up to PARALLEL_MIN_ARTICLES articles are held back; if the write adds no more, they are
    written here, as by a plain writer (no process started, one segment). Beyond, they go
    to WRITER_PROCESSES forked sub-writers, each of which writes a segment of its own
    (Whoosh's `multisegment`: merging their postings would be serial work again). A
    sub-writer dies with the writing process, even SIGKILLed (it holds the inherited
    write lock), a cancel stops it, and a commit fails unless every sub-writer handed over
    its segment with every article it was given.

    Batches are dealt to the sub-writers in turn, each through a queue of its own, and
    their segments enter the index in sub-writer order (Whoosh's shared queues let the
    first free process take the next batch, and the first done come first): the same
    articles get the same document numbers in every build, so articles of equal score
    (republished dispatches) keep their order from one rebuild to the next.
    """

    def __init__(self, ix) -> None:
        super().__init__(ix, procs=WRITER_PROCESSES, multisegment=True,
                         limitmb=WRITER_LIMIT_MB, codec=_WritingCodec(),
                         subargs={"limitmb": SUB_WRITER_LIMIT_MB, "codec": _WritingCodec()})
        self._fork = multiprocessing.get_context("fork")
        self._sent = self._batches = 0
        self._jobs = [self._fork.Queue(4) for _ in range(WRITER_PROCESSES)]
        self._results = [self._fork.Queue() for _ in range(WRITER_PROCESSES)]

    def _new_task(self):
        number = len(self.tasks)
        args = (self.storage, self.indexname, self._jobs[number], self._results[number],
                self.subargs, self.multisegment)
        task = self._fork.Process(target=_run_sub_writer, args=(os.getpid(), *args),
                                  daemon=True)
        self.tasks.append(task)
        task.start()
        return task

    def add_document(self, **fields) -> None:
        self.docbuffer.append((0, fields))
        self._added_sub = True
        if self.tasks:
            if len(self.docbuffer) >= self.batchsize:
                self._enqueue()
        elif len(self.docbuffer) >= PARALLEL_MIN_ARTICLES:
            held = self.docbuffer
            for start in range(0, len(held), self.batchsize):
                self.docbuffer = held[start:start + self.batchsize]
                self._enqueue()

    def _enqueue(self) -> None:
        """Whoosh's, the batch going to the next sub-writer in turn."""
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as batch:
            for item in self.docbuffer:
                pickle.dump(item, batch, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        turn = self._batches % self.procs
        self._jobs[turn].put((filename, len(self.docbuffer)))
        self._batches += 1
        self._sent += len(self.docbuffer)
        self.docbuffer = []

    def commit(self, mergetype=None, optimize=None, merge=None) -> None:
        if not self.tasks:  # a small write: this process writes it
            held, self.docbuffer = self.docbuffer, []
            for _, fields in held:
                SegmentWriter.add_document(self, **fields)
            self._added_sub = False
        super().commit(mergetype=mergetype, optimize=optimize, merge=merge)

    def _commit(self, mergetype, optimize, merge) -> None:
        # Whoosh's MpWriter._commit (multisegment), with the sub-writers' results checked.
        if self.docbuffer:
            self._enqueue()
        for jobs, _ in zip(self._jobs, self.tasks):
            jobs.put(None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        # read before joining: see Queue's docs
        found = [_result(task, results) for task, results in zip(self.tasks, self._results)]
        for task in self.tasks:
            task.join()
        for result in found:
            if isinstance(result, OSError):
                raise result
        segments = [segment for segment in found if segment is not None]
        written = sum(segment.doc_count_all() for segment in segments)
        if len(segments) != len(self.tasks) or written != self._sent:
            signals = sorted({-task.exitcode for task in self.tasks if (task.exitcode or 0) < 0})
            cause = (f"killed by signal {', '.join(map(str, signals))}"
                     + (" (out of memory?)" if signal.SIGKILL in signals else "")
                     if signals else "failed")
            raise SubWriterFailed(
                f"{len(self.tasks) - len(segments)} of {len(self.tasks)} indexing processes "
                f"{cause} ({written} of {self._sent} articles written); the previous index is "
                "unchanged.")
        finalsegments += segments
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self) -> None:
        for task in self.tasks:
            if task.pid is not None:  # started
                task.kill()
                task.join()
        SegmentWriter.cancel(self)


def _result(task, results) -> object | None:
    """The segment a sub-writer hands over, the OSError it failed with, or None if it died
    without a word."""
    while True:
        alive = task.is_alive()
        try:
            result = results.get(timeout=0.5)
            if result[0] == _FAILED:
                return OSError(result[1], result[2])
            return result[2]
        except queue.Empty:
            if not alive:  # exited before the wait began: nothing more will come
                return None


# Whether large writes may use sub-writers: None lets `_parallel_writes_pay` decide by the
# machine; the tests set it, so that they run alike on one core and on two.
SUB_WRITERS: bool | None = None


def _parallel_writes_pay() -> bool:
    """Sub-writers need Linux (they die with their parent through prctl) and a core each:
    on one core, two processes only add their overhead."""
    if sys.platform != "linux":
        return False
    if SUB_WRITERS is not None:
        return SUB_WRITERS
    return len(os.sched_getaffinity(0)) >= WRITER_PROCESSES


class _Writer:
    """Applies articles to a Whoosh writer, keeping `files.json` and the counts in step."""

    def __init__(self, ix, files: dict[str, FileEntry], tally: _Tally) -> None:
        self.writer = _ParallelWriter(ix) if _parallel_writes_pay() else ix.writer(
            limitmb=WRITER_LIMIT_MB, codec=_WritingCodec())
        self.files = files
        self.tally = tally
        self.owner = {id: key for key, entry in files.items() for id in entry.articles}

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, error_type, *_) -> None:
        """Commit what was written, or nothing if the block failed."""
        if error_type is None:
            self.writer.commit()
        else:
            try:
                self.writer.cancel()
            except Exception:  # the error that stopped the write is the one to tell
                pass

    def remove_file(self, key: str) -> None:
        for article_id in self.files.pop(key).articles:
            self.writer.delete_by_term("id", article_id)
            del self.owner[article_id]
            self.tally.removed += 1

    def write_file(self, key: str, file_id: str, print_: str,
                   items: Iterable[tuple[Article | Skipped | Unchanged, str]],
                   progress: Progress | None, field_map: Mapping[str, str] = {}) -> None:
        """Write one file's articles, each with the fingerprint of its source text.

        An article whose id another file already has (a copy of an indexed export in
        another folder) takes an id made of the file's absolute path instead of its
        path from the corpus root. An unusable record or file that the index holds keeps
        its indexed version: only a file or record that is gone removes an article."""
        old = self.files.get(key, FileEntry(print_)).articles
        new: dict[str, str] = {}
        skipped: list[Skipped] = []
        for item, digest in items:
            if progress:
                progress(1)
            if isinstance(item, Skipped):
                if item.id is not None and item.id in old and item.id not in new:
                    new[item.id] = old[item.id]
                    self.tally.unchanged += 1
                    item = Skipped(item.path, f"{item.reason}; its indexed version is kept",
                                   item.id)
                skipped.append(item)
                continue
            if self.owner.get(item.id, key) != key:
                item = _qualified(item, file_id, key)
            if item.id in new or self.owner.get(item.id, key) != key:
                where = item.path if isinstance(item, Article) else key
                skipped.append(Skipped(where, f"another article already has the id {item.id}"))
                continue
            new[item.id] = digest
            if isinstance(item, Unchanged) or old.get(item.id) == digest:
                self.tally.unchanged += 1
            elif item.id in old:
                self.writer.update_document(**_document(item))
                self.tally.updated += 1
            else:
                self.writer.add_document(**_document(item))
                self.owner[item.id] = key
                self.tally.added += 1
        for article_id in old.keys() - new.keys():
            self.writer.delete_by_term("id", article_id)
            del self.owner[article_id]
            self.tally.removed += 1
        self.files[key] = FileEntry(print_, new, [(s.path, s.reason) for s in skipped],
                                    dict(field_map))
        self.tally.skipped.extend(skipped)


def _qualified(item: Article | Unchanged, file_id: str, key: str) -> Article | Unchanged:
    """`item` with the file's part of its id (`export.jsonl` of `export.jsonl#12`) made the
    file's absolute path: unique, as no two files have the same."""
    if not item.id.startswith(file_id):
        return item
    return dataclasses.replace(item, id=key + item.id[len(file_id):])


def _is_under(key: str, folders: Iterable[Path]) -> bool:
    return any(Path(key).is_relative_to(folder) for folder in folders)


def update(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    fresh: bool = False,
    field_map: Mapping[str, str] = {},
    allow_removal: bool = False,
    progress: Progress | None = None,
    on_start: Progress | None = None,
) -> IndexReport:
    """Bring the index up to date with the articles under `paths` (see the module doc).

    New and changed articles are written, those whose files left an indexed folder are
    removed; `fresh` starts from an empty index instead (a rebuild), whatever state the
    old one is in. A write that would remove many articles is refused unless
    `allow_removal` (see MASS_REMOVAL_ARTICLES). `field_map` applies to the exports
    among `paths` and is remembered for them; those it is not given for are read with
    the map they were indexed with. `on_start(n)` is told about how many articles will be
    read, `progress(1)` after each one.
    """
    paths = list(paths)
    check_field_map(field_map)
    # The index folder may lie inside a corpus folder: its files are not articles.
    found = list(find_article_files(paths, exclude=[index_dir]))
    sources = [item for item in found if isinstance(item, SourceFile)]
    walk_skipped = [item for item in found if isinstance(item, Skipped)]
    folders = [Path(path_key(path)) for path in paths if path.is_dir()]
    try:
        with write_lock(index_dir, repair=fresh):
            return _update_locked(paths, index_dir, sources, walk_skipped, folders, fresh,
                                  field_map, allow_removal, progress, on_start)
    except OSError as error:
        raise _write_failed(index_dir, error) from None


def _update_locked(paths, index_dir, sources, walk_skipped, folders, fresh, field_map,
                   allow_removal, progress, on_start) -> IndexReport:
    previous = _current_generation(index_dir)
    if not fresh:
        try:
            open_index(index_dir)  # a damaged index is reported, not built upon
        except IndexMissingError:
            previous = None
    base = index_dir / previous if previous and not fresh else None
    try:
        files = _read_manifest(base) if base else {}
    except ValueError as error:
        raise _damaged(index_dir, str(error)) from None
    indexed = _indexed_ids(files if base else _manifest_or_nothing(index_dir, previous))
    tally = _Tally(skipped=list(walk_skipped))

    changed, expected = _changed_files(sources, files, field_map, tally)
    seen = {source.key for source in sources}
    gone = [key for key in files if key not in seen and _is_under(key, folders)]
    if base and not changed and not gone:
        return tally.report(index_dir)

    if on_start:
        on_start(expected)
    with _next_generation(index_dir, previous, base) as (generation, ix):
        with _Writer(ix, files, tally) as writer:
            for key in gone:
                writer.remove_file(key)
            for source, print_, file_map in changed:
                known = files[source.key].articles if source.key in files else {}
                items = parse_file(source, file_map, known)
                writer.write_file(source.key, source.id, print_, items, progress, file_map)
            if not writer.owner:
                where = ", ".join(printable(str(p)) for p in paths) or "the given paths"
                raise CorpusError(
                    f"No article could be indexed from {where}; the index was left as it was."
                )
            if not allow_removal:
                _check_removal(index_dir, indexed, writer.owner.keys(), fresh)
        _write_manifest(generation, files)
    return tally.report(index_dir)


def _indexed_ids(files: Mapping[str, FileEntry]) -> set[str]:
    return {article_id for entry in files.values() for article_id in entry.articles}


def _manifest_or_nothing(index_dir: Path, generation: str | None) -> dict[str, FileEntry]:
    """The manifest of a generation that a rebuild replaces, if it can be read at all."""
    try:
        return _read_manifest(index_dir / generation) if generation else {}
    except (OSError, ValueError):
        return {}


def _check_removal(index_dir: Path, indexed: set[str], kept: Iterable[str],
                   fresh: bool) -> None:
    """Refuse a write that removes many articles (MASS_REMOVAL_ARTICLES)."""
    removed = len(indexed - set(kept))
    if removed <= MASS_REMOVAL_FLOOR:
        return
    if removed > MASS_REMOVAL_ARTICLES or removed > MASS_REMOVAL_SHARE * len(indexed):
        why = ("a rebuild keeps only the articles of the paths it is given" if fresh
               else "their files or records are gone")
        raise MassRemovalRefused(
            f"This would remove {removed:,} of the {len(indexed):,} articles of the index in "
            f"{_show(index_dir)} ({why}). Nothing was changed; run the command again with "
            "--yes to remove them."
        )


_WRITE_FAILURES = {
    errno.ENOSPC: "no space is left on the device: free some space, then run the command "
                  "again",
    errno.EDQUOT: "the disk quota is exceeded: free some space, then run the command again",
    errno.EFBIG: "a file of the index would exceed the file-size limit (`ulimit -f`): raise "
                 "it, then run the command again",
    errno.EROFS: "the folder is on a read-only file system: name a writable folder with "
                 "--index",
    errno.EACCES: "permission denied: name a folder you may write to with --index",
    errno.EPERM: "operation not permitted: name a folder you may write to with --index",
    errno.EMFILE: "too many open files (`ulimit -n`): raise the limit, then run the command "
                  "again",
    errno.ENFILE: "the system has too many open files: run the command again later",
    errno.ENOMEM: "out of memory: close other programs, then run the command again",
    errno.EIO: "an input/output error: the disk may be failing",
}


def _write_failed(index_dir: Path, error: OSError) -> IndexWriteError:
    """One line that names why the system refused a write, and what to do."""
    cause = _WRITE_FAILURES.get(error.errno) or (
        f"{error.strerror or type(error).__name__}" + (f" ({error.filename})"
                                                      if error.filename else ""))
    return IndexWriteError(
        f"Could not write the index in {_show(index_dir)}: {cause}. "
        "The previous index is unchanged."
    )


def _map_for(source: SourceFile, files: Mapping[str, FileEntry],
             field_map: Mapping[str, str]) -> dict[str, str]:
    """The field map to read an export with: the one given now, else the one it was indexed
    with. Other formats have no fields to map."""
    if source.file.suffix.lower() not in (".json", ".jsonl"):
        return {}
    if field_map:
        return dict(field_map)
    entry = files.get(source.key)
    return dict(entry.field_map) if entry else {}


def _changed_files(
    sources: Iterable[SourceFile], files: Mapping[str, FileEntry],
    field_map: Mapping[str, str], tally: _Tally,
) -> tuple[list[tuple[SourceFile, str, dict[str, str]]], int]:
    """The files whose fingerprint is not the indexed one, with the field map to read them
    with, and about how many articles they hold; unchanged files are counted in `tally`
    as they are."""
    changed, expected = [], 0
    for source in sources:
        file_map = _map_for(source, files, field_map)
        try:
            found = survey(source, file_map)
        except UnreadableArticle as error:
            entry = files.get(source.key)
            kept = f"; its {len(entry.articles):,} indexed articles are kept" if entry else ""
            tally.skipped.append(Skipped(source.path, f"{error}{kept}"))
            if entry:
                tally.unchanged += len(entry.articles)
            continue
        entry = files.get(source.key)
        if entry and entry.fingerprint == found.fingerprint:
            tally.unchanged += len(entry.articles)
            tally.skipped.extend(Skipped(*skip) for skip in entry.skipped)
        else:
            changed.append((source, found.fingerprint, file_map))
            expected += found.articles
    return changed, expected


@contextmanager
def _next_generation(index_dir: Path, previous: str | None, base: Path | None):
    """(folder, Whoosh index) of a new generation, made current once the block completes
    and removed if it fails; the generation before `previous` goes, unless read."""
    _remove_generations(index_dir, keep=[previous])
    generation = Path(tempfile.mkdtemp(prefix=GENERATION_PREFIX, dir=index_dir))
    try:
        (generation / READERS).touch()
        yield generation, _start_generation(generation, base)
        (generation / FORMAT).write_text(
            json.dumps({"analyzer": ANALYZER_VERSION, "checksums": True}), "utf-8")
        _record_checksums(generation, base)
        _fsync_tree(generation)
        _switch_current(index_dir, generation.name)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    # The replaced generation stays for readers that opened it; older ones go.
    _remove_generations(index_dir, keep=[generation.name, previous])


def _start_generation(generation: Path, base: Path | None):
    """A Whoosh index in `generation`: empty, or sharing the files of `base` by hard links."""
    if base is None:
        return whoosh_index.create_in(str(generation), build_schema())
    for file in base.iterdir():
        if file.name not in _OWN_FILES and file.is_file() and not file.name.endswith("LOCK"):
            os.link(file, generation / file.name)
    return whoosh_index.open_dir(str(generation))


def rebuild(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    field_map: Mapping[str, str] = {},
    allow_removal: bool = False,
    progress: Progress | None = None,
    on_start: Progress | None = None,
) -> IndexReport:
    """Index every article under `paths` into a fresh index that replaces the current one,
    without reading the old one (it may be damaged) beyond its list of articles."""
    return update(paths, index_dir, fresh=True, field_map=field_map,
                  allow_removal=allow_removal, progress=progress, on_start=on_start)


def build(items: Iterable[Article | Skipped], index_dir: Path) -> IndexReport:
    """A fresh index of `items` (articles made by a program: benchmarks, tools)."""
    tally = _Tally()
    with write_lock(index_dir, repair=True):
        with _next_generation(index_dir, _current_generation(index_dir), None) as (_, ix):
            with _Writer(ix, {}, tally) as writer:
                writer.write_file("", "", "", ((item, "") for item in items), None)
    return tally.report(index_dir)


@contextmanager
def _reading(index_dir: Path) -> Iterator[tuple[Path, object]]:
    """(generation folder, Whoosh index) of the current generation, held while in use."""
    generation, lease = _lease(index_dir)
    try:
        yield generation, _open_generation(index_dir, generation)
    finally:
        lease.release()


def stats(index_dir: Path) -> IndexStats:
    """Documents, date range, sources and categories with counts, size, last update, and
    the files read with a field map."""
    with _reading(index_dir) as (generation, ix):
        try:
            files = _read_manifest(generation)
            with ix.searcher() as searcher:
                dates = list(searcher.lexicon("date"))
                return IndexStats(
                    index_dir=str(index_dir),
                    documents=searcher.doc_count(),
                    first_date=dates[0].decode() if dates else None,
                    last_date=dates[-1].decode() if dates else None,
                    sources=_counts(searcher, "source"),
                    categories=_counts(searcher, "category_key"),
                    size_bytes=sum(f.stat().st_size for f in generation.iterdir()),
                    updated_at=(index_dir / CURRENT).stat().st_mtime,
                    field_maps=tuple((key, entry.field_map) for key, entry in sorted(files.items())
                                     if entry.field_map),
                )
        except CORRUPTION_ERRORS as error:
            raise _damaged(index_dir, error) from None


def _counts(searcher, fieldname: str) -> tuple[Count, ...]:
    """Live documents per term of an ID field, most first (deleted ones not counted)."""
    counts = []
    for term in searcher.lexicon(fieldname):
        matcher = searcher.postings(fieldname, term)
        live = sum(1 for _ in matcher.all_ids())
        if live:
            counts.append(Count(term.decode(), live))
    return tuple(sorted(counts, key=lambda c: (-c.documents, c.label)))


def check(index_dir: Path) -> IndexCheck:
    """Everything that can be verified about the index: `CURRENT`, the lock, the size and
    digest of every file of the current generation, then every stored article and posting
    read through Whoosh, and the list of indexed files against the articles."""
    try:
        generation = _generation_to_read(index_dir)
    except IndexCorruptError as error:
        return IndexCheck(str(index_dir), None, 0, 0, (str(error),), _REBUILD_ADVICE)
    problems: list[str] = []
    for lock in (index_dir / LOCK, generation / READERS):
        if lock.exists() and not lock.is_file():
            problems.append(f"{lock.relative_to(index_dir)} is not a file")
    recorded = _read_checksums(generation)
    checked = 0
    if recorded is None:
        problems.append(f"{generation.name}: {CHECKSUMS} is missing or garbled")
    else:
        for name, (size, digest) in sorted(recorded.items()):
            file = generation / name
            checked += 1
            if not file.is_file():
                problems.append(f"{generation.name}/{name} is missing or not a file")
            elif file.stat().st_size != size:
                problems.append(f"{generation.name}/{name} has {file.stat().st_size:,} bytes, "
                                f"{size:,} expected")
            elif _digest(file) != digest:
                problems.append(f"{generation.name}/{name} has changed since it was written")
    documents = 0
    if not problems:
        try:
            documents = _read_everything(index_dir, generation)
        except SearchError as error:
            problems.append(str(error))
    return IndexCheck(str(index_dir), generation.name, documents, checked, tuple(problems),
                      _REBUILD_ADVICE if problems else "")


_REBUILD_ADVICE = ("Run `search rebuild` with the folders and files you indexed: it builds a "
                   "new index without reading the damaged one.")


def _read_everything(index_dir: Path, generation: Path) -> int:
    """Read every stored article and every posting of the generation; its article count.
    Raises IndexCorruptError (or IndexOutdatedError) on what cannot be read."""
    ix = _open_generation(index_dir, generation)
    try:
        files = _read_manifest(generation)
        with ix.reader() as reader:
            for _ in reader.all_stored_fields():
                pass
            for fieldname, text in reader.all_terms():
                for _ in reader.postings(fieldname, text).all_ids():
                    pass
            documents = reader.doc_count()
    except CORRUPTION_ERRORS as error:
        raise _damaged(index_dir, error) from None
    listed = len(_indexed_ids(files))
    if listed != documents:
        raise _damaged(index_dir, f"{MANIFEST} lists {listed:,} articles, the index holds "
                                  f"{documents:,}")
    return documents
