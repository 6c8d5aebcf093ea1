"""SQLite's record locks are per record: two different keys never wait for each other (an import holding a
page of a thousand customers does not make a quote's export wait), the same key does, a holder of a thousand
keys uses a file descriptor or two (not one per key), and a process that dies frees its keys. A wait may be cut
short by ``should_stop`` (a run an admin asked to stop): :class:`Stopped` within a second or two, not after the
wait, and not a :class:`Busy`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from lock_support import gets, held_elsewhere, in_thread
from sqlalchemy import create_engine

from colcw_plugin.sync.shared import locks
from colcw_plugin.sync.shared.locks import Busy, Stopped, advisory_lock, advisory_locks, holds, lock_key

BUCKETS = 4096  # how many files the keys shared before they had a byte each


@pytest.fixture()
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    yield eng
    eng.dispose()


def _take(engine, keys: list[int], **kw) -> None:
    """Take ``keys`` and let them go."""
    with advisory_locks(engine, keys, "busy", **kw):
        pass


def _sharing_a_bucket(kind: str, first: int) -> tuple[int, int]:
    """Two records of ``kind`` whose keys fell in the same of the 4,096 lock files."""
    a = lock_key(kind, first)
    b = next(lock_key(kind, n) for n in range(first + 1, first + 100_000) if lock_key(kind, n) % BUCKETS == a % BUCKETS)
    return a, b


def _holder(engine, keys: list[int]) -> subprocess.Popen:
    """Another process holding ``keys`` (it prints "held" once it has them, then sleeps)."""
    script = textwrap.dedent(f"""
        import time
        from sqlalchemy import create_engine
        from colcw_plugin.sync.shared.locks import advisory_locks
        with advisory_locks(create_engine({str(engine.url)!r}), {keys!r}, "busy", wait_seconds=0):
            print("held", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # a crash: no clean release
    proc.wait(10)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_two_records_whose_keys_shared_a_file_do_not_wait_for_each_other_across_threads(engine):
    a, b = _sharing_a_bucket("colcw-customer", 1)
    with advisory_lock(engine, a, "busy", wait_seconds=0):
        assert in_thread(lambda: gets(engine, b)) is True  # another record: free
        assert in_thread(lambda: gets(engine, a)) is False  # the same record: held


@pytest.mark.processes
def test_a_quote_is_not_kept_waiting_by_an_import_holding_a_page_of_customers_in_another_process(engine):
    page = [lock_key("colcw-company", n) for n in range(1, 1001)]
    # A document whose key falls in the same file as one of the page's companies (most do: 1,000 of 4,096 files).
    taken = {k % BUCKETS for k in page}
    document = next(lock_key("colcw-document-export", n) for n in range(1, 10_000)
                    if lock_key("colcw-document-export", n) % BUCKETS in taken)
    same_file = next(lock_key("colcw-customer", n) for n in range(1, 100_000)
                     if lock_key("colcw-customer", n) % BUCKETS == page[0] % BUCKETS)
    proc = _holder(engine, page)
    try:
        started = time.monotonic()
        with advisory_lock(engine, document, "busy", wait_seconds=5):
            assert time.monotonic() - started < 1  # not waited for the page's import
        assert gets(engine, same_file) is True
        assert gets(engine, page[0]) is False and gets(engine, page[-1]) is False  # the page's records: held
        with pytest.raises(Busy):
            _take(engine, [document, page[500]], wait_seconds=0.3)
        assert gets(engine, document) is True  # what it took before the refusal went with it
    finally:
        _kill(proc)
    assert all(gets(engine, k) for k in (page[0], page[500], page[-1]))  # its process died: its keys are free


def test_the_same_record_waits_for_its_holder_in_another_thread_then_gets_it(engine):
    key = lock_key("colcw-document-export", 1036)
    released, held = threading.Event(), threading.Event()

    def hold():
        with advisory_lock(engine, key, "busy"):
            held.set()
            released.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    with pytest.raises(Busy, match="busy"):
        _take(engine, [key], wait_seconds=0)
    assert time.monotonic() - started < 0.5  # only tried
    threading.Timer(0.5, released.set).start()
    with advisory_lock(engine, key, "busy", wait_seconds=10):
        assert time.monotonic() - started >= 0.4  # it waited for the holder
    holder.join(10)


def test_a_thousand_keys_held_at_once_use_a_few_file_descriptors_and_hold_each_key(engine):
    keys = [lock_key("colcw-company", n) for n in range(1, 1001)]
    other = next(lock_key("colcw-customer", n) for n in range(1, 100_000)
                 if lock_key("colcw-customer", n) % BUCKETS == keys[0] % BUCKETS)
    before = _open_fds()
    with advisory_locks(engine, keys, "busy", wait_seconds=0):
        assert _open_fds() - before <= 2
        assert all(holds(k) for k in keys)
        assert in_thread(lambda: [gets(engine, k) for k in keys[::100]]) == [False] * 10
        assert in_thread(lambda: gets(engine, other)) is True
        with advisory_locks(engine, keys, "busy", wait_seconds=0):  # nested in the thread: free
            pass
    assert _open_fds() == before
    assert in_thread(lambda: all(gets(engine, k) for k in keys[::100])) is True


def test_the_highest_and_lowest_keys_lock_too(engine):
    for key in ((1 << 63) - 1, -(1 << 63), 0, -1):
        with advisory_lock(engine, key, "busy", wait_seconds=0):
            assert in_thread(lambda k=key: gets(engine, k)) is False
        assert in_thread(lambda k=key: gets(engine, k)) is True


# --- a wait an admin's request to stop cuts short ------------------------------------------------------


def _stop_after(seconds: float):
    """A ``should_stop`` that answers True from ``seconds`` on, and counts how often it was asked."""
    asked = []
    at = time.monotonic() + seconds

    def should_stop() -> bool:
        asked.append(time.monotonic())
        return time.monotonic() >= at
    return should_stop, asked


@pytest.mark.parametrize("database", ["file", "memory", "buckets"])
def test_a_waiter_asked_to_stop_stops_within_seconds_not_after_its_wait(tmp_path, monkeypatch, database):
    if database == "buckets":  # a platform without OFD locks: the 4,096 files, as before
        monkeypatch.setitem(locks._ofd, "works", False)
    engine = create_engine("sqlite://" if database == "memory" else f"sqlite:///{tmp_path / 'host.db'}")
    key, free = lock_key("colcw-customer", 77), lock_key("colcw-customer", 78)
    release, holder = held_elsewhere(lambda: advisory_lock(engine, key, "busy"), timeout=5)
    try:
        should_stop, asked = _stop_after(0.5)
        started = time.monotonic()
        with pytest.raises(Stopped):
            _take(engine, [free, key], wait_seconds=60, should_stop=should_stop)
        assert time.monotonic() - started < 2.5
        assert 1 <= len(asked) <= 4  # about once a second, not at every poll
        assert not holds(free) and in_thread(lambda: gets(engine, free)) is True  # nothing kept
        assert in_thread(lambda: gets(engine, key)) is False  # the holder's lock untouched
        # Never asked to stop: it waits out its wait and is Busy, as before.
        started = time.monotonic()
        with pytest.raises(Busy):
            _take(engine, [key], wait_seconds=1.5, should_stop=lambda: False)
        assert 1.4 <= time.monotonic() - started < 3
    finally:
        release.set()
        holder.join(10)
    assert not issubclass(Stopped, Busy)  # a handler of Busy (a record to try later) does not take it
    with advisory_lock(engine, key, "busy", wait_seconds=0, should_stop=lambda: True):  # free: not asked
        assert holds(key)
