"""The readers of the web page (search/web/pool.py): one request at a time on each, a new
version opened when the data changes, old readers closed once idle."""

import threading

import pytest

from search.web.pool import ReaderPool


class FakeReader:
    def __init__(self, version: str) -> None:
        self.version = version
        self.in_use = False
        self.closed = False

    def use(self) -> None:
        assert not self.in_use and not self.closed  # one request at a time, never closed
        self.in_use = True
        threading.Event().wait(0.0005)
        self.in_use = False

    def close(self) -> None:
        assert not self.closed
        self.closed = True


class FakeBackend:
    location = "fake"

    def __init__(self) -> None:
        self.current = "g1"
        self.opened: list[FakeReader] = []

    def version(self) -> str:
        return self.current

    def reader(self) -> FakeReader:
        reader = FakeReader(self.current)
        self.opened.append(reader)
        return reader


def test_readers_are_reused_one_request_at_a_time():
    backend = FakeBackend()
    pool = ReaderPool(backend, size=2)
    with pool.reader() as first:
        with pool.reader() as second:
            assert first is not second  # overlapping requests: two readers
            waiting = threading.Thread(target=lambda: got.append(pool.take()))
            got = []
            waiting.start()
        waiting.join()  # the third request got the reader given back
    assert got == [(second, "g1")]
    pool.give_back(*got[0])
    assert len(backend.opened) == 2 and pool.idle_count() == 2
    with pool.reader() as again:
        assert again in (first, second)
    assert not any(reader.closed for reader in backend.opened)


def test_a_failed_open_frees_its_place():
    backend = FakeBackend()
    pool = ReaderPool(backend, size=1)
    backend.reader = lambda: (_ for _ in ()).throw(OSError("no index"))
    with pytest.raises(OSError), pool.reader():
        pass
    del backend.reader
    with pool.reader() as reader:
        assert reader.version == "g1"


def test_new_version_reopens_and_closes_old_readers():
    backend = FakeBackend()
    pool = ReaderPool(backend)
    with pool.reader() as busy:
        with pool.reader() as idle:
            pass
        backend.current = "g2"
        with pool.reader() as fresh:
            assert fresh.version == "g2"
            assert idle.closed  # idle when the version changed
            assert not busy.closed  # still serving its request
        assert not busy.closed
    assert busy.closed  # given back after the change
    assert pool.idle_count() == 1
    pool.close()
    assert all(reader.closed for reader in backend.opened)


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_requests_never_share_a_reader(threads):
    backend = FakeBackend()
    pool = ReaderPool(backend, size=3)
    failures = []

    def requests(number: int) -> None:
        try:
            for turn in range(60):
                if number == 0 and turn == 30:
                    backend.current = "g2"
                with pool.reader() as reader:
                    reader.use()
        except AssertionError as error:
            failures.append(error)

    workers = [threading.Thread(target=requests, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert len([reader for reader in backend.opened if reader.version == "g2"]) <= 3
    pool.close()
    assert all(reader.closed for reader in backend.opened)
