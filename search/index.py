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
import fcntl
import json
import multiprocessing
import os
import pickle
import queue
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
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, W3Segment, _lenfield
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from search.analysis import ANALYZER_VERSION, FrenchPositions, french_analyzer
from search.errors import (
    CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError, IndexOutdatedError,
    SubWriterFailed, UnreadableArticle,
)
from search.formats import printable
from search.ingest import (
    SourceFile, check_field_map, find_article_files, parse_file, path_key, survey,
)
from search.models import Article, Count, IndexReport, IndexStats, Skipped, Unchanged

CURRENT = "CURRENT"
LOCK = "write.lock"
MANIFEST = "files.json"
FORMAT = "format.json"  # the analyzer version whose terms the generation holds
GENERATION_PREFIX = "gen-"
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


def _damaged(index_dir: Path, error: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"The index in {_show(index_dir)} is damaged ({type(error).__name__}). "
        "Run `search rebuild` to rebuild it."
    )


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
    outdated = IndexOutdatedError(
        f"The index in {_show(index_dir)} was built by an older version of search, which "
        "analyzed words differently. Run `search rebuild` to rebuild it."
    )
    try:
        generation = index_dir / pointer.read_text("utf-8").strip()
        ix = whoosh_index.open_dir(str(generation))
        with ix.reader() as reader:
            reader.doc_count()
    except (AttributeError, ImportError):
        # The pickled schema names analyzer classes this version no longer has.
        raise outdated from None
    except CORRUPTION_ERRORS as error:
        raise _damaged(index_dir, error) from None
    if _analyzer_version(generation) != ANALYZER_VERSION:
        raise outdated
    return ix


def _analyzer_version(generation: Path) -> int | None:
    try:
        return json.loads((generation / FORMAT).read_text("utf-8")).get("analyzer")
    except (OSError, ValueError, AttributeError):
        return None


@contextmanager
def write_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index's write lock; wait up to `wait` seconds for another writer.

    An flock: the kernel releases it when its process dies, however it dies.
    """
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


@dataclass
class FileEntry:
    """What the index holds from one file: its fingerprint and its articles' hashes."""

    fingerprint: str
    articles: dict[str, str] = field(default_factory=dict)  # id → hash
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why), told again


def _read_manifest(generation: Path) -> dict[str, FileEntry]:
    try:
        data = json.loads((generation / MANIFEST).read_text("utf-8"))
        return {key: FileEntry(**entry) for key, entry in data.items()}
    except FileNotFoundError:
        return {}


def _write_manifest(generation: Path, files: Mapping[str, FileEntry]) -> None:
    data = {key: vars(entry) for key, entry in files.items()}
    (generation / MANIFEST).write_text(json.dumps(data, ensure_ascii=False), "utf-8")


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
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writing process's to handle
    SubWriterTask(*args).run()


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
        segments = [segment for segment in found if segment is not None]
        written = sum(segment.doc_count_all() for segment in segments)
        if len(segments) != len(self.tasks) or written != self._sent:
            raise SubWriterFailed(
                f"{len(self.tasks) - len(segments)} of {len(self.tasks)} indexing processes "
                f"failed ({written} of {self._sent} articles written); the previous index is "
                "unchanged. Run the command again.")
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
    """The segment a sub-writer hands over, or None if it died without one."""
    while True:
        alive = task.is_alive()
        try:
            return results.get(timeout=0.5)[2]
        except queue.Empty:
            if not alive:  # exited before the wait began: nothing more will come
                return None


def _parallel_writes_pay() -> bool:
    """Sub-writers need Linux (they die with their parent through prctl) and a core each:
    on one core, two processes only add their overhead."""
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) >= WRITER_PROCESSES


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
            self.writer.cancel()

    def remove_file(self, key: str) -> None:
        for article_id in self.files.pop(key).articles:
            self.writer.delete_by_term("id", article_id)
            del self.owner[article_id]
            self.tally.removed += 1

    def write_file(self, key: str, print_: str,
                   items: Iterable[tuple[Article | Skipped | Unchanged, str]],
                   progress: Progress | None) -> None:
        """Write one file's articles, each with the fingerprint of its source text."""
        old = self.files.get(key, FileEntry(print_)).articles
        new: dict[str, str] = {}
        skipped: list[Skipped] = []
        for item, digest in items:
            if progress:
                progress(1)
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
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
        self.files[key] = FileEntry(print_, new, [(s.path, s.reason) for s in skipped])
        self.tally.skipped.extend(skipped)


def _is_under(key: str, folders: Iterable[Path]) -> bool:
    return any(Path(key).is_relative_to(folder) for folder in folders)


def update(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    fresh: bool = False,
    field_map: Mapping[str, str] = {},
    progress: Progress | None = None,
    on_start: Progress | None = None,
) -> IndexReport:
    """Bring the index up to date with the articles under `paths` (see the module doc).

    New and changed articles are written, those whose files left an indexed folder are
    removed; `fresh` starts from an empty index instead (a rebuild). `on_start(n)` is told
    about how many articles will be read, `progress(1)` after each one.
    """
    paths = list(paths)
    check_field_map(field_map)
    # The index folder may lie inside a corpus folder: its files are not articles.
    found = list(find_article_files(paths, exclude=[index_dir]))
    sources = [item for item in found if isinstance(item, SourceFile)]
    folders = [Path(path_key(path)) for path in paths if path.is_dir()]
    with write_lock(index_dir):
        previous = _current_generation(index_dir)
        if previous and not fresh:
            open_index(index_dir)  # a damaged index is reported, not built upon
        base = index_dir / previous if previous and not fresh else None
        files = _read_manifest(base) if base else {}
        tally = _Tally(skipped=[item for item in found if isinstance(item, Skipped)])

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
                for source, print_ in changed:
                    known = files[source.key].articles if source.key in files else {}
                    items = parse_file(source, field_map, known)
                    writer.write_file(source.key, print_, items, progress)
                if not writer.owner:
                    where = ", ".join(printable(str(p)) for p in paths) or "the given paths"
                    raise CorpusError(
                        f"No article could be indexed from {where}; the index was left as it was."
                    )
            _write_manifest(generation, files)
    return tally.report(index_dir)


def _changed_files(
    sources: Iterable[SourceFile], files: Mapping[str, FileEntry],
    field_map: Mapping[str, str], tally: _Tally,
) -> tuple[list[tuple[SourceFile, str]], int]:
    """The files whose fingerprint is not the indexed one, and about how many articles they
    hold; unchanged files are counted in `tally` as they are."""
    changed, expected = [], 0
    for source in sources:
        try:
            found = survey(source, field_map)
        except UnreadableArticle as error:
            tally.skipped.append(Skipped(source.path, str(error)))
            continue
        entry = files.get(source.key)
        if entry and entry.fingerprint == found.fingerprint:
            tally.unchanged += len(entry.articles)
            tally.skipped.extend(Skipped(*skip) for skip in entry.skipped)
        else:
            changed.append((source, found.fingerprint))
            expected += found.articles
    return changed, expected


@contextmanager
def _next_generation(index_dir: Path, previous: str | None, base: Path | None):
    """(folder, Whoosh index) of a new generation, made current once the block completes
    and removed if it fails; the generation before `previous` goes."""
    _remove_generations(index_dir, keep=[previous])
    generation = Path(tempfile.mkdtemp(prefix=GENERATION_PREFIX, dir=index_dir))
    try:
        yield generation, _start_generation(generation, base)
        (generation / FORMAT).write_text(json.dumps({"analyzer": ANALYZER_VERSION}), "utf-8")
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
        if file.name not in (MANIFEST, FORMAT) and file.is_file() and not file.name.endswith("LOCK"):
            os.link(file, generation / file.name)
    return whoosh_index.open_dir(str(generation))


def rebuild(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    field_map: Mapping[str, str] = {},
    progress: Progress | None = None,
    on_start: Progress | None = None,
) -> IndexReport:
    """Index every article under `paths` into a fresh index that replaces the current one."""
    return update(paths, index_dir, fresh=True, field_map=field_map, progress=progress,
                  on_start=on_start)


def build(items: Iterable[Article | Skipped], index_dir: Path) -> IndexReport:
    """A fresh index of `items` (articles made by a program: benchmarks, tools)."""
    tally = _Tally()
    with write_lock(index_dir):
        with _next_generation(index_dir, _current_generation(index_dir), None) as (_, ix):
            with _Writer(ix, {}, tally) as writer:
                writer.write_file("", "", ((item, "") for item in items), None)
    return tally.report(index_dir)


def stats(index_dir: Path) -> IndexStats:
    """Documents, date range, sources and categories with counts, size and last update."""
    ix = open_index(index_dir)
    generation = index_dir / _current_generation(index_dir)
    try:
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
