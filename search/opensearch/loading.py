"""Writing articles to OpenSearch with the manifest logic of search.index.

The manifest (`files.json` of a Whoosh generation: each file's fingerprint, its articles'
hashes, its field map) is a document of the index `<alias>-manifests`, one per concrete
index, written after the articles: an unchanged file is not parsed again, a changed export
updates only the articles that changed. A rebuild, or the first load, creates a new
concrete index (its analyzer's stems made from the articles' words), loads it, and only
then moves the alias to it and deletes the old one: a failed load leaves the old index
whole and searched. One process writes at a time (`write_lock`, a document of the
manifests index with a lease), as the index folder's flock has it.

Articles go in bulk requests of BULK_CHUNK through opensearch-py's bulk helper, which
retries a request the cluster refused as too busy (429) with exponential back-off.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as ClusterUnreachable
from opensearchpy.exceptions import NotFoundError, OpenSearchException

from search.errors import IndexLockedError, IndexOutdatedError, IndexWriteError
from search.index import (
    _changed_files,
    _check_removal,
    _is_under,
    _Tally,
    _Writer,
    fewer_collections,
    listed_files,
)
from search.ingest import check_field_map, find_article_files, parse_file, path_key
from search.models import Article, IndexReport, Skipped
from search.opensearch.groups import GROUP_FIELD, current_keys, regrouped
from search.opensearch.settings import MAPPING_VERSION, index_body
from search.schema import SEARCHABLE_FIELDS, SURFACE_FIELDS
from search.store import LOCK_WAIT_SECONDS, FileEntry, owners
from search.words import WORD_PATTERN, surface_form

BULK_CHUNK = 500
BULK_RETRIES = 8  # a 429 is retried after 1, 2, 4... seconds
_WORD = re.compile(WORD_PATTERN)
_SURFACE_NAMES = frozenset(SURFACE_FIELDS.values())


def document(fields: Mapping[str, object]) -> dict:
    """The OpenSearch document of an article's Whoosh fields (search.schema): the surface
    twins are subfields there, lists are lists."""
    doc = {name: value for name, value in fields.items() if name not in _SURFACE_NAMES}
    if "copy_signature" in doc:
        doc["copy_signature"] = base64.b64encode(doc["copy_signature"]).decode()
    if "copy_bands" in doc:
        doc["copy_bands"] = doc["copy_bands"].split()
    if "source_match" in doc:
        doc["source_match"] = doc["source_match"].split(",")
    doc[GROUP_FIELD] = doc["id"]  # a group of its own until `BulkWriter.commit` regroups it
    return doc


class Journal:
    """What an incremental load is changing in a cluster index, kept in a document of the
    manifests index from before its first change until its manifest is written: the files
    it writes or removes, and the groups of copies that the articles it rewrote or removed
    were in. The cluster has no generations to fall back on, so the next load, if this
    one stopped before its end, reads those files whole again (their articles written as
    they are now, whatever the manifest says) and regroups those groups."""

    def __init__(self, client: OpenSearch, alias: str, index: str) -> None:
        self.client, self.where, self.id = client, manifests_index(alias), f"{index}@journal"
        found = client.get(index=self.where, id=self.id, ignore=[404])
        kept = found["_source"] if found.get("found") else {}
        self.files: set[str] = set(kept.get("files", ()))
        self.old_keys: set[str] = set(kept.get("old_keys", ()))

    def __bool__(self) -> bool:
        return bool(self.files or self.old_keys)

    def write(self) -> None:
        self.client.index(index=self.where, id=self.id, refresh=True, body={
            "files": sorted(self.files), "old_keys": sorted(self.old_keys)})

    def clear(self) -> None:
        self.client.delete(index=self.where, id=self.id, refresh=True, ignore=[404])


class BulkWriter:
    """What search.index._Writer writes to, as bulk actions on one index: added and
    updated articles are sent as they come, BULK_CHUNK at a time; deletions wait for
    `commit`, so a refused mass removal removes nothing. `commit` then regroups the
    copies of what was written or removed (search.opensearch.groups).

    An index this load changes has its `journal`; one it created (no journal) has no
    earlier groups to look up. An article rewritten keeps its group's key until it is
    regrouped (a load that stops before then writes it again next time, and finds its
    group by that key); the keys of the groups of the articles removed go to the journal
    before they are removed."""

    def __init__(self, client: OpenSearch, index: str, journal: Journal | None = None) -> None:
        self.client = client
        self.index = index
        self.new = journal is None
        self.journal = journal
        self.pending: list[dict] = []
        # In order; an id written again after its removal (a file moved from one folder
        # to another) is written, not removed.
        self.deletions: dict[str, None] = {}
        self.written: list[str] = []
        # the groups an article rewritten or removed was in, by this load or by one that
        # stopped before it regrouped them
        self.old_keys: set[str] = set(journal.old_keys) if journal else set()

    def add_document(self, **fields) -> None:
        doc = document(fields)
        self.deletions.pop(doc["id"], None)
        self.pending.append({"_op_type": "index", "_index": self.index, "_id": doc["id"],
                             "_source": doc})
        if len(self.pending) >= BULK_CHUNK:
            self.flush()

    update_document = add_document

    def delete_by_term(self, fieldname: str, value: str) -> None:
        self.deletions[value] = None

    def flush(self) -> None:
        if self.pending:
            actions, self.pending = self.pending, []
            ids = [action["_id"] for action in actions]
            if not self.new:
                keys = current_keys(self.client, self.index, ids)
                for action in actions:
                    if action["_id"] in keys:
                        action["_source"][GROUP_FIELD] = keys[action["_id"]]
                self.old_keys.update(keys.values())
            self._send(actions)
            self.written.extend(ids)

    def _send(self, actions: list[dict], **options) -> None:
        helpers.bulk(self.client, actions, chunk_size=BULK_CHUNK, max_retries=BULK_RETRIES,
                     initial_backoff=1, max_backoff=60, request_timeout=120, **options)

    def commit(self) -> None:
        self.flush()
        if self.deletions:
            removed = current_keys(self.client, self.index, list(self.deletions)).values()
            self.old_keys.update(removed)
            if self.journal is not None and removed:
                self.journal.old_keys |= set(removed)
                self.journal.write()
            self._send([{"_op_type": "delete", "_index": self.index, "_id": article_id}
                        for article_id in self.deletions], raise_on_error=False)
            self.deletions = {}
        self.client.indices.refresh(index=self.index)
        if self.written or self.old_keys:
            changed = regrouped(self.client, self.index, self.written, self.old_keys,
                                whole=self.new)
            if changed:
                self._send(changed)
                self.client.indices.refresh(index=self.index)
        self.written, self.old_keys = [], set()

    def cancel(self) -> None:
        self.pending, self.deletions, self.written, self.old_keys = [], {}, [], set()


def _reread(files: Mapping[str, FileEntry], keys: Iterable[str]) -> dict[str, FileEntry]:
    """`files` with the entries of `keys` made to match nothing: each such file is read
    again, and every one of its articles written again."""
    files = dict(files)
    for key in keys:
        if key in files:
            entry = files[key]
            files[key] = dataclasses.replace(
                entry, fingerprint="", quick=None, size=None, stretches=[],
                articles=dict.fromkeys(entry.articles, ""))
    return files


class _BulkArticles(_Writer):
    """search.index._Writer (ids, hashes, counts, the manifest's entries) on a BulkWriter."""

    def __init__(self, writer: BulkWriter, files: dict[str, FileEntry], tally: _Tally) -> None:
        self.writer = writer
        self.files = files
        self.tally = tally
        self.owner = owners(files)
        self.copies = True


def manifests_index(alias: str) -> str:
    return f"{alias}-manifests"


class CurrentIndex(NamedTuple):
    name: str
    version: int  # its mapping's (settings.MAPPING_VERSION when this version made it)


def current_index(client: OpenSearch, alias: str) -> CurrentIndex | None:
    """The concrete index the alias points to, or None."""
    try:
        found = client.indices.get_mapping(index=alias)
    except NotFoundError:
        return None
    if not found:
        return None
    name = sorted(found)[-1]
    return CurrentIndex(name, found[name]["mappings"].get("_meta", {}).get("version", 1))


def outdated(location: str) -> IndexOutdatedError:
    return IndexOutdatedError(f"The index at {location} was built by an older version of "
                              "search, which kept copies differently. Run `search rebuild` "
                              "to rebuild it.")


def read_manifest(client: OpenSearch, alias: str, index: str) -> tuple[dict[str, FileEntry], float]:
    """The manifest of a concrete index, and when it was written."""
    try:
        found = client.get(index=manifests_index(alias), id=index)
    except NotFoundError:
        return {}, 0.0
    data = json.loads(found["_source"]["files"])
    return ({key: FileEntry.from_json(entry) for key, entry in data.items()},
            found["_source"].get("updated_at", 0.0))


def _manifests(client: OpenSearch, alias: str) -> str:
    """The manifests index of `alias`, created if missing."""
    name = manifests_index(alias)
    if not client.indices.exists(index=name):
        client.indices.create(index=name, ignore=[400], body={  # 400: created meanwhile
            "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
            "mappings": {"dynamic": False, "properties": {}}})
    return name


# One writer at a time, as the index folder's flock has it: a document of the manifests
# index created only if absent. Its holder renews its lease every LEASE_SECONDS / 3 while
# it writes; a holder that died without releasing it loses it when the lease runs out.
LOCK_ID = "write-lock"
LEASE_SECONDS = 60.0


@contextmanager
def write_lock(client: OpenSearch, alias: str, location: str,
               wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the cluster index's write lock; wait up to `wait` seconds for another writer."""
    name = _manifests(client, alias)
    holder = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
    deadline = time.monotonic() + wait
    while not _take_lock(client, name, holder):
        if time.monotonic() >= deadline:
            raise IndexLockedError(f"Another process is writing to the index at {location}; "
                                   "try again when it has finished.")
        time.sleep(0.2)
    done = threading.Event()
    renewing = threading.Thread(target=_renew_lock, args=(client, name, holder, done),
                                daemon=True)
    renewing.start()
    try:
        yield
    finally:
        done.set()
        renewing.join()
        found = _lock(client, name)
        if found and found["_source"].get("holder") == holder:
            client.delete(index=name, id=LOCK_ID, refresh=True, ignore=[404, 409],
                          if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"])


def _lock(client: OpenSearch, name: str) -> dict | None:
    found = client.get(index=name, id=LOCK_ID, ignore=[404])
    return found if found.get("found") else None


def _take_lock(client: OpenSearch, name: str, holder: str) -> bool:
    """Whether `holder` now holds the lock: created, or taken over from a lapsed lease
    (only if nobody changed it meanwhile)."""
    lease = {"holder": holder, "expires_at": time.time() + LEASE_SECONDS}
    # 409, taken (a status asked for is not logged as a failure on the user's terminal)
    if client.create(index=name, id=LOCK_ID, body=lease, refresh=True,
                     ignore=[409]).get("status") != 409:
        return True
    found = _lock(client, name)
    if found is None or found["_source"].get("expires_at", 0.0) > time.time():
        return False
    return client.index(index=name, id=LOCK_ID, body=lease, refresh=True, ignore=[409],
                        if_seq_no=found["_seq_no"],
                        if_primary_term=found["_primary_term"]).get("status") != 409


def _renew_lock(client: OpenSearch, name: str, holder: str, done: threading.Event) -> None:
    """Extends `holder`'s lease every LEASE_SECONDS / 3, only while the lock is still its
    own (a lease that lapsed meanwhile may have been taken over)."""
    while not done.wait(LEASE_SECONDS / 3):
        try:
            found = _lock(client, name)
            if found is None or found["_source"].get("holder") != holder:
                return
            client.index(index=name, id=LOCK_ID, ignore=[409], if_seq_no=found["_seq_no"],
                         if_primary_term=found["_primary_term"],
                         body={"holder": holder, "expires_at": time.time() + LEASE_SECONDS})
        except OpenSearchException:
            pass  # a busy or lost cluster: the load itself will say so


def _write_manifest(client: OpenSearch, alias: str, index: str,
                    files: Mapping[str, FileEntry]) -> None:
    """Written under `write_lock`, which made the manifests index."""
    client.index(index=manifests_index(alias), id=index, refresh=True, body={
        "files": json.dumps({key: entry.to_json() for key, entry in files.items()}),
        "updated_at": time.time()})


SNOWBALL_BATCH = 5000  # words per _analyze request (the cluster allows 10,000 tokens)


def cluster_snowball(client: OpenSearch) -> Callable[[list[str]], list[str]]:
    """The cluster's own Snowball French, word by word, through `_analyze`."""
    def stems(words: list[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(words), SNOWBALL_BATCH):
            batch = words[start:start + SNOWBALL_BATCH]
            tokens = client.indices.analyze(body={
                "tokenizer": "keyword", "filter": [{"type": "stemmer", "language": "french"}],
                "text": batch})["tokens"]
            if len(tokens) != len(batch):
                raise IndexWriteError("The cluster's Snowball stemmer gave "
                                      f"{len(tokens)} stems for {len(batch)} words.")
            found.extend(token["token"] for token in tokens)
        return found
    return stems


def _vocabulary(changed, progress: Callable[[int], None] | None) -> set[str]:
    """The folded words of the searchable fields of every article of the changed files."""
    words: set[str] = set()
    for found in changed:
        for item, _ in parse_file(found.source, found.field_map):
            if isinstance(item, Article):
                for name in SEARCHABLE_FIELDS:
                    text = getattr(item, name, None)
                    if text:
                        words.update(map(surface_form, _WORD.findall(text)))
    return words


def update(client: OpenSearch, alias: str, location: str, paths: Iterable[Path], *,
           fresh: bool = False, field_map: Mapping[str, str] = {}, allow_removal: bool = False,
           progress=None, on_start=None, on_stage=None, shards: int = 1,
           replicas: int = 0) -> IndexReport:
    """search.index.update, on the cluster (see the module doc)."""
    paths = list(paths)
    check_field_map(field_map)
    gone_files: list[Skipped] = []
    if fresh and not paths:
        existing = current_index(client, alias)
        paths, gone_files = listed_files(
            read_manifest(client, alias, existing.name)[0] if existing else {}, f"at {location}")
    found = [*gone_files, *find_article_files(paths)]
    sources = [item for item in found if not isinstance(item, Skipped)]
    tally = _Tally(skipped=[item for item in found if isinstance(item, Skipped)])
    folders = [Path(path_key(path)) for path in paths if path.is_dir()]
    journal = None
    try:
        with write_lock(client, alias, location), fewer_collections():
            existing = current_index(client, alias)
            current = existing.name if existing else None
            if existing and not fresh and existing.version != MAPPING_VERSION:
                raise outdated(location)
            previous = read_manifest(client, alias, current)[0] if current else {}
            new = fresh or current is None
            journal = None if new else Journal(client, alias, current)
            files = {} if new else _reread(previous, journal.files)
            changed, expected = _changed_files(sources, files, field_map, tally, previous)
            seen = {source.key for source in sources}
            gone = [key for key in files if key not in seen and _is_under(key, folders)]
            if not new and not changed and not gone and not journal:
                return tally.report(location)
            if journal is not None:
                journal.files |= {item.source.key for item in changed} | set(gone)
                journal.write()
            target = f"{alias}-{time.time_ns()}" if new else current
            if new:
                if on_stage:
                    on_stage("Reading the articles' words for the analyzer")
                body = index_body(_vocabulary(changed, None), cluster_snowball(client),
                                  shards=shards, replicas=replicas)
                _create_index(client, target, body, replicas)
            if on_start:
                on_start(expected)
            try:
                writer = _BulkArticles(BulkWriter(client, target, journal), files, tally)
                with writer:
                    writer.write_changes(gone, changed, paths, progress)
                    if not allow_removal:
                        # names the index as `URL/alias/`
                        _check_removal(location, previous, writer.owner.keys(), fresh,
                                       tally.removed)
                    if on_stage:
                        on_stage("Refreshing the index")
                _write_manifest(client, alias, target, files)
                if journal is not None:
                    journal.clear()
            except BaseException:
                if new:
                    client.indices.delete(index=target, ignore_unavailable=True)
                raise
            if new:
                if on_stage:
                    on_stage("Moving the alias to the new index")
                actions = [{"add": {"index": target, "alias": alias}}]
                if current:
                    actions.insert(0, {"remove": {"index": current, "alias": alias}})
                client.indices.update_aliases(body={"actions": actions})
                if current:
                    client.indices.delete(index=current, ignore_unavailable=True)
                    client.delete(index=manifests_index(alias), id=current, ignore=[404])
                    Journal(client, alias, current).clear()
            return tally.report(location)
    except OpenSearchException as error:
        after = ("The next `search index` of the same paths finishes the update."
                 if journal else "The previous index is unchanged.")
        raise IndexWriteError(f"Could not write the index at {location}: {_reason(error)}. "
                              f"{after}") from None


def _create_index(client: OpenSearch, name: str, body: dict, replicas: int) -> None:
    """Creates `name`, and returns once each shard has every copy the cluster can hold
    (replicas + 1, at most one a data node). A copy still being made when its node is lost
    cannot take over: a load begun before then would be refused until the node came back."""
    nodes = client.cluster.health()["number_of_data_nodes"]
    copies = min(replicas + 1, max(nodes, 1))
    client.indices.create(index=name, body=body, request_timeout=150,
                          params={"timeout": "2m", "wait_for_active_shards": copies})


def _reason(error: OpenSearchException) -> str:
    """One line from what the client or the cluster said."""
    if isinstance(error, ClusterUnreachable):
        return "the cluster does not answer"
    if isinstance(error, helpers.BulkIndexError) and error.errors:
        failed = next(iter(error.errors[0].values()))
        cause = failed.get("error", {})
        reason = cause.get("reason") if isinstance(cause, dict) else cause
        count = len(error.errors)
        return f"{count:,} article{'s' if count > 1 else ''} refused ({reason})"
    text = getattr(error, "error", None) or type(error).__name__
    info = getattr(error, "info", None)
    if isinstance(info, dict) and isinstance(info.get("error"), dict):
        text = info["error"].get("reason") or text
    return " ".join(str(text).split())
