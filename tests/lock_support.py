"""What the record-lock tests share: doing something in another thread (another connection, or another open
file on SQLite) and holding a lock there."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import text

from colcw_plugin.sync.shared.locks import Busy


def in_thread(fn: Callable, timeout: float = 30):
    """``fn()`` run in another thread; its result."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(timeout)
    return out[0]


def waits_for(commit: Callable[[], None], work: Callable, timeout: float = 10) -> list:
    """``work()`` started in another thread (another process's request, as the database sees it), checked to be
    still waiting half a second later, then ``commit()`` here (what it waits for); what ``work`` returned (or raised),
    once it has ended."""
    out: list = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(0.5)
    assert t.is_alive(), f"it did not wait: {out}"
    commit()
    t.join(timeout)
    return out


def free(take: Callable[[], AbstractContextManager]) -> bool:
    """Whether another thread gets the lock ``take()`` (which only tries) at once."""
    def attempt() -> bool:
        try:
            with take():
                return True
        except Busy:
            return False
    return in_thread(attempt)


def held_elsewhere(take: Callable[[], AbstractContextManager], timeout: float = 10):
    """Hold the lock ``take()`` in another thread until the returned event is set; (that event, the thread)."""
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with take():
            held.set()
            release.wait(60)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert held.wait(timeout)
    return release, t


def gets(engine, key: int) -> bool:
    """Whether this thread gets ``key`` at once (it only tries, and lets it go)."""
    from colcw_plugin.sync.shared.locks import advisory_lock

    try:
        with advisory_lock(engine, key, "busy", wait_seconds=0):
            return True
    except Busy:
        return False


def waiting_for_a_lock(engine) -> bool:
    """Some session of the test's database waits for a lock (PostgreSQL's pg_stat_activity)."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()")).scalar_one())


def sent_while_an_export_reads(monkeypatch, engine, send: Callable) -> tuple[list, list[threading.Thread]]:
    """Once an export has read its first chunk (a customer linked to no company: that it has none, before it creates
    the company), ``send()`` (a page's post: another request) runs in another thread, and the export goes on when that
    waits for a lock, has ended, or after 15 s. (what ``send`` returned, its thread once started): join it after the
    export."""
    from colcw_plugin.sync.customers import exporter as exporter_module

    answers: list = []
    threads: list[threading.Thread] = []
    real_read = exporter_module.read_chunk

    def read_chunk(*args, **kwargs):
        chunk = real_read(*args, **kwargs)
        if not threads:
            threads.append(threading.Thread(target=lambda: answers.append(send())))
            threads[0].start()
            deadline = time.monotonic() + 15
            while threads[0].is_alive() and not waiting_for_a_lock(engine) and time.monotonic() < deadline:
                time.sleep(0.05)
        return chunk

    monkeypatch.setattr(exporter_module, "read_chunk", read_chunk)
    return answers, threads
