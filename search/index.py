"""Updates: which articles to add, update, keep or remove, and writing them.

`files.json` remembers, for each indexed file, a fingerprint of its bytes, the hash of
each of its articles and the field map it is read with, and for an export its stretches
of lines (`search.stretches`): an unchanged file is not even parsed, and a changed export
reads again only the stretches that changed and updates only the articles that changed.
"""

from __future__ import annotations

import dataclasses
import errno
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from search.errors import (
    CorpusError,
    IndexMissingError,
    IndexWriteError,
    MassRemovalRefused,
    UnreadableArticle,
)
from search.formats import printable
from search.formats.records import LinePrint
from search.ingest import (
    SourceFile,
    check_field_map,
    find_article_files,
    parse_file,
    path_key,
    stat_key,
    survey,
)
from search.models import Article, IndexReport, Skipped, Unchanged
from search.schema import copy_fields, document_fields
from search.store import (
    FileEntry,
    current_generation,
    damaged,
    indexed_ids,
    next_generation,
    open_index,
    owners,
    read_manifest,
    show_folder,
    write_lock,
    write_manifest,
)
from search.stretches import Read, Reused, Stretch, fingerprint_of
from search.whoosh_fast.writer import new_writer

# A write that removes more than MASS_REMOVAL_ARTICLES articles, or more than
# MASS_REMOVAL_SHARE of the index when that is more than MASS_REMOVAL_FLOOR articles, is
# refused unless confirmed (`--yes`): a wrong path or option must not empty an archive.
MASS_REMOVAL_ARTICLES = 1000


MASS_REMOVAL_SHARE = 0.10


MASS_REMOVAL_FLOOR = 10


Progress = Callable[[int], None]
Stage = Callable[[str], None]


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


class _Writer:
    """Applies articles to a Whoosh writer, keeping `files.json` and the counts in step."""

    def __init__(self, ix, files: dict[str, FileEntry], tally: _Tally) -> None:
        self.writer = new_writer(ix)
        self.files = files
        self.tally = tally
        self.owner = owners(files)
        # An index built before copies were grouped has no field for them: it gets them
        # when it is rebuilt, and its articles are each a group of one until then.
        self.copies = "copy_bands" in ix.schema

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

    def _fields(self, article: Article) -> dict:
        fields = document_fields(article)
        if self.copies:
            fields.update(copy_fields(article))
        return fields

    def write_changes(self, gone: Iterable[str], changed: Iterable[ChangedFile],
                      paths: Iterable[Path], progress=None) -> None:
        """Removes the files `gone`, writes the articles of the files `changed`; refuses
        to leave an index without any article (the paths were likely wrong)."""
        for key in gone:
            self.remove_file(key)
        for found in changed:
            source = found.source
            entry = self.files.get(source.key)
            stretches = _Stretches(entry, source.path)
            items = parse_file(source, found.field_map, entry.articles if entry else {},
                               progress, entry.stretches if entry else [], stretches.accepts)
            self.write_file(source.key, source.id, found.fingerprint, items, found.field_map,
                            found.quick, found.size, stretches)
        if not self.owner:
            where = ", ".join(printable(str(p)) for p in paths) or "the given paths"
            raise CorpusError(
                f"No article could be indexed from {where}; the index was left as it was.")

    def remove_file(self, key: str) -> None:
        for article_id in self.files.pop(key).articles:
            self.writer.delete_by_term("id", article_id)
            del self.owner[article_id]
            self.tally.removed += 1

    def write_file(self, key: str, file_id: str, print_: str,
                   items: Iterable[tuple[Article | Skipped | Unchanged | Read | Reused, str]],
                   field_map: Mapping[str, str] = {}, quick: str | None = None,
                   size: int | None = None, stretches: _Stretches | None = None) -> None:
        """Write one file's articles, each with the fingerprint of its source text.

        An article whose id another file already has (a copy of an indexed export in
        another folder) takes an id made of the file's absolute path instead of its
        path from the corpus root. An unusable record or file that the index holds keeps
        its indexed version: only a file or record that is gone removes an article."""
        before = self.files.get(key)
        old = before.articles if before else {}
        new: dict[str, str] = {}
        skipped: list[Skipped] = []
        unread: Skipped | None = None
        stretches = stretches or _Stretches(before, key)
        stretches.watch(old, new, self.owner, key)
        for item, digest in items:
            if isinstance(item, Reused):
                self.tally.unchanged += stretches.reuse(item, new, skipped)
                continue
            if isinstance(item, Read):
                stretches.read(item.stretch, new)
                continue
            if isinstance(digest, LinePrint):
                stretches.numbered()
            if item.id is not None and self.owner.get(item.id, key) != key:
                item = _qualified(item, file_id, key)
                stretches.spoil()
            if isinstance(item, Skipped) and item.whole_file:
                stretches.unfinished = True
            if isinstance(item, Skipped) and item.whole_file and before:
                unread = item  # kept below with what the file did not give
                continue
            if isinstance(item, Skipped):
                kept = item.id is not None and item.id in old and item.id not in new
                stretches.skip(item, kept)
                if kept:
                    stretches.add(new, item.id, old[item.id])
                    self.tally.unchanged += 1
                    item = Skipped(item.path, item.reason + KEPT, item.id)
                skipped.append(item)
                continue
            if item.id in new or self.owner.get(item.id, key) != key:
                where = item.path if isinstance(item, Article) else key
                skipped.append(Skipped(where, f"another article already has the id {item.id}"))
                stretches.spoil()
                continue
            stretches.add(new, item.id, digest)
            if isinstance(item, Unchanged) or old.get(item.id) == digest:
                self.tally.unchanged += 1
            elif item.id in old:
                self.writer.update_document(**self._fields(item))
                self.tally.updated += 1
            else:
                self.writer.add_document(**self._fields(item))
                self.owner[item.id] = key
                self.tally.added += 1
        if unread is not None:
            # Not read to its end: nothing of it is removed, and it is read again next
            # time, whatever its fingerprint and file times then.
            kept = {article_id: old[article_id] for article_id in old.keys() - new.keys()}
            new.update(kept)
            self.tally.unchanged += len(kept)
            told = ("its indexed article is kept" if len(kept) == 1 else
                    f"its {len(kept):,} indexed articles not read this time are kept")
            skipped.append(dataclasses.replace(unread, reason=f"{unread.reason}; {told}"))
            print_, quick, size = "", None, None
        for article_id in old.keys() - new.keys():
            self.writer.delete_by_term("id", article_id)
            del self.owner[article_id]
            self.tally.removed += 1
        kept = [] if stretches.unfinished else stretches.kept
        self.files[key] = FileEntry(fingerprint_of(kept) if kept else print_, new,
                                    [(s.path, s.reason) for s in skipped], dict(field_map),
                                    quick, size, kept)
        self.tally.skipped.extend(skipped)


KEPT = "; its indexed version is kept"  # told of an unusable record whose article stays


class _Stretches:
    """The stretches of an export being written (`search.stretches`): each one reused
    with its articles as the manifest lists them, each one read with the articles its
    lines gave (every article of the file belongs to one stretch, in order). `path` is
    the file as named, where its skipped records are told."""

    def __init__(self, before: FileEntry | None, path: str) -> None:
        self.old = before.stretches if before else []
        self.path = path
        self._ids = list(before.articles) if self.old else []
        self._prints = list(before.articles.values()) if self.old else []
        self._starts = list(accumulate((s.articles for s in self.old), initial=0))
        self.kept: list[Stretch] = []
        self.unfinished = False  # the file was not read to its end: read it whole next time
        self._indexed: Mapping[str, str] = {}  # see `watch`
        self._written: Mapping[str, str] = {}
        self._owner: Mapping[str, str] = {}
        self._key = ""
        self._read: dict[str, str] = {}  # articles of the lines read: id → hash
        self._begun = 0  # articles written when the current stretch began
        self._skips: list[tuple[int, str, str, bool]] = []
        self._numbered = self._spoilt = False

    def watch(self, indexed: Mapping[str, str], written: Mapping[str, str],
              owner: Mapping[str, str], key: str) -> None:
        """The file's articles in the index and those written so far, and the file (its
        `key`) that holds each id (`_Writer.owner`)."""
        self._indexed, self._written, self._owner, self._key = indexed, written, owner, key

    def accepts(self, index: int) -> bool:
        """Whether the old stretch `index`, found as it was, gives now what it gave (the
        reader asks before skipping its lines): none of its ids is taken by a line read
        before it, and each of its skipped records with an id is still this file's and
        keeps its indexed version if, and only if, it did. (Old ids are unique and an
        old stretch is reused once: only a line read can have taken one. A skipped record
        claims no id: another file may have taken it since.)"""
        start = self._starts[index]
        ids = self._ids[start:start + self.old[index].articles]
        if self._read and not self._read.keys().isdisjoint(ids):
            return False
        return all(self._owner.get(article_id, self._key) == self._key
                   and (article_id in self._indexed and article_id not in self._written) == kept
                   for _, _, article_id, kept in self.old[index].skipped if article_id)

    def reuse(self, mark: Reused, new: dict[str, str], skipped: list[Skipped]) -> int:
        """Adds the reused stretch's articles to `new`, its skipped records to `skipped`,
        and returns how many articles."""
        old = self.old[mark.index]
        start = self._starts[mark.index]
        new.update(zip(self._ids[start:start + old.articles],
                       self._prints[start:start + old.articles], strict=True))
        skipped.extend(Skipped(f"{self.path}:{line}", why + KEPT if kept else why,
                               article_id or None)
                       for line, why, article_id, kept in old.skipped)
        self.kept.append(dataclasses.replace(old, first_line=mark.first_line))
        self._begin(new)
        return old.articles

    def read(self, stretch: Stretch, new: dict[str, str]) -> None:
        skips = tuple(self._skips)
        self.kept.append(dataclasses.replace(
            stretch, articles=len(new) - self._begun, skipped=skips,
            movable=not self._numbered and not skips,
            reusable=not self._spoilt))
        self._begin(new)

    def add(self, new: dict[str, str], article_id: str, print_: str) -> None:
        """An article of a line read (remembered if a stretch may be reused after it)."""
        new[article_id] = print_
        if self.old:
            self._read[article_id] = print_

    def skip(self, item: Skipped, kept: bool) -> None:
        """A record of the current stretch skipped, its indexed article `kept` or not."""
        path, _, line = item.path.rpartition(":")
        if path != self.path or not line.isdigit():
            self._spoilt = True
            return
        self._skips.append((int(line), item.reason, item.id or "", kept))

    def numbered(self) -> None:
        """A record of the current stretch is known by its line number."""
        self._numbered = True

    def spoil(self) -> None:
        """A record of the current stretch got another id than its own, or was skipped
        for an id another record has: what it gives depends on other lines."""
        self._spoilt = True

    def _begin(self, new: dict[str, str]) -> None:
        self._begun = len(new)
        self._skips = []
        self._numbered = self._spoilt = False


def _qualified(item: Article | Unchanged | Skipped, file_id: str,
               key: str) -> Article | Unchanged | Skipped:
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
    on_stage: Stage | None = None,
) -> IndexReport:
    """Bring the index up to date with the articles under `paths` (see the module doc).

    New and changed articles are written, those whose files left an indexed folder are
    removed; `fresh` starts from an empty index instead (a rebuild), whatever state the
    old one is in. A write that would remove many articles is refused unless
    `allow_removal` (see MASS_REMOVAL_ARTICLES). `field_map` applies to the exports
    among `paths` and is remembered for them; those it is not given for are read with
    the map they were indexed with. `on_start(n)` is told how many bytes of files will be
    read, `progress(n)` of each `n` read, and `on_stage(what)` of the work that follows
    the last article (merging segments, switching generations). A rebuild given no
    `paths` reads the files the index lists (`listed_files`).
    """
    paths = list(paths)
    check_field_map(field_map)
    gone_files: list[Skipped] = []
    if fresh and not paths:
        paths, gone_files = listed_files(_listed(index_dir), f"in {show_folder(index_dir)}")
    # The index folder may lie inside a corpus folder: its files are not articles.
    found = [*gone_files, *find_article_files(paths, exclude=[index_dir])]
    sources = [item for item in found if isinstance(item, SourceFile)]
    walk_skipped = [item for item in found if isinstance(item, Skipped)]
    folders = [Path(path_key(path)) for path in paths if path.is_dir()]
    try:
        with write_lock(index_dir, repair=fresh), fewer_collections():
            return _update_locked(paths, index_dir, sources, walk_skipped, folders, fresh,
                                  field_map, allow_removal, progress, on_start, on_stage)
    except OSError as error:
        raise _write_failed(index_dir, error) from None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cycle collector, run every 700 new containers as it is by default, walks
    the young ones each time, among them the lists of a million ids that a large
    export's manifest makes: 0.4 of the 3.1 s a one-change update took at a million
    articles. An update runs it every 100,000 instead."""
    threshold = gc.get_threshold()
    gc.set_threshold(UPDATE_COLLECTION_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


UPDATE_COLLECTION_THRESHOLD = 100_000


def _update_locked(paths, index_dir, sources, walk_skipped, folders, fresh, field_map,
                   allow_removal, progress, on_start, on_stage) -> IndexReport:
    previous = current_generation(index_dir)
    if not fresh:
        try:
            open_index(index_dir)  # a damaged index is reported, not built upon
        except IndexMissingError:
            previous = None
    base = index_dir / previous if previous and not fresh else None
    try:
        files = read_manifest(base) if base else {}
    except ValueError as error:
        raise damaged(index_dir, str(error)) from None
    tally = _Tally(skipped=list(walk_skipped))
    # What the index held (the writer replaces the entries of `files` it writes).
    held = dict(files) if base else _manifest_or_nothing(index_dir, previous)

    changed, expected = _changed_files(sources, files, field_map, tally, held)
    seen = {source.key for source in sources}
    gone = [key for key in files if key not in seen and _is_under(key, folders)]
    if base and not changed and not gone:
        return tally.report(index_dir)

    if on_start:
        on_start(expected)
    with next_generation(index_dir, previous, base, on_stage) as (generation, ix):
        with _Writer(ix, files, tally) as writer:
            writer.write_changes(gone, changed, paths, progress)
            if not allow_removal:
                _check_removal(index_dir, held, writer.owner.keys(), fresh, tally.removed)
            if on_stage:
                on_stage("Writing and merging segments")
        write_manifest(generation, files)
    return tally.report(index_dir)


def listed_files(files: Mapping[str, FileEntry], where: str) -> tuple[list[Path], list[Skipped]]:
    """The files a manifest lists that are still there, for a rebuild given no paths (after
    an upgrade, the one command it takes), and the others, as skipped. Raises CorpusError
    when it lists none: the index (`where`: "in FOLDER", "at URL") is new, or too damaged
    to tell."""
    if not files:
        raise CorpusError(
            f"The index {where} lists no files to rebuild from: name the folders or files "
            "of articles, `search rebuild PATH...`.")
    there = [Path(key) for key in files if os.path.lexists(key)]
    gone = [Skipped(key, "no longer there; its articles are left out of the rebuilt index")
            for key in files if not os.path.lexists(key)]
    return there, gone


def _listed(index_dir: Path) -> dict[str, FileEntry]:
    """The manifest of the current generation, for a rebuild given no paths; raises
    CorpusError where it cannot be read."""
    generation = current_generation(index_dir)
    try:
        return read_manifest(index_dir / generation) if generation else {}
    except (OSError, ValueError):
        raise CorpusError(
            f"The list of files of the index in {show_folder(index_dir)} is damaged: name the "
            "folders or files of articles, `search rebuild PATH...`.") from None


def _manifest_or_nothing(index_dir: Path, generation: str | None) -> dict[str, FileEntry]:
    """The manifest of a generation that a rebuild replaces, if it can be read at all."""
    try:
        return read_manifest(index_dir / generation) if generation else {}
    except (OSError, ValueError):
        return {}


def _check_removal(index_dir: Path, held: Mapping[str, FileEntry], kept: Iterable[str],
                   fresh: bool, counted: int) -> None:
    """Refuse a write that removes many articles (MASS_REMOVAL_ARTICLES) of those `held`.
    An update removes at most the `counted` articles it took out one by one (an id put
    back by another file is counted, and not removed): no more than a few, and the sets
    of a million ids are not compared (a tenth of a second)."""
    if not fresh and counted <= MASS_REMOVAL_FLOOR:
        return
    indexed = indexed_ids(held)
    removed = len(indexed - set(kept))
    if removed <= MASS_REMOVAL_FLOOR:
        return
    if removed > MASS_REMOVAL_ARTICLES or removed > MASS_REMOVAL_SHARE * len(indexed):
        why = ("a rebuild keeps only the articles of the paths it is given" if fresh
               else "their files or records are gone")
        raise MassRemovalRefused(
            f"This would remove {removed:,} of the {len(indexed):,} articles of the index in "
            f"{show_folder(index_dir)} ({why}). Nothing was changed; run the command again with "
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
        f"Could not write the index in {show_folder(index_dir)}: {cause}. "
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


class ChangedFile(NamedTuple):
    """A file to read again: its fingerprint ("" if it was not hashed whole), the field
    map to read it with, its `stat_key` and its size."""

    source: SourceFile
    fingerprint: str
    field_map: dict[str, str]
    quick: str | None
    size: int


def _changed_files(
    sources: Iterable[SourceFile], files: Mapping[str, FileEntry],
    field_map: Mapping[str, str], tally: _Tally, remembered: Mapping[str, FileEntry],
) -> tuple[list[ChangedFile], int]:
    """The files whose fingerprint is not the indexed one, and about how many bytes they
    hold; unchanged files are counted in `tally` as they are. A file whose `stat_key` is
    the one recorded with its fingerprint is not read (an unchanged export of a million
    articles is 2.6 GB to hash); one whose key changed but not its bytes gets the new key
    when the manifest is next written. An indexed export whose size changed is not hashed
    whole either: its lines are hashed as they are read, and only the changed ones parsed
    (hashing it whole first was a fifth of re-indexing one changed article); one with
    stretches is hashed a stretch at a time with xxh3 (`search.stretches`). An export is
    read with the field map given, else the one `remembered` (what the index held: `files`,
    or for a rebuild the manifest it replaces) has for it: a rebuild reads it as it was
    indexed."""
    changed, expected = [], 0
    for source in sources:
        entry = files.get(source.key)
        file_map = _map_for(source, remembered, field_map)
        quick = stat_key(source, file_map)
        if entry and quick is not None and entry.quick == quick:
            _count_unchanged(entry, tally)
            continue
        if (entry and entry.size is not None and source.file.suffix.lower() == ".jsonl"
                and (size := _size(source)) is not None and size != entry.size):
            changed.append(ChangedFile(source, "", file_map, quick, size))
            expected += size
            continue
        try:
            found = survey(source, file_map, entry.stretches if entry else ())
        except UnreadableArticle as error:
            kept = f"; its {len(entry.articles):,} indexed articles are kept" if entry else ""
            tally.skipped.append(Skipped(source.path, f"{error}{kept}"))
            if entry:
                tally.unchanged += len(entry.articles)
            continue
        if entry and entry.fingerprint and entry.fingerprint == found.fingerprint:
            _count_unchanged(entry, tally)
            entry.quick, entry.size = quick, found.size
        else:
            changed.append(ChangedFile(source, found.fingerprint, file_map, quick, found.size))
            expected += found.size
    return changed, expected


def _size(source: SourceFile) -> int | None:
    try:
        return os.stat(source.file).st_size
    except OSError:
        return None


def _count_unchanged(entry: FileEntry, tally: _Tally) -> None:
    """An unchanged file's articles, and what it skipped, told again."""
    tally.unchanged += len(entry.articles)
    tally.skipped.extend(Skipped(*skip) for skip in entry.skipped)


def rebuild(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    field_map: Mapping[str, str] = {},
    allow_removal: bool = False,
    progress: Progress | None = None,
    on_start: Progress | None = None,
    on_stage: Stage | None = None,
) -> IndexReport:
    """Index every article under `paths` into a fresh index that replaces the current one,
    without reading the old one (it may be damaged) beyond its list of articles."""
    return update(paths, index_dir, fresh=True, field_map=field_map,
                  allow_removal=allow_removal, progress=progress, on_start=on_start,
                  on_stage=on_stage)


def build(items: Iterable[Article | Skipped], index_dir: Path) -> IndexReport:
    """A fresh index of `items` (articles made by a program: benchmarks, tools)."""
    tally = _Tally()
    with write_lock(index_dir, repair=True):
        with next_generation(index_dir, current_generation(index_dir), None) as (_, ix):
            with _Writer(ix, {}, tally) as writer:
                writer.write_file("", "", "", ((item, "") for item in items))
    return tally.report(index_dir)
