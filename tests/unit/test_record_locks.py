"""Record locks where PostgreSQL's advisory locks do not exist: SQLite's file locks beside the database.

They hold across threads and processes, free themselves when their process dies, let a thread take a
key it holds again, and only try when asked to (``wait_seconds=0``). (On PostgreSQL the same calls are
advisory locks; the concurrency tests of customers and documents run on both.)
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
from lock_support import gets, in_thread
from sqlalchemy import create_engine

from colcw_plugin.sync.shared.locks import FILE_BUCKETS, Busy, advisory_lock, advisory_locks, holds, lock_key


@pytest.fixture()
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    yield eng
    eng.dispose()


def test_another_thread_is_refused_while_the_key_is_held_and_gets_it_after(engine):
    key = lock_key("colcw-customer", 7)
    with advisory_lock(engine, key, "busy"):
        assert holds(key)
        assert in_thread(lambda: gets(engine, key)) is False
        assert in_thread(lambda: gets(engine, lock_key("colcw-customer", 8))) is True  # other records are free
    assert not holds(key)
    assert in_thread(lambda: gets(engine, key)) is True


def test_a_waiting_taker_gets_the_key_when_it_is_released_and_gives_up_after_its_wait(engine):
    key = lock_key("colcw-customer", 9)
    released = threading.Event()

    def hold():
        with advisory_lock(engine, key, "busy"):
            released.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    with pytest.raises(Busy, match="busy"), advisory_lock(engine, key, "busy", wait_seconds=0.3):
        pass
    threading.Timer(0.3, released.set).start()
    with advisory_lock(engine, key, "busy", wait_seconds=5):
        assert holds(key)
    holder.join(10)


def test_a_thread_takes_a_key_it_holds_again_and_keys_sharing_a_file_do_not_block_it(engine):
    first = lock_key("colcw-customer", 1)
    same_file = next(lock_key("colcw-customer", n) for n in range(2, 100_000)
                     if lock_key("colcw-customer", n) % FILE_BUCKETS == first % FILE_BUCKETS)
    with advisory_lock(engine, first, "busy", wait_seconds=0):
        with advisory_locks(engine, [first, same_file], "busy", wait_seconds=0):  # nested: free, no self-deadlock
            assert holds(first) and holds(same_file)
        assert holds(first) and not holds(same_file)
        assert in_thread(lambda: gets(engine, first)) is False
    assert not holds(first)


@pytest.mark.processes
def test_a_key_held_by_another_process_is_refused_and_freed_when_that_process_dies(engine, tmp_path):
    key = lock_key("colcw-customer", 42)
    script = textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import create_engine
        from colcw_plugin.sync.shared.locks import advisory_lock
        with advisory_lock(create_engine({str(engine.url)!r}), {key}, "busy"):
            print("held", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert gets(engine, key) is False
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no clean release
        proc.wait(10)
    assert gets(engine, key) is True


def test_an_in_memory_database_locks_within_the_process():
    engine = create_engine("sqlite://")
    key = lock_key("colcw-document-export", 3)
    with advisory_lock(engine, key, "busy"):
        assert in_thread(lambda: gets(engine, key)) is False
    assert in_thread(lambda: gets(engine, key)) is True
