"""What the record-lock tests share: doing something in another thread (another connection, or another open
file on SQLite) and holding a lock there."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import text
from sqlalchemy.orm import Session

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


def waiting_for_a_lock(engine, query_like: str | None = None) -> bool:
    """Some session of the test's database waits for a lock (PostgreSQL's pg_stat_activity); ``query_like``: only
    one whose statement is ``ILIKE`` it ("%FOR UPDATE%": a row lock, not an advisory one)."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with engine.connect() as conn:
        if query_like is None:
            return bool(conn.execute(text(sql)).scalar_one())
        return bool(conn.execute(text(sql + " AND query ILIKE :q"), {"q": query_like}).scalar_one())


def a_lock_waited_for(engine, seconds: float = 10) -> bool:
    """Whether some session of the test's database is seen waiting for a lock within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while not waiting_for_a_lock(engine):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


class HeldRequest:
    """Another request (``work(session)``, in a thread and a session of its own, then committed) held at a point of
    colcw's code until the side under test waits for a lock (or 10 s), then let go: it goes on and commits.

    The hold point is ``getattr(module, name)``, patched with ``monkeypatch``, holding in that request's thread only:
    before the function runs (``after=False``: what the request wrote so far stays locked), or once it has returned
    (``after=True``: what the function locked stays locked). :meth:`start` starts the request and comes back once it
    is held (or ended early), and starts a watcher that lets it go when a lock is waited for. After :meth:`join`:
    ``answers`` (what ``work`` returned), ``failed`` (what it raised), ``waited`` (``[True]``: the other side was seen
    waiting) and ``threads`` (the request's and the watcher's, once started) are the test's to check."""

    def __init__(self, monkeypatch, engine, work: Callable, module, name: str, *, after: bool = False) -> None:
        self.engine, self.work = engine, work
        self.held, self.go = threading.Event(), threading.Event()
        self.answers: list = []
        self.failed: list[BaseException] = []
        self.waited: list[bool] = []
        self.threads: list[threading.Thread] = []
        real = getattr(module, name)

        def hold() -> None:
            if self.threads and threading.current_thread() is self.threads[0]:
                self.held.set()
                self.go.wait(15)

        def held(*args, **kwargs):
            if not after:
                hold()
            out = real(*args, **kwargs)
            if after:
                hold()
            return out

        monkeypatch.setattr(module, name, held)

    def _request(self) -> None:
        try:
            with Session(self.engine) as other:
                self.answers.append(self.work(other))
                other.commit()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.failed.append(e)
        finally:
            self.held.set()

    def _release_once_waited(self) -> None:
        self.waited.append(a_lock_waited_for(self.engine))
        self.go.set()

    def start(self) -> None:
        """Start the request; back once it is held at its point (or has ended), with the watcher started."""
        self.threads.append(threading.Thread(target=self._request))
        self.threads[0].start()
        assert self.held.wait(15)
        self.threads.append(threading.Thread(target=self._release_once_waited))
        self.threads[1].start()

    def join(self) -> None:
        for t in self.threads:
            t.join(20)


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
