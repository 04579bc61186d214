"""The index folder: its generations, the pointer to the current one, the write lock,
checksums, readers' leases, and what can be read of it as a whole (stats, check).

Layout of an index folder:
    CURRENT      the name of the generation that readers open (replaced atomically)
    gen-*/       one complete Whoosh index per generation, with its `files.json`,
                 `format.json`, `checksums.json` and `readers.lock`, and beside each
                 segment a forms file (`FORMS_SUFFIX`) and, where it has long posting
                 lists, a file of them (`whoosh_fast.lists`)
    write.lock   held by the one process allowed to write

Every write makes a new generation and switches `CURRENT` to it only once it is complete,
so a process killed at any moment (SIGKILL included) leaves the previous index whole, and
readers always see one consistent generation. An update starts from hard links to the
current generation's files: Whoosh never rewrites a file, it adds segments and a new table
of contents, so the old generation stays intact for its readers. The replaced generation is
kept until the next write, and any generation a reader holds until it is released.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import re
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filetables import FileFormatError
from whoosh.reading import CorruptIndexError

from search.analysis import ANALYZER_VERSION
from search.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexOutdatedError,
    IndexWriteError,
    SearchError,
)
from search.models import Count, IndexCheck, IndexStats
from search.schema import DEFAULT_FIELDS, SCHEMA_VERSION, SEARCHABLE_FIELDS, build_schema
from search.stretches import Stretch
from search.surface import surface_field
from search.whoosh_fast.reading import MappedStorage, misfit_columns, without_stored_fields

CURRENT = "CURRENT"


LOCK = "write.lock"


MANIFEST = "files.json"


FORMAT = "format.json"  # the analyzer version whose terms the generation holds


CHECKSUMS = "checksums.json"  # size and digest of every other file of the generation


READERS = "readers.lock"  # shared-locked by readers: the generation is not deleted under them


GENERATION_PREFIX = "gen-"


_GENERATION_NAME = re.compile(r"\Agen-[A-Za-z0-9_]+\Z")


# Beside each segment, written with it: the terms of the surface fields that "did you mean"
# draws on (`FORM_FIELDS`), as text, in order. From Whoosh's term files they cost a Python
# call a term at each query of few hits (0.4 s at a million articles); a segment's file is
# shared by the generations that keep the segment, and goes with it (Whoosh removes the
# files named after a segment it no longer has).
FORMS_SUFFIX = ".forms.json"
FORM_FIELDS = tuple(surface_field(name) for name in DEFAULT_FIELDS)
# The fields a quoted phrase is matched in (words as written): the long lists of a
# segment keep their positions there.
PHRASE_FIELDS = frozenset(surface_field(name) for name in SEARCHABLE_FIELDS)


# Files of a generation that are its own, never shared with the next one by a hard link.
_OWN_FILES = frozenset({MANIFEST, FORMAT, CHECKSUMS, READERS})


LOCK_WAIT_SECONDS = 3.0


# What Whoosh raises when its files are truncated, garbled or missing (its own
# `whoosh.index.IndexError` covers an empty folder and a garbled table of contents,
# `FileFormatError` a term file whose header is not one).
CORRUPTION_ERRORS = (
    OSError, EOFError, struct.error, pickle.UnpicklingError, zlib.error,
    ValueError, KeyError, IndexError, whoosh_index.IndexError, FileFormatError,
)


def default_index_dir() -> Path:
    """The index's folder when neither `--index` nor SEARCH_INDEX names one: the user's
    data folder (XDG Base Directory: `$XDG_DATA_HOME`, absolute, else `~/.local/share`),
    the same wherever the command runs."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(data_home):  # the specification: a relative path is ignored
        data_home = os.path.join(Path.home(), ".local", "share")
    return Path(data_home) / "search" / "index"


def show_folder(index_dir: Path) -> str:
    return f"{index_dir}{os.sep}"


def damaged(index_dir: Path, reason: BaseException | str) -> IndexCorruptError:
    if isinstance(reason, BaseException):
        reason = type(reason).__name__
    return IndexCorruptError(
        f"The index in {show_folder(index_dir)} is damaged ({reason}). "
        "Run `search rebuild` to rebuild it."
    )


def current_generation(index_dir: Path) -> str | None:
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
            raise damaged(index_dir, f"no {CURRENT} file")
        if index_dir.exists() and not index_dir.is_dir():
            raise IndexMissingError(
                f"{index_dir} is a file, not an index folder: name another folder with --index."
            )
        raise IndexMissingError(
            f"No index in {show_folder(index_dir)}: run `search index PATH...` first.")
    name = current_generation(index_dir)
    if name is None:
        raise damaged(index_dir, f"its {CURRENT} file is garbled")
    generation = index_dir / name
    if not generation.is_dir():
        raise damaged(index_dir, f"{CURRENT} names {name}, which is missing")
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
            if current_generation(index_dir) == generation.name and generation.is_dir():
                return generation, ReadLease()  # written before readers' locks existed
            continue
        except OSError as error:
            raise damaged(index_dir, f"{READERS}: {error.strerror}") from None
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
        f"The index in {show_folder(index_dir)} changed too often to be opened; try again."
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
    def outdated(which: str = "analyzed words") -> IndexOutdatedError:
        return IndexOutdatedError(
            f"The index in {show_folder(index_dir)} was built by an older version of search, "
            f"which {which} differently. Run `search rebuild` to rebuild it.")

    problem = _cheap_check(generation)
    if problem:
        raise damaged(index_dir, problem)
    try:
        ix = MappedStorage(str(generation)).open_index()  # read in place, not copied
        with ix.reader() as reader:
            reader.doc_count()
            missing = without_stored_fields(reader)
    except (AttributeError, ImportError):
        # The pickled schema names analyzer classes this version no longer has.
        raise outdated() from None
    # A garbled pickle: a TypeError, or a MemoryError when its lengths ask for more than
    # there is (opening reads only a segment's directory and the small files).
    except (*CORRUPTION_ERRORS, TypeError, MemoryError) as error:
        raise damaged(index_dir, error) from None
    if missing:
        raise damaged(index_dir, f"segment {missing[0]} has no stored fields")
    found = _format(generation)
    if found.get("analyzer") != ANALYZER_VERSION:
        raise outdated()
    if found.get("schema", 1) != SCHEMA_VERSION:
        raise outdated("stored articles")
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
    return next(_file_problems(generation, recorded,
                               digested=lambda name: name == FORMAT or name.endswith(".toc")),
                None)


def _file_problems(generation: Path, recorded: Mapping[str, tuple[int, str]],
                   digested: Callable[[str], bool]) -> Iterator[str]:
    """Each recorded file that is missing, not a file, of another size, or (for those
    `digested` names) of another digest than recorded."""
    for name, (size, digest) in sorted(recorded.items()):
        file = generation / name
        if not file.is_file():
            yield f"{name} is missing or not a file"
        elif (found := file.stat().st_size) != size:
            yield f"{name} has {found:,} bytes, {size:,} expected"
        elif digested(name) and _digest(file) != digest:
            yield f"{name} has changed since it was written"


def record_checksums(generation: Path, base: Path | None) -> None:
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
    if _holds_other_files(index_dir):
        raise IndexWriteError(
            f"{show_folder(index_dir)} holds files and no index: name an empty or new folder "
            "with --index, so that nothing of yours is mixed with the index's files."
        )
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir / LOCK
    if lock_path.is_symlink() or lock_path.exists() and not lock_path.is_file():
        if not repair:
            raise damaged(index_dir, f"{LOCK} is not a file")
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
                        f"Another process is writing to the index in {show_folder(index_dir)}; "
                        "try again when it has finished."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _holds_other_files(index_dir: Path) -> bool:
    """Whether `index_dir` is a folder with something in it and nothing of an index (a
    `--index` naming the wrong folder: writing there would mix the index with its files)."""
    try:
        names = [entry.name for entry in os.scandir(index_dir)]
    except (FileNotFoundError, NotADirectoryError):
        return False
    ours = (CURRENT, LOCK, READERS)
    return bool(names) and not any(name in ours or name.startswith(GENERATION_PREFIX)
                                   for name in names)


def fsync_tree(folder: Path) -> None:
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


def switch_current(index_dir: Path, generation: str) -> None:
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
    """What the index holds from one file: its fingerprint ("" when it was not hashed
    whole), its articles' hashes, the field map it is read with (remembered, so that a
    later run reads it the same way), what its metadata was (`quick`, `size`), and, for
    an export, its stretches of lines (`search.stretches`), which hold its articles in order."""

    fingerprint: str
    articles: dict[str, str] = field(default_factory=dict)  # id → hash, in the file's order
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why), told again
    field_map: dict[str, str] = field(default_factory=dict)
    # The file's `ingest.stat_key` when it had this fingerprint: the same key again says
    # it is unchanged without hashing it (None: hash it).
    quick: str | None = None
    # Its size in bytes then (None in manifests written before it was kept): another
    # size says it changed without hashing it.
    size: int | None = None
    stretches: list[Stretch] = field(default_factory=list)

    def to_json(self) -> dict:
        """The entry as JSON values. The articles are a list of two strings of lines, ids
        and hashes: a million articles read back in a fraction of a second, where an
        object of a million keys took more than one (no id or hash holds a line break:
        ids are `printable`; an entry where one would is written as an object)."""
        data = vars(self) | {"stretches": [stretch.as_list() for stretch in self.stretches]}
        ids, prints = "\n".join(self.articles), "\n".join(self.articles.values())
        if self.articles and ids.count("\n") == prints.count("\n") == len(self.articles) - 1:
            data["articles"] = [ids, prints]
        return data

    @classmethod
    def from_json(cls, data: object) -> FileEntry:
        """Raises ValueError if `data` is not what `to_json` writes (or wrote before)."""
        try:
            entry = cls(**data)
            if isinstance(entry.articles, list):  # [ids, hashes]; before, an object
                ids, prints = (lines.split("\n") for lines in entry.articles)
                entry.articles = dict(zip(ids, prints, strict=True))
                if len(entry.articles) != len(ids):
                    raise ValueError("an id listed twice")
            entry.stretches = [Stretch.from_list(values) for values in entry.stretches]
        except (AttributeError, TypeError, ValueError) as error:
            raise ValueError(f"{MANIFEST} is garbled") from error
        if not _well_formed(entry):
            raise ValueError(f"{MANIFEST} is garbled")
        return entry


def read_manifest(generation: Path) -> dict[str, FileEntry]:
    """The generation's `files.json`; raises ValueError if it is garbled."""
    try:
        data = json.loads((generation / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{MANIFEST} is garbled")
    return {str(key): FileEntry.from_json(entry) for key, entry in data.items()}


def _well_formed(entry: FileEntry) -> bool:
    """Whether a manifest entry has the types it is written with (JSON can hold others),
    and stretches that account for its articles."""
    return (isinstance(entry.fingerprint, str)
            and isinstance(entry.quick, str | None)
            and (entry.size is None or type(entry.size) is int)
            and isinstance(entry.articles, dict)  # JSON's keys are strings; its values:
            and set(map(type, entry.articles.values())) <= {str}
            and isinstance(entry.skipped, list)
            and all(isinstance(s, list) and len(s) == 2 for s in entry.skipped)
            and isinstance(entry.field_map, dict)
            and all(isinstance(k, str) and isinstance(v, str)
                    for k, v in entry.field_map.items())
            and (not entry.stretches
                 or sum(stretch.articles for stretch in entry.stretches) == len(entry.articles)))


def indexed_ids(files: Mapping[str, FileEntry]) -> set[str]:
    """Every article id a manifest lists."""
    return set().union(*(entry.articles.keys() for entry in files.values()))


def owners(files: Mapping[str, FileEntry]) -> dict[str, str]:
    """The file (its key) of every article id a manifest lists."""
    owner: dict[str, str] = {}
    for key, entry in files.items():
        owner.update(dict.fromkeys(entry.articles, key))
    return owner


def write_manifest(generation: Path, files: Mapping[str, FileEntry]) -> None:
    """ASCII JSON: a file name that is not UTF-8 (its bytes as lone surrogates) is kept
    as `\\udcff` escapes and read back as it was."""
    data = {key: entry.to_json() for key, entry in files.items()}
    (generation / MANIFEST).write_bytes(json.dumps(data).encode("ascii"))


@contextmanager
def next_generation(index_dir: Path, previous: str | None, base: Path | None,
                    on_stage: Callable[[str], None] | None = None):
    """(folder, Whoosh index) of a new generation, made current once the block completes
    and removed if it fails; the generation before `previous` goes, unless read.
    `on_stage(what)` says what follows the block: the files beside the new segments (a
    minute or two for a million articles), then the checksums."""
    say = on_stage or (lambda what: None)
    _remove_generations(index_dir, keep=[previous])
    generation = Path(tempfile.mkdtemp(prefix=GENERATION_PREFIX, dir=index_dir))
    try:
        (generation / READERS).touch()
        yield generation, _start_generation(generation, base)
        say("Writing the word lists beside the new segments")
        write_segment_files(generation)
        say("Recording checksums and switching to the new generation")
        (generation / FORMAT).write_text(
            json.dumps({"analyzer": ANALYZER_VERSION, "schema": SCHEMA_VERSION,
                        "checksums": True}), "utf-8")
        record_checksums(generation, base)
        fsync_tree(generation)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    # Once CURRENT may name it, the generation is never removed here, whatever happens.
    switch_current(index_dir, generation.name)
    # The replaced generation stays for readers that opened it; older ones go.
    _remove_generations(index_dir, keep=[generation.name, previous])


def _forms_file(folder: Path | None, segment_reader) -> Path | None:
    """The forms file of a segment's reader; None for the reader of an empty index, or of
    an index that is not in a folder."""
    if folder is None or not hasattr(segment_reader, "segment"):
        return None
    return folder / f"{segment_reader.segment().segment_id()}{FORMS_SUFFIX}"


def write_segment_files(folder: Path) -> None:
    """The forms file (`FORMS_SUFFIX`) and the long lists (`lists.LISTS_SUFFIX`, where it
    has any) of each segment of the index in `folder` that has no forms file: those this
    generation wrote (the others' came with them from the generation before). The
    segments are read in place: Whoosh's own storage, which the writer of a new index has,
    would copy each whole into memory (171 MB for 30,000 articles)."""
    from search.whoosh_fast import lists  # numpy, which a query process loads only if needed

    storage = MappedStorage(str(folder))
    with storage.open_index().reader() as reader:
        for leaf, _ in reader.leaf_readers():
            target = _forms_file(folder, leaf)
            if target is not None and not target.exists():
                target.write_text(json.dumps(_read_forms(leaf), ensure_ascii=False), "utf-8")
                lists.write(lists.lists_file(folder, leaf), leaf, positions_in=PHRASE_FIELDS,
                            release_pages=storage.release_pages)


def _read_forms(segment_reader) -> dict[str, list[str]]:
    """The terms of each of `FORM_FIELDS` in a segment's term file, as text."""
    return {name: [text.decode() for text in _segment_terms(segment_reader, name)]
            for name in FORM_FIELDS}


def _segment_terms(segment_reader, fieldname: str) -> Iterator[bytes]:
    """A segment's terms of a field, in order (what a garbled term file would give)."""
    return segment_reader.lexicon(fieldname)


def segment_forms(folder: Path | None, segment_reader) -> dict[str, list[str]]:
    """The terms of each of `FORM_FIELDS` in a segment, as text, in order: from its forms
    file, or from its term file where it has none (a generation written before them)."""
    path = _forms_file(folder, segment_reader)
    try:
        data = path.read_bytes() if path is not None else None
    except FileNotFoundError:
        data = None
    if data is None:
        return _read_forms(segment_reader)
    try:
        forms = json.loads(data.decode())  # bytes that are not UTF-8: a read error as such
    except json.JSONDecodeError:
        forms = None
    if not isinstance(forms, dict) or not all(
            isinstance(forms.get(name), list) for name in FORM_FIELDS):
        raise CorruptIndexError(f"{path.name} does not list the forms of each field")
    return forms


def _start_generation(generation: Path, base: Path | None):
    """A Whoosh index in `generation`: empty, or sharing the files of `base` by hard links."""
    if base is None:
        return whoosh_index.create_in(str(generation), build_schema())
    for file in base.iterdir():
        if file.name not in _OWN_FILES and file.is_file() and not file.name.endswith("LOCK"):
            os.link(file, generation / file.name)
    # Read in place: Whoosh's own storage copies every segment into memory when the
    # writer opens them (to delete an updated article's old version), 400 MB and 1 s at
    # 36k articles for a one-article update.
    return MappedStorage(str(generation)).open_index()


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
            files = read_manifest(generation)
            with ix.searcher() as searcher:
                dates = list(searcher.lexicon("date"))
                return IndexStats(
                    index_dir=str(index_dir),
                    documents=searcher.doc_count(),
                    first_date=dates[0].decode() if dates else None,
                    last_date=dates[-1].decode() if dates else None,
                    sources=_source_counts(searcher),
                    categories=_counts(searcher, "category_key"),
                    size_bytes=sum(f.stat().st_size for f in generation.iterdir()),
                    updated_at=(index_dir / CURRENT).stat().st_mtime,
                    field_maps=tuple((key, entry.field_map) for key, entry in sorted(files.items())
                                     if entry.field_map),
                )
        except CORRUPTION_ERRORS as error:
            raise damaged(index_dir, error) from None


def _counts(searcher, fieldname: str) -> tuple[Count, ...]:
    """Live documents per term of an ID field, most first (deleted ones not counted)."""
    counts = [Count(term, live) for term, live in _live_terms(searcher, fieldname)]
    return tuple(sorted(counts, key=lambda c: (-c.documents, c.label)))


def _live_terms(searcher, fieldname: str) -> Iterator[tuple[str, int]]:
    """Each term of an ID field with its live documents (deleted ones not counted)."""
    for term in searcher.lexicon(fieldname):
        live = sum(1 for _ in searcher.postings(fieldname, term).all_ids())
        if live:
            yield term.decode(), live


def _source_counts(searcher) -> tuple[Count, ...]:
    """Each source's key with its documents and the display name most of them give it."""
    names: dict[str, list[tuple[int, str]]] = {}
    for label, live in _live_terms(searcher, "source_label"):
        key, _, name = label.partition("\t")
        names.setdefault(key, []).append((live, name))
    counts = [Count(key, sum(live for live, _ in found),
                    min(found, key=lambda pair: (-pair[0], pair[1]))[1])
              for key, found in names.items()]
    return tuple(sorted(counts, key=lambda c: (-c.documents, c.label)))


def check(index_dir: Path) -> IndexCheck:
    """Everything that can be verified about the index: `CURRENT`, the lock, the size and
    digest of every file of the current generation, then every stored article and posting
    read through Whoosh, and the list of indexed files against the articles."""
    try:
        generation, lease = _lease(index_dir)  # not deleted by writes while it is checked
    except IndexCorruptError as error:
        return IndexCheck(str(index_dir), None, 0, 0, (str(error),), _REBUILD_ADVICE)
    try:
        return _check_generation(index_dir, generation)
    finally:
        lease.release()


def _check_generation(index_dir: Path, generation: Path) -> IndexCheck:
    problems: list[str] = []
    for lock in (index_dir / LOCK, generation / READERS):
        if lock.exists() and not lock.is_file():
            problems.append(f"{lock.relative_to(index_dir)} is not a file")
    recorded = _read_checksums(generation)
    checked = 0
    if recorded is None:
        problems.append(f"{generation.name}: {CHECKSUMS} is missing or garbled")
    else:
        checked = len(recorded)
        problems.extend(f"{generation.name}/{problem}" for problem in
                        _file_problems(generation, recorded, digested=lambda name: True))
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
        files = read_manifest(generation)
        with ix.reader() as reader:
            for _ in reader.all_stored_fields():
                pass
            if misfit := misfit_columns(reader):
                raise damaged(index_dir, misfit[0])
            for _ in reader.column_reader("body") if reader.has_column("body") else ():
                pass
            for fieldname, text in reader.all_terms():
                for _ in reader.postings(fieldname, text).all_ids():
                    pass
            documents = reader.doc_count()
    except CORRUPTION_ERRORS as error:
        raise damaged(index_dir, error) from None
    listed = len(indexed_ids(files))
    if listed != documents:
        raise damaged(index_dir, f"{MANIFEST} lists {listed:,} articles, the index holds "
                                  f"{documents:,}")
    return documents
