"""Cross-process locks on one record (a customer, a document, an opportunity name), held while it is written.

Web processes and RQ workers on several machines share one database, so a lock that must hold
across all of them lives there:

* on PostgreSQL, an advisory lock (transaction-scoped, on a connection of its own), which a dying
  process releases with its connection;
* on SQLite, which lives in one file on one machine and has no advisory locks, an OS file lock
  (``flock``) on a file beside the database (``<database>.colcw-locks/``), which the kernel releases
  when the process dies; keys share 4,096 files, so two records rarely wait for each other; an
  in-memory SQLite database (one process) uses locks in memory.

A thread that holds a key may take it again (a rep's export holds its customer's lock while the run it
starts takes the same lock): the nested take is free. Several keys are taken in a sorted order, so two
holders of overlapping sets never wait for each other in a circle. ``wait_seconds=0`` only tries:
:class:`Busy` at once when another holder has the key.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

LOCK_WAIT_SECONDS = 120
FILE_BUCKETS = 4096
_POLL_SECONDS = 0.05

# The keys go as the array's text (a page's thousands of keys: the driver writes a list element by element in
# Python, the database reads the text in C).
_TAKE_ALL = text("SELECT count(pg_advisory_xact_lock(k)) "
                 "FROM (SELECT k FROM unnest(CAST(CAST(:keys AS text) AS bigint[])) AS k ORDER BY k) AS s")
_TRY_ALL = text("SELECT bool_and(pg_try_advisory_xact_lock(k)) "
                "FROM (SELECT k FROM unnest(CAST(CAST(:keys AS text) AS bigint[])) AS k ORDER BY k) AS s")

_held = threading.local()  # this thread's keys (and, on SQLite, lock files) -> how many times taken
_memory_guard = threading.Lock()
_memory_locks: dict[int, threading.Lock] = {}


class Busy(RuntimeError):
    """Another process held the lock for longer than we are willing to wait."""


def lock_key(*parts: object) -> int:
    """A 64-bit advisory lock key for ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _counts(name: str) -> dict:
    if not hasattr(_held, name):  # keys, files (SQLite) or connections (PostgreSQL, by engine)
        setattr(_held, name, {})
    return getattr(_held, name)


def holds(key: int) -> bool:
    """Whether this thread holds ``key``."""
    return _counts("keys").get(key, 0) > 0


@contextmanager
def advisory_lock(engine: Engine, key: int, busy_message: str, wait_seconds: float = LOCK_WAIT_SECONDS,
                  on_wait: Callable[[bool], None] | None = None, *, with_enclosing: bool = False) -> Iterator[None]:
    """Hold lock ``key`` while the block runs; :class:`Busy` after ``wait_seconds`` (0: only try).
    ``on_wait(True)`` is called when another holder makes it wait, ``on_wait(False)`` when that ends.
    ``with_enclosing``: see :func:`advisory_locks`."""
    if on_wait is None or wait_seconds <= 0 or holds(key):
        with advisory_locks(engine, [key], busy_message, wait_seconds, with_enclosing=with_enclosing):
            yield
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(advisory_locks(engine, [key], busy_message, 0, with_enclosing=with_enclosing))
        except Busy:
            on_wait(True)
            try:
                stack.enter_context(advisory_locks(engine, [key], busy_message, wait_seconds,
                                                   with_enclosing=with_enclosing))
            finally:
                on_wait(False)
        yield


@contextmanager
def advisory_locks(engine: Engine, keys: Iterable[int], busy_message: str,
                   wait_seconds: float = LOCK_WAIT_SECONDS, *, with_enclosing: bool = False) -> Iterator[None]:
    """Hold every lock in ``keys`` (taken in sorted order) while the block runs.

    ``with_enclosing``: on PostgreSQL, when this thread already holds locks of ``engine``, these are
    taken on the same connection (no connection of their own to check out and end) and so are held
    until the enclosing locks end, not only while the block runs."""
    counts = _counts("keys")
    new = sorted({k for k in keys if counts.get(k, 0) == 0})
    with contextlib.ExitStack() as stack:
        if new:
            if engine.dialect.name == "postgresql":
                enclosing = _counts("connections").get(id(engine)) if with_enclosing else None
                if enclosing is not None:
                    stack.enter_context(_pg_locks_on(enclosing, new, busy_message, wait_seconds))
                else:
                    stack.enter_context(_pg_locks(engine, new, busy_message, wait_seconds))
            else:
                stack.enter_context(_local_locks(engine, new, busy_message, wait_seconds))
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        try:
            yield
        finally:
            for k in keys:
                counts[k] -= 1
                if not counts[k]:
                    del counts[k]


def _array(keys: list[int]) -> str:
    """The keys as PostgreSQL reads an array's text: ``{1,2,3}``."""
    return "{" + ",".join(str(int(k)) for k in keys) + "}"


def _take(conn, keys: list[int], busy_message: str, wait_seconds: float, *, undo: Callable[[], None]) -> None:
    """Take every key on ``conn`` in one statement, in ascending order (waiting up to ``wait_seconds``, or
    only trying when 0); when they cannot all be had, ``undo()`` (what was taken goes) and :class:`Busy`."""
    array = _array(keys)
    try:
        if wait_seconds > 0:
            conn.execute(text(f"SET LOCAL lock_timeout = '{max(1, int(wait_seconds * 1000))}ms'"))
            conn.execute(_TAKE_ALL, {"keys": array})
        elif not conn.execute(_TRY_ALL, {"keys": array}).scalar():
            raise Busy(busy_message)
    except OperationalError as e:
        undo()
        raise Busy(busy_message) from e
    except Busy:
        undo()
        raise


@contextmanager
def _pg_locks(engine: Engine, keys: list[int], busy_message: str, wait_seconds: float) -> Iterator[None]:
    with engine.connect() as conn:
        _take(conn, keys, busy_message, wait_seconds, undo=conn.rollback)
        connections = _counts("connections")
        outermost = connections.setdefault(id(engine), conn) is conn
        try:
            yield
        finally:
            if outermost:
                del connections[id(engine)]
            conn.rollback()  # ends the transaction: releases the locks (and those taken with them)


@contextmanager
def _pg_locks_on(conn, keys: list[int], busy_message: str, wait_seconds: float) -> Iterator[None]:
    """Take ``keys`` on the connection of this thread's enclosing locks; they end with its transaction."""
    if wait_seconds <= 0 and len(keys) == 1:  # one try, one statement: a refusal took nothing
        if not conn.execute(_TRY_ALL, {"keys": _array(keys)}).scalar():
            raise Busy(busy_message)
        yield
        return
    # Waiting (or several keys) in a savepoint: a timeout, or a refusal after some keys were taken,
    # rolls back only to it, never the enclosing locks.
    savepoint = conn.begin_nested()
    _take(conn, keys, busy_message, wait_seconds, undo=savepoint.rollback)
    savepoint.commit()  # releases the savepoint; the locks stay with the enclosing transaction
    yield


def _lock_dir(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".colcw-locks")


@contextmanager
def _local_locks(engine: Engine, keys: list[int], busy_message: str, wait_seconds: float) -> Iterator[None]:
    folder = _lock_dir(engine)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    with contextlib.ExitStack() as stack:
        if folder is None:
            for k in keys:
                stack.enter_context(_memory_lock(k, busy_message, deadline))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            for bucket in sorted({k % FILE_BUCKETS for k in keys}):
                stack.enter_context(_file_lock(folder / f"{bucket:04d}.lock", busy_message, deadline))
        yield


@contextmanager
def _memory_lock(key: int, busy_message: str, deadline: float) -> Iterator[None]:
    with _memory_guard:
        lock = _memory_locks.setdefault(key, threading.Lock())
    left = deadline - time.monotonic()
    if not (lock.acquire(timeout=left) if left > 0 else lock.acquire(blocking=False)):
        raise Busy(busy_message)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _file_lock(path: Path, busy_message: str, deadline: float) -> Iterator[None]:
    files = _counts("files")
    if files.get(path, 0):  # this thread has the file for another key already
        files[path] += 1
        try:
            yield
        finally:
            files[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(busy_message) from None
                time.sleep(_POLL_SECONDS)
        files[path] = 1
        try:
            yield
        finally:
            del files[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
