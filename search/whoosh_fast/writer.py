"""Writing Whoosh segments faster, and in two processes: reads Whoosh's private internals
(its per-document reader, codec classes, `MpWriter`'s fields and sub-writer task). Each
piece is tested against what Whoosh's own writer writes (tests/test_whoosh_fast_writer.py).

A write that adds many articles is indexed by two sub-writer processes, each making a
segment (`ParallelWriter`); they die with the process that started them.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import queue
import signal
import sys

from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3PerDocReader,
    W3Segment,
    _lenfield,
)
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

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


class WritingCodec(W3Codec):
    """Whoosh's default codec, writing with `LengthTables`. Segments record the plain
    codec, so the index on disk names Whoosh's classes only."""

    def per_document_reader(self, storage, segment):
        return LengthTables(storage, segment)

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(), indexname)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when `parent` dies, however it dies (Linux)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def run_sub_writer(parent: int, *args) -> None:
    """A sub-writer; a system error (no space left, a file-size limit...) goes back to the
    writing process as (errno, message) instead of a traceback on the terminal."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writing process's to handle
    task = SubWriterTask(*args)
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


class ParallelWriter(MpWriter):
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
                SegmentWriter.add_document(self, **fields)
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
    return ix.writer(limitmb=WRITER_LIMIT_MB, codec=WritingCodec())
