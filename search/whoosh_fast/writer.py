"""Writing Whoosh segments faster, and in two processes: reads Whoosh's private internals
(its per-document reader and writer, a byte column's writer, its term table's writer,
codec classes, `MpWriter`'s fields and sub-writer task). Each piece is tested against what
Whoosh's own writer writes (tests/test_whoosh_fast_writer.py).

A write that adds many articles is indexed by two sub-writer processes, each making a
segment (`ParallelWriter`); they die with the process that started them.
"""

from __future__ import annotations

import ctypes
import heapq
import multiprocessing
import os
import pickle
import queue
import signal
import sys
from array import array
from itertools import chain, groupby
from operator import itemgetter

from whoosh import columns
from whoosh.codec import whoosh3
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3FieldWriter,
    W3PerDocReader,
    W3PerDocWriter,
    W3PostingsWriter,
    W3Segment,
    _lenfield,
)
from whoosh.filedb import filetables
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from search.errors import SubWriterFailed

WRITER_LIMIT_MB = 256


# A write that adds this many articles or more is indexed by WRITER_PROCESSES sub-writers,
# each making a segment of its own, each with a posting buffer of SUB_WRITER_LIMIT_MB; a
# smaller one stays in the writing process and adds one segment.
PARALLEL_MIN_ARTICLES = 1000


WRITER_PROCESSES = 2


SUB_WRITER_LIMIT_MB = 128


class LengthTables(W3PerDocReader):
    """Whoosh's per-document reader, whose field lengths for the posting writer are read
    into a table once per field (Whoosh reads the column file again for every posting:
    a tenth of the indexing time). The same lengths, so the same block statistics."""

    def doc_field_length_reader(self, fieldname, default=0):
        column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return lambda docnum, _default=default: _default
        return [byte_to_length(byte) if byte else None for byte in column].__getitem__


_TERM = itemgetter(0, 1)


class TermPool(PostingPool):
    """Whoosh's posting pool, holding the postings grouped by field and term instead of
    as one (field, term, document, weight, value) tuple each, sorted at the end.

    Documents are added in ascending order, so each term's postings are too: a segment
    needs only its terms sorted. Beyond the pool's memory limit (Whoosh's estimate of
    the same postings), the terms are written to a run file in order, a pickle a term;
    runs hold ascending documents from one to the next, and are merged term by term,
    each term's postings concatenated in run order. Whoosh's sort compared and pickled
    every posting: this is a sixth of the indexing time.
    """

    max_runs = 128  # run files read at once; more are merged into one first

    def __init__(self, tempstore, segment, limitmb=128, **kwargs) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self.terms: dict[str, dict[bytes, list]] = {}

    def add(self, item) -> None:
        """Whoosh's interface: one (field, term, document, weight, value) posting (merges)."""
        fieldname, tbytes, docnum, weight, vbytes = item
        self.add_postings(fieldname, docnum, ((tbytes, weight, vbytes),))

    def add_postings(self, fieldname: str, docnum: int, postings) -> None:
        """A document's (term, weight, value) postings in one field."""
        terms = self.terms.get(fieldname)
        if terms is None:
            self.fieldnames.add(fieldname)
            terms = self.terms[fieldname] = {}
        size = count = 0
        for tbytes, weight, vbytes in postings:
            found = terms.get(tbytes)
            if found is None:
                terms[tbytes] = [(docnum, weight, vbytes)]
            else:
                found.append((docnum, weight, vbytes))
            size += 2 * len(tbytes) + len(vbytes or b"")
            count += 1
        # PostingPool.add's estimate of the memory the postings take
        self.currentsize += size + count * (150 + len(fieldname))
        if self.currentsize > self.limit:
            self.save()

    def _take_sorted(self):
        """The pool's terms in order, taken out of it."""
        fields, self.terms, self.currentsize = self.terms, {}, 0
        for fieldname in sorted(fields):
            terms = fields.pop(fieldname)
            for tbytes in sorted(terms):
                yield fieldname, tbytes, terms.pop(tbytes)

    def save(self) -> None:
        if self.terms:
            self._write_terms(self._take_sorted())
        self.currentsize = 0

    def _write_terms(self, items) -> None:
        path, run = self._new_run()
        for item in items:
            pickle.dump(item, run, pickle.HIGHEST_PROTOCOL)
        run.close()
        self.runs.append(path)

    def _merged(self, sources):
        """(field, term, [postings of each source]) in term order, sources in order."""
        merged = heapq.merge(*sources, key=_TERM)  # ties: the earlier source first
        for (fieldname, tbytes), group in groupby(merged, key=_TERM):
            yield fieldname, tbytes, [postings for _, _, postings in group]

    def groups(self):
        """Every (field, term, postings) in term order, each term's postings in document
        order (as lists to read one after the other); empties the pool."""
        maxfiles = self.max_runs
        while len(self.runs) > maxfiles:  # the oldest runs first, into one
            oldest, self.runs = self.runs[:maxfiles], self.runs[maxfiles:]
            newer, self.runs = self.runs, []
            self._write_terms((fieldname, tbytes, list(chain.from_iterable(parts)))
                              for fieldname, tbytes, parts in
                              self._merged([self._read_run(path) for path in oldest]))
            self.runs += newer
        runs, self.runs = self.runs, []
        current = self._take_sorted()
        if not runs:
            return ((fieldname, tbytes, [postings]) for fieldname, tbytes, postings in current)
        return self._merged([*map(self._read_run, runs), current])

    def iter_postings(self):
        return TermGroups(self)


class TermGroups:
    """What `TermPool.iter_postings` gives a field writer: `GroupingFieldWriter` takes
    the groups, any other reader Whoosh's (field, term, document, weight, value) tuples."""

    def __init__(self, pool: TermPool) -> None:
        self.pool = pool

    def groups(self):
        return self.pool.groups()

    def __iter__(self):
        for fieldname, tbytes, parts in self.groups():
            for docnum, weight, vbytes in chain.from_iterable(parts):
                yield fieldname, tbytes, docnum, weight, vbytes


class CompactTermTable(filetables.OrderedHashWriter):
    """Whoosh's writer of a segment's term table, keeping each term's hash and position
    as two numbers of an array (16 bytes) where Whoosh keeps a tuple of two ints in a
    list (about 130): a segment holds terms of one article each (its id, the bands of its
    copies' signature), two or more an article, all kept until the segment is finished.
    The same file, byte for byte (a test compares them)."""

    @classmethod
    def replacing(cls, writer: filetables.OrderedHashWriter) -> CompactTermTable:
        """`writer`, which has written its header and no term yet, as one of these."""
        writer.__class__ = cls
        writer.buckets = [array("Q") for _ in range(256)]
        return writer

    def add(self, key: bytes, value: bytes) -> None:
        """`OrderedHashWriter.add`, then `HashWriter.add`, with the bucket's array."""
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        dbfile = self.dbfile
        position = dbfile.tell()
        self.index.append(position)
        dbfile.write(filetables._lengths.pack(len(key), len(value)))
        dbfile.write(key)
        dbfile.write(value)
        hashed = self.hashfn(key)
        self.buckets[hashed & 255].extend((hashed, position))
        self.lastkey = key

    def _write_hashes(self) -> None:
        """`HashWriter._write_hashes` over the arrays' (hash, position) pairs."""
        dbfile = self.dbfile
        null = (0, 0)
        for entries in self.buckets:
            numslots = len(entries)  # twice the bucket's terms, as Whoosh sizes it
            self.directory.append((dbfile.tell(), numslots))
            table = [null] * numslots
            for hashed, position in zip(entries[::2], entries[1::2], strict=True):
                slot = (hashed >> 8) % numslots
                while table[slot] != null:
                    slot = (slot + 1) % numslots
                table[slot] = (hashed, position)
            for hashed, position in table:
                dbfile.write(filetables._pointer.pack(hashed, position))


class GroupingFieldWriter(W3FieldWriter):
    """Whoosh's field writer, writing a term's postings block by block from a list
    (`TermGroups`) instead of one call per posting: the same blocks, bytes and statistics
    as `W3PostingsWriter.add_posting` (a test compares them). Its term table is a
    `CompactTermTable`."""

    def __init__(self, codec, storage, segment) -> None:
        super().__init__(codec, storage, segment)
        CompactTermTable.replacing(self._tindex)

    def add_postings(self, schema, lengths, items):
        if not isinstance(items, TermGroups):
            return super().add_postings(schema, lengths, items)
        lastfn = None
        for fieldname, tbytes, parts in items.groups():
            if fieldname != lastfn:
                if lastfn is not None:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
                field_length = _length_reader(lengths, fieldname)
                lastfn = fieldname
            self.start_term(tbytes)
            self._add_term_postings(parts[0] if len(parts) == 1 else
                                    list(chain.from_iterable(parts)), field_length)
            self.finish_term()
        if lastfn is not None:
            self.finish_field()

    def _add_term_postings(self, postings: list, field_length) -> None:
        """`add_posting` of each (document, weight, value), a block at a time: the
        writer writes a full block when the next posting comes, the last one when the
        term is finished."""
        writer = self._postwriter
        limit = writer._blocklimit
        total = len(postings)
        for start in range(0, total, limit):
            block = postings[start:start + limit]
            ids = [posting[0] for posting in block]
            weights = [posting[1] for posting in block]
            writer._ids = array("I", ids)
            writer._weights = array("f", weights)
            writer._values = [posting[2] for posting in block if posting[2]]
            writer._maxweight = max(0, max(weights))
            lengths = [length for length in map(field_length, ids) if length]
            writer._minlength = min(lengths) if lengths else None
            writer._maxlength = max(lengths) if lengths else 0
            if start + limit < total:
                writer._write_block()


def _length_reader(lengths, fieldname: str):
    """document → length of `fieldname`, as `FieldWriter.add_postings` reads them."""
    if not lengths:
        return lambda docnum: 0
    reader = getattr(lengths, "doc_field_length_reader", None)
    if reader is not None:
        return reader(fieldname)
    return lambda docnum: lengths.doc_field_length(docnum, fieldname)


class GroupingWriter(SegmentWriter):
    """Whoosh's segment writer, pooling postings by term (`TermPool`) and writing them
    a term at a time (`GroupingFieldWriter`, through `WritingCodec`)."""

    def __init__(self, ix, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        self._group_postings()

    def _group_postings(self) -> None:
        self.pool = TermPool(self._tempstorage, self.newsegment,
                             limitmb=self.pool.limit / (1024 * 1024))
        # Fields that Whoosh writes more than postings of (spelling words, vectors) go
        # through its own add_document.
        self._plain = not any(field.separate_spelling() or field.vector
                              for _, field in self.schema.items())

    def add_document(self, **fields) -> None:
        """`SegmentWriter.add_document`, each field's postings handed to the pool at once."""
        if not self._plain:
            return SegmentWriter.add_document(self, **fields)
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    postings = []
                    for tbytes, freq, weight, vbytes in field.index(value):
                        length += freq
                        postings.append((tbytes, weight * fieldboost, vbytes))
                    if not field.scorable:
                        length = 0
                    self.pool.add_postings(fieldname, docnum, postings)
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None,
                                       length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column,
                                                  field.to_column_value(customval))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1


class FilledColumnsWriter(W3PerDocWriter):
    """Whoosh's per-document writer, each column of byte strings filled to the segment's
    last document before Whoosh finishes it.

    `VarBytesColumn.Writer.finish` takes its offsets array, then fills the documents after
    the last value: when that filling grows the array's item type (an offset past 255,
    65,535...), the array written is the old one, short, under the old type, and every
    value of the column reads wrong, in Whoosh's reader as in ours. It takes a segment of
    more than 32,768 documents (the offsets are written then) whose last documents have
    no value: articles too short for a copy signature, or undated."""

    def close(self):
        if self._indoc:  # Whoosh's close finishes a document left open: before the filling
            self.finish_doc()
        for writer in self._colwriters.values():
            writer = getattr(writer, "_child", writer)  # a pickled column's bytes
            if isinstance(writer, columns.VarBytesColumn.Writer):
                writer.fill(self._doccount)
                writer._count = max(writer._count, self._doccount)  # filled: once only
        super().close()


# The pickle protocol of a posting block written here: Whoosh writes protocol 2, which
# pickles each of a block's 128 byte strings (the positions) as a call to
# `_codecs.encode`. Protocol 3 writes them as bytes: a block with positions unpickles 5x
# faster (26 → 4.6 µs) and compresses to about half (1,493 → 809 bytes, `quatre` at
# 360k). Whoosh's reader unpickles either.
BLOCK_PROTOCOL = 3


class CompactPostingsWriter(W3PostingsWriter):
    """Whoosh's postings writer, pickling each block with `BLOCK_PROTOCOL`: Whoosh's
    `_write_block` calls its module's `dumps(..., 2)`, which is replaced for that call."""

    def _write_block(self, last=False):
        whoosh_dumps = whoosh3.dumps
        whoosh3.dumps = _dumps_with_block_protocol
        try:
            super()._write_block(last)
        finally:
            whoosh3.dumps = whoosh_dumps


def _dumps_with_block_protocol(data, protocol=None) -> bytes:
    return pickle.dumps(data, BLOCK_PROTOCOL)


class WritingCodec(W3Codec):
    """Whoosh's default codec, writing with `LengthTables`, `FilledColumnsWriter`,
    `GroupingFieldWriter` and `CompactPostingsWriter`. Segments record the plain codec, so
    the index on disk names Whoosh's classes only."""

    def per_document_reader(self, storage, segment):
        return LengthTables(storage, segment)

    def per_document_writer(self, storage, segment):
        return FilledColumnsWriter(self, storage, segment)

    def field_writer(self, storage, segment):
        return GroupingFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        return CompactPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                     compression=self._compression,
                                     inlinelimit=self._inlinelimit)

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(), indexname)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when `parent` dies, however it dies (Linux)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


class GroupingSubWriterTask(SubWriterTask):
    """Whoosh's sub-writer (multisegment), writing its segment with a `GroupingWriter`."""

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = GroupingWriter(ix, _lk=False, **self.kwargs)
        while self.running:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        if not self.running:
            writer.cancel()
            return
        fieldnames = writer.pool.fieldnames
        self.resultqueue.put((None, fieldnames, writer._finalize_segment()), timeout=5)


def run_sub_writer(parent: int, *args) -> None:
    """A sub-writer; a system error (no space left, a file-size limit...) goes back to the
    writing process as (errno, message) instead of a traceback on the terminal."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writing process's to handle
    task = GroupingSubWriterTask(*args)
    try:
        task.run()
    except OSError as error:
        task.resultqueue.put((_FAILED, error.errno, error.strerror), timeout=5)
        task.resultqueue.close()
        task.resultqueue.join_thread()  # hand it over before exiting: put() only queues it
        os._exit(1)
    except BaseException:
        os._exit(1)


_FAILED = "failed"  # a sub-writer's result that is an error, not a segment


def _cause(signals: list[int]) -> str:
    """How sub-writers died, from the signals that killed them (none: they failed)."""
    if not signals:
        return "failed"
    oom = " (out of memory?)" if signal.SIGKILL in signals else ""
    return f"killed by signal {', '.join(map(str, signals))}{oom}"


class ParallelWriter(MpWriter, GroupingWriter):
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
                         limitmb=WRITER_LIMIT_MB, codec=WritingCodec(),
                         subargs={"limitmb": SUB_WRITER_LIMIT_MB, "codec": WritingCodec()})
        self._group_postings()
        self._fork = multiprocessing.get_context("fork")
        self._sent = self._batches = 0
        self._jobs = [self._fork.Queue(4) for _ in range(WRITER_PROCESSES)]
        self._results = [self._fork.Queue() for _ in range(WRITER_PROCESSES)]

    def _new_task(self):
        number = len(self.tasks)
        args = (self.storage, self.indexname, self._jobs[number], self._results[number],
                self.subargs, self.multisegment)
        task = self._fork.Process(target=run_sub_writer, args=(os.getpid(), *args),
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
        self._hand_over(turn, (filename, len(self.docbuffer)))
        self._batches += 1
        self._sent += len(self.docbuffer)
        self.docbuffer = []

    def _hand_over(self, turn: int, job) -> None:
        """Put `job` on a sub-writer's queue, waiting while it is full, unless the
        sub-writer has died: then its queue would stay full, and the write would hang."""
        task = self.tasks[turn]
        while True:
            try:
                self._jobs[turn].put(job, timeout=0.5)
                return
            except queue.Full:
                if not task.is_alive():
                    break
        # The sub-writer died: its error, if it sent one, says why.
        result = _result(task, self._results[turn])
        if isinstance(result, OSError):
            raise result
        signals = [-task.exitcode] if (task.exitcode or 0) < 0 else []
        raise SubWriterFailed(
            f"An indexing process {_cause(signals)}; the previous index is unchanged.")

    def commit(self, mergetype=None, optimize=None, merge=None) -> None:
        if not self.tasks:  # a small write: this process writes it
            held, self.docbuffer = self.docbuffer, []
            for _, fields in held:
                GroupingWriter.add_document(self, **fields)
            self._added_sub = False
        super().commit(mergetype=mergetype, optimize=optimize, merge=merge)

    def _commit(self, mergetype, optimize, merge) -> None:
        # Whoosh's MpWriter._commit (multisegment), with the sub-writers' results checked.
        if self.docbuffer:
            self._enqueue()
        for turn in range(len(self.tasks)):
            self._hand_over(turn, None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        # read before joining: see Queue's docs
        found = [_result(task, results)
                 for task, results in zip(self.tasks, self._results, strict=False)]
        for task in self.tasks:
            task.join()
        for result in found:
            if isinstance(result, OSError):
                raise result
        segments = [segment for segment in found if segment is not None]
        written = sum(segment.doc_count_all() for segment in segments)
        if len(segments) != len(self.tasks) or written != self._sent:
            signals = sorted({-task.exitcode for task in self.tasks if (task.exitcode or 0) < 0})
            raise SubWriterFailed(
                f"{len(self.tasks) - len(segments)} of {len(self.tasks)} indexing processes "
                f"{_cause(signals)} ({written} of {self._sent} articles written); the previous "
                "index is unchanged.")
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


# Whether large writes may use sub-writers: None lets `parallel_writes_pay` decide by the
# machine; the tests set it, so that they run alike on one core and on two.
SUB_WRITERS: bool | None = None


def parallel_writes_pay() -> bool:
    """Sub-writers need Linux (they die with their parent through prctl) and a core each:
    on one core, two processes only add their overhead."""
    if sys.platform != "linux":
        return False
    if SUB_WRITERS is not None:
        return SUB_WRITERS
    return len(os.sched_getaffinity(0)) >= WRITER_PROCESSES


def new_writer(ix):
    """A writer for `ix`: two sub-writers for large writes where they pay, else Whoosh's
    own writer, both writing with `WritingCodec`."""
    if parallel_writes_pay():
        return ParallelWriter(ix)
    return GroupingWriter(ix, limitmb=WRITER_LIMIT_MB, codec=WritingCodec())
