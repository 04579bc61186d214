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
    pool = ReaderPool(backend, idle=2)
    with pool.reader() as first:
        with pool.reader() as second:
            assert first is not second  # overlapping requests: two readers
            with pool.reader() as third:
                assert third not in (first, second)
    assert pool.idle_count() == 2
    # third and second were given back first; first found the pool full and was closed
    assert [reader.closed for reader in backend.opened] == [True, False, False]
    with pool.reader() as again:
        assert again is second
    assert len(backend.opened) == 3


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
    pool = ReaderPool(backend, idle=3)
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
    pool.close()
    assert all(reader.closed for reader in backend.opened)
