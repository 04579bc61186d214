"""Article files → `Article`s: finding files, reading and decoding them, and handing each
to the parser of its format (`search.formats`). Whatever cannot be used is reported as
`Skipped` with the reason, and stops nothing: a bad file, a bad record in an export, a
named pipe or a device, a broken or looping symbolic link, a file of another kind.

Only regular files are opened, and never in a way that can block: their kind is checked
before they are opened (without O_NONBLOCK a named pipe with no writer blocks its reader
forever) and again once they are open, in case one was replaced in between. File names are
shown by `printable`, whatever bytes they hold; the files are opened by their real names.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import io
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from search.errors import CorpusError, UnreadableArticle
from search.formats import decode_line, printable
from search.formats.html import NoArticleInPage, parse_html
from search.formats.records import FIELDS, json_records, jsonl_records, parse_records
from search.formats.text import parse_text
from search.models import Article, Skipped, Unchanged
from search.stretches import Read, Reused, Stretch, StretchReader, survey_stretches

ARTICLE_SUFFIXES = frozenset({".txt", ".html", ".htm", ".jsonl", ".json"})
EXPECTED = f"expected {', '.join(sorted(ARTICLE_SUFFIXES))}"
# Control characters (Unicode category Cc) other than tab, newline, form feed and return:
# more than 1 % of a file's opening means it is not text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
BINARY_SAMPLE_CHARS = 100_000
# Byte order marks, the longer first: UTF-32 LE's begins with UTF-16 LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
CHUNK_BYTES = 1 << 18
# A `.txt` or `.html` file is one article, read whole, and a page is parsed into a tree
# several times its size: a file beyond this is not an article (a log, a dump) and would
# cost gigabytes of memory. Exports (`.jsonl`) are read a record at a time, without limit.
ARTICLE_MAX_BYTES = 64 << 20
# Bumped when parsing changes, so that `search index` reads every file again.
PARSER_VERSION = "5"


@dataclass(frozen=True)
class SourceFile:
    """An article file found under a corpus root (ids are relative to the root)."""

    file: Path
    root: Path

    @property
    def key(self) -> str:
        """The file's absolute path: what the index remembers it by."""
        return path_key(self.file)

    @property
    def path(self) -> str:
        """The file's name as given, printable: what reports show."""
        return printable(str(self.file))

    @property
    def id(self) -> str:
        return printable(self.file.relative_to(self.root).as_posix())


def path_key(path: Path) -> str:
    """The absolute path, links resolved, that the index knows a file or folder by
    (printable, as the index's `files.json` must be valid UTF-8)."""
    return printable(os.path.realpath(path))


@dataclass(frozen=True)
class Survey:
    """What is known of a file before parsing it."""

    fingerprint: str
    size: int  # bytes, what a progress bar counts: the time to read a file grows with them


def decode(data: bytes) -> str:
    """The text of a whole file: by its byte order mark (UTF-16 or UTF-32), else each line
    by itself (`decode_line`; a UTF-8 mark is dropped); binary and empty files are refused."""
    text = _text_of(data)
    if not text.strip():
        raise UnreadableArticle("empty file")
    return text


def _text_of(data: bytes) -> str:
    encoding, bom = _bom(data)
    data = data[len(bom):]
    if encoding not in (None, "utf-8"):
        text = data.decode(encoding, errors="replace")
    elif b"\x00" in data:
        raise UnreadableArticle("binary file")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "".join(decode_line(line) for line in data.splitlines(keepends=True))
    sample = text[:BINARY_SAMPLE_CHARS]
    if len(_CONTROLS.findall(sample)) > max(2, len(sample) // 100):
        raise UnreadableArticle("binary file")
    return text


def _bom(data: bytes) -> tuple[str | None, bytes]:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding, bom
    return None, b""


def check_field_map(field_map: Mapping[str, str]) -> None:
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise CorpusError(
            f"Unknown field '{unknown[0]}' in --map; fields are: {', '.join(FIELDS)}."
        )


def unsupported(file: Path) -> str | None:
    """Why `file` is not read, if its name is not an article file's."""
    suffix = file.suffix.lower()
    if suffix in ARTICLE_SUFFIXES:
        return None
    if not suffix:
        return f"unsupported file type (no extension; {EXPECTED})"
    return f"unsupported file type {printable(file.suffix)} ({EXPECTED})"


@contextmanager
def open_article(source: SourceFile) -> Iterator[BinaryIO]:
    """The file opened for reading, checked to be a regular file once open (it may have
    been replaced since it was found); any error reading it is an `UnreadableArticle`."""
    try:
        fd = os.open(source.file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        raise UnreadableArticle(_cannot_read(error)) from None
    try:
        kind = _not_regular(os.fstat(fd).st_mode)
    except OSError as error:
        kind = _cannot_read(error)
    if kind:
        os.close(fd)
        raise UnreadableArticle(kind)
    os.set_blocking(fd, True)  # a regular file: reads as usual, on any file system
    with open(fd, "rb", buffering=CHUNK_BYTES) as stream:
        try:
            yield stream
        except OSError as error:
            raise UnreadableArticle(_cannot_read(error)) from None


def _cannot_read(error: OSError) -> str:
    return f"cannot read: {error.strerror or error}"


_KINDS = (
    (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
)


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "of an unknown kind")
    return f"not a regular file ({kind})"


def survey(source: SourceFile, field_map: Mapping[str, str] = {},
           stretches: Sequence[Stretch] = ()) -> Survey:
    """The file's fingerprint, hashed a chunk at a time (memory does not grow with the
    file), and its size. An export indexed in `stretches` is hashed as they cut it, its
    fingerprint that of `search.stretches.fingerprint_of` if its bytes are as they were."""
    with open_article(source) as stream:
        encoding, bom = _bom(stream.read(len(BOMS[0][0])))
        if stretches and encoding in (None, "utf-8"):
            stream.seek(len(bom))
            found = survey_stretches(stream, stretches, _reading_of(field_map))
            return Survey(found, os.fstat(stream.fileno()).st_size)
        stream.seek(0)
        digest = _digest()
        size = 0
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return Survey(_finish(digest, field_map), size)


# A file modified this recently is hashed whatever its times say: another write in the
# same tick of the file system's clock would leave them as they are.
RECENT_NS = 2_000_000_000


def stat_key(source: SourceFile, field_map: Mapping[str, str] = {}) -> str | None:
    """What changes whenever the file may have, read without reading the file: its size,
    modification and change times, inode and device, with the field map and the parser
    version (as `fingerprint`). None for a file modified in the last RECENT_NS, or that
    cannot be examined: then only its fingerprint says whether it changed."""
    try:
        found = os.stat(source.file)
    except OSError:
        return None
    if time.time_ns() - max(found.st_mtime_ns, found.st_ctime_ns) < RECENT_NS:
        return None
    digest = _digest()
    digest.update(repr((found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino,
                        found.st_dev)).encode())
    return _finish(digest, field_map)


def fingerprint(data: bytes | str, field_map: Mapping[str, str]) -> str:
    """What articles read from `data` depend on: it, the field map and the parser version."""
    return _fingerprint(data, _reading_of(field_map))


def _fingerprint(data: bytes | str, reading: bytes) -> str:
    """`fingerprint`, given `_reading_of` its field map (made once for every record of a file)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    digest = _blake2b(data, digest_size=16)  # a record of an export at a time: kept lean
    digest.update(reading)
    return digest.hexdigest()


def _digest():
    return _blake2b(digest_size=16)


_blake2b = hashlib.blake2b


def _reading_of(field_map: Mapping[str, str]) -> bytes:
    """How a file is read, as every fingerprint ends: the parser version and the field map."""
    return repr((PARSER_VERSION, sorted(field_map.items()))).encode()


def _finish(digest, field_map: Mapping[str, str]) -> str:
    digest.update(_reading_of(field_map))
    return digest.hexdigest()


def parse_file(
    source: SourceFile, field_map: Mapping[str, str] = {}, known: Mapping[str, str] = {},
    progress: Callable[[int], None] | None = None, stretches: Sequence[Stretch] | None = None,
    accepts: Callable[[int], bool] = lambda index: True,
) -> Iterator[tuple[Article | Skipped | Unchanged | Read | Reused, str]]:
    """The articles of one file, by its format, each with the fingerprint of its source
    text; what cannot be used is `Skipped`. A record of an export whose fingerprint
    `known` (id → fingerprint) has comes as `Unchanged`, without being parsed.
    `progress(n)` is told of the file's bytes as they are read and parsed: an export's
    record by record, another file whole, once parsed. Given `stretches` (those the index
    has, or none), a `.jsonl` export in UTF-8 comes with the marks of `search.stretches`
    between its records: the stretches of lines read, and those of the given ones found
    as they were and that `accepts(index)`, whose lines are not read.

    A `.jsonl` export is read a line at a time; a `.json` list is read whole (one JSON
    value), but decoded an element at a time; `.txt` and `.html` are read whole, up to
    ARTICLE_MAX_BYTES."""
    path, suffix = source.path, source.file.suffix.lower()
    problem = unsupported(source.file)
    if problem:
        yield Skipped(path, problem), ""
        return
    reading = _reading_of(field_map)
    records = dict(id=source.id, path=path, field_map=field_map, known=known,
                   fingerprint=lambda raw: _fingerprint(raw, reading))
    read = _BytesRead(progress)
    try:
        with open_article(source) as stream:
            read.size = os.fstat(stream.fileno()).st_size
            if suffix == ".jsonl":
                found = False
                lines = byte_lines(stream, stretches, reading, accepts)
                for item in parse_records(jsonl_records(lines, path), **records):
                    found = found or _gives_records(item[0], stretches)
                    read.up_to(stream.tell())
                    yield item
                if not found:
                    raise UnreadableArticle("empty file")
                return
            limit = None if suffix == ".json" else ARTICLE_MAX_BYTES
            data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise UnreadableArticle(
                f"too large for one article (over {limit >> 20} MB): not read")
        text = decode(data)
        if suffix == ".json":
            yield from parse_records(json_records(text, path), **records)
            return
        parse = parse_html if suffix in (".html", ".htm") else parse_text
        article = parse(text, id=source.id, path=path)
        if not article.body:
            raise UnreadableArticle("no article text")
        read.up_to(read.size)
        yield article, fingerprint(data, field_map)
    except (UnreadableArticle, NoArticleInPage) as error:
        read.up_to(read.size)
        yield Skipped(path, str(error), whole_file=True), ""
    finally:
        read.up_to(read.size)


class _BytesRead:
    """Tells `progress` of a file's bytes as they are read, each byte once."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.done = 0
        self.size = 0

    def up_to(self, position: int) -> None:
        if self.progress and position > self.done:
            self.progress(position - self.done)
            self.done = position


def _gives_records(item, stretches: Sequence[Stretch] | None) -> bool:
    """Whether an item of an export says it holds a record: a mark of stretches read
    does not, a reused one if its stretch held some (not only blank lines)."""
    if isinstance(item, Reused):
        return stretches[item.index].gave_records
    return not isinstance(item, Read)


def byte_lines(stream: BinaryIO, stretches: Sequence[Stretch] | None = None,
               reading: bytes = b"",
               accepts: Callable[[int], bool] = lambda index: True,
               ) -> Iterator[bytes | Read | Reused]:
    """The lines of an open text file, one at a time, as bytes to decode each by itself
    (`decode_line`): as they are, or in stretches if `stretches` are given
    (`search.stretches.StretchReader`: those read as `reading` skipped where they are
    unchanged and `accepts` them), or re-encoded in UTF-8 from the encoding the file's
    byte order mark names, without stretches. A binary file is refused from its opening."""
    head = stream.read(BINARY_SAMPLE_CHARS)
    _text_of(head)  # refuses a binary file
    encoding, bom = _bom(head)
    stream.seek(len(bom))
    if encoding not in (None, "utf-8"):
        for line in io.TextIOWrapper(stream, encoding, errors="replace", newline="\n"):
            yield line.encode("utf-8")
    elif stretches is None:
        yield from stream
    else:
        yield from StretchReader(stream, stretches, reading, accepts)


def read_article(file: Path, root: Path) -> Article:
    """Read and parse one single-article file; raises `UnreadableArticle` with the reason."""
    [(item, _)] = parse_file(SourceFile(file, root))
    if isinstance(item, Skipped):
        raise UnreadableArticle(item.reason)
    return item


def find_article_files(
    paths: Iterable[Path], exclude: Iterable[Path] = ()
) -> Iterator[SourceFile | Skipped]:
    """Every article file under `paths`, in a stable order, and `Skipped` for every other
    thing found there, with the reason.

    A folder is walked recursively, following symbolic links; hidden entries (`.name`) are
    passed over silently, the rest reported: a file of another kind, a named pipe, socket
    or device, a broken link, a link that loops (to itself, or to a folder it is in). A
    file reached twice (a folder and a file in it, two links, two hard links) is yielded
    once, a folder reached twice walked once. Folders in `exclude` (an index kept inside
    a corpus folder) are not walked, nor files named in them.
    """
    yield from _Walk(exclude).paths(paths)


class _Walk:
    """One walk: what it has seen, by (device, inode)."""

    def __init__(self, exclude: Iterable[Path]) -> None:
        self.files: set[tuple[int, int]] = set()
        self.folders: set[tuple[int, int]] = set()
        self.excluded = [Path(os.path.realpath(folder)) for folder in exclude]

    def paths(self, paths: Iterable[Path]) -> Iterator[SourceFile | Skipped]:
        for path in paths:
            status = yield from self._stat(path, named=True)
            if status is None or self._is_excluded(path):
                continue
            if stat.S_ISDIR(status.st_mode):
                yield from self._folder(path, status)
            else:
                yield from self._file(path, path.parent, status)

    def _stat(self, path: Path, named: bool) -> Iterator[Skipped]:
        """(A generator returning) the status of what `path` leads to, or None and a
        `Skipped` if it leads nowhere."""
        try:
            return os.stat(path)
        except FileNotFoundError:
            if os.path.lexists(path):
                yield Skipped(printable(str(path)),
                              "broken symbolic link (its target does not exist)")
            elif named:
                raise CorpusError(f"No such file or folder: {printable(str(path))}") from None
        except OSError as error:
            reason = "symbolic link loop" if error.errno == errno.ELOOP else _cannot_read(error)
            yield Skipped(printable(str(path)), reason)
        return None

    def _is_excluded(self, path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return any(real.is_relative_to(folder) for folder in self.excluded)

    def _folder(self, root: Path, status: os.stat_result) -> Iterator[SourceFile | Skipped]:
        """The folder's files, depth first in name order, without recursion (a tree can be
        deeper than Python's stack)."""
        if _identity(status) in self.folders:
            return
        self.folders.add(_identity(status))
        ancestors = [_identity(status)]
        listings = [_listing(root)]
        while listings:
            entry = next(listings[-1], None)
            if entry is None:
                listings.pop()
                ancestors.pop()
            elif isinstance(entry, Skipped):
                yield entry
            else:
                status = yield from self._stat(entry, named=False)
                if status is None:
                    continue
                if not stat.S_ISDIR(status.st_mode):
                    yield from self._file(entry, root, status)
                elif _identity(status) in ancestors:
                    yield Skipped(printable(str(entry)),
                                  "symbolic link loop (to a folder that contains it)")
                elif _identity(status) not in self.folders and not self._is_excluded(entry):
                    self.folders.add(_identity(status))
                    ancestors.append(_identity(status))
                    listings.append(_listing(entry))

    def _file(
        self, file: Path, root: Path, status: os.stat_result
    ) -> Iterator[SourceFile | Skipped]:
        if _identity(status) in self.files:
            return
        self.files.add(_identity(status))
        problem = _not_regular(status.st_mode) or unsupported(file)
        yield Skipped(printable(str(file)), problem) if problem else SourceFile(file, root)


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _listing(folder: Path) -> Iterator[Path | Skipped]:
    """The folder's entries but hidden ones, in name order, or `Skipped` if it cannot be read."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as error:
        yield Skipped(printable(str(folder)), f"cannot read the folder: {error.strerror or error}")
        return
    yield from (folder / name for name in names if not name.startswith("."))


def load_articles(
    files: Iterable[SourceFile | Skipped], field_map: Mapping[str, str] = {}
) -> Iterator[Article | Skipped]:
    """Each file's articles, or `Skipped` with the reason."""
    for source in files:
        if isinstance(source, Skipped):
            yield source
        else:
            yield from (item for item, _ in parse_file(source, field_map))
