"""Cross-process locks on one record (a customer, a document, an opportunity name), held while it is written.

Web processes and RQ workers on several machines share one database, so a lock that must hold
across all of them lives there:

* on PostgreSQL, an advisory lock (transaction-scoped, on a connection of its own), which a dying
  process releases with its connection;
* on SQLite, which lives in one file on one machine and has no advisory locks, OS file locks on one
  file beside the database (``<database>.colcw-locks/records.lock``): on Linux an Open File Description
  byte-range lock (``F_OFD_SETLK``) on one byte per key, at the key's 63 low bits as offset, so two
  different keys never wait for each other, a holder of a thousand keys uses one file descriptor, two
  threads of one process conflict like two processes (the locks belong to the open file, not to the
  process, and a holder opens the file for itself), and the kernel releases them when the process
  dies (a holder unlocks before it closes the file, so a child forked meanwhile keeps nothing). Where
  OFD locks do not exist (not Linux, or a kernel before 3.15) the keys share 4,096 files (``key % 4096``)
  locked with ``flock``, as before: there two records may wait for each other, and a waiting run's
  message may then name a record nothing else exports. Chosen over a vaguer message: the messages are
  the callers', and SQLite off Linux is a developer's machine, not a deployment. Processes of a version
  that locked the 4,096 files do not see these locks: stop them all before starting this one. An
  in-memory SQLite database (one process) uses locks in memory.

A thread that holds a key may take it again (a rep's export holds its customer's lock while the run it
starts takes the same lock): the nested take is free. Several keys are taken in a sorted order, so two
holders of overlapping sets never wait for each other in a circle. ``wait_seconds=0`` only tries:
:class:`Busy` at once when another holder has the key.

A wait may be cut short: ``should_stop`` (a run's "has an admin asked me to stop?") is asked about once a
second while the lock is waited for — on PostgreSQL by a watcher thread beside the one waiting statement,
which it cancels (the wait keeps its place among the waiters, and nothing is logged unless it stops),
elsewhere by the polling itself — and when it answers yes the wait ends with :class:`Stopped`, which is not a
:class:`Busy`: what handles a busy record (wait for a later pass, fail the document) must not take a
stopped run for one. The caller ends its run as cancelled (its recorder's ``stop_if_requested``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from host_stub.bulk import int_list_text

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 120
FILE_BUCKETS = 4096  # where OFD locks do not exist: the files the keys share
STOP_CHECK_SECONDS = 1.0  # how often a wait asks ``should_stop``
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

# struct flock (Linux, 64-bit off_t): l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks).
_FLOCK = struct.Struct("hhqqi4x")
_OFFSET_BITS = (1 << 63) - 1
_ofd: dict[str, bool] = {}  # whether OFD locks work here, found on first use


class Busy(RuntimeError):
    """Another process held the lock for longer than we are willing to wait."""


class Stopped(RuntimeError):
    """The wait for a lock was cut short: ``should_stop`` said so. Not a :class:`Busy` (the record is not
    held too long: the caller was asked to stop); nothing was taken."""


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


class _Wait:
    """A wait until ``wait_seconds`` from now, asking ``should_stop`` about once a second."""

    def __init__(self, wait_seconds: float, busy_message: str, should_stop: Callable[[], bool] | None):
        now = time.monotonic()
        self.deadline = now + max(0.0, wait_seconds)
        self.busy_message = busy_message
        self.should_stop = should_stop
        self.next_look = now + STOP_CHECK_SECONDS

    def left(self) -> float:
        """How long to wait before looking again (at most until ``should_stop`` is next asked); :class:`Stopped`
        when it says so, :class:`Busy` when the wait is over."""
        now = time.monotonic()
        if self.should_stop is not None and now >= self.next_look - _POLL_SECONDS:
            self.next_look = now + STOP_CHECK_SECONDS
            if self.should_stop():
                raise Stopped("Stopped waiting for a lock: asked to stop.")
        if now >= self.deadline:
            raise Busy(self.busy_message)
        if self.should_stop is None:
            return self.deadline - now
        return max(0.0, min(self.deadline, self.next_look) - now)


@contextmanager
def advisory_lock(engine: Engine, key: int, busy_message: str, wait_seconds: float = LOCK_WAIT_SECONDS,
                  on_wait: Callable[[bool], None] | None = None, *, with_enclosing: bool = False,
                  should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold lock ``key`` while the block runs; :class:`Busy` after ``wait_seconds`` (0: only try).
    ``on_wait(True)`` is called when another holder makes it wait, ``on_wait(False)`` when that ends.
    ``with_enclosing``, ``should_stop``: see :func:`advisory_locks`."""
    if on_wait is None or wait_seconds <= 0 or holds(key):
        with advisory_locks(engine, [key], busy_message, wait_seconds, with_enclosing=with_enclosing,
                            should_stop=should_stop):
            yield
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(advisory_locks(engine, [key], busy_message, 0, with_enclosing=with_enclosing))
        except Busy:
            on_wait(True)
            try:
                stack.enter_context(advisory_locks(engine, [key], busy_message, wait_seconds,
                                                   with_enclosing=with_enclosing, should_stop=should_stop))
            finally:
                on_wait(False)
        yield


@contextmanager
def advisory_locks(engine: Engine, keys: Iterable[int], busy_message: str,
                   wait_seconds: float = LOCK_WAIT_SECONDS, *, with_enclosing: bool = False,
                   should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold every lock in ``keys`` (taken in sorted order) while the block runs.

    ``with_enclosing``: on PostgreSQL, when this thread already holds locks of ``engine``, these are
    taken on the same connection (no connection of their own to check out and end) and so are held
    until the enclosing locks end, not only while the block runs.

    ``should_stop``: asked about once a second while another holder makes this wait; when it answers
    True the wait ends with :class:`Stopped` (none of ``keys`` is held then)."""
    keys = list(keys)
    counts = _counts("keys")
    new = sorted({k for k in keys if counts.get(k, 0) == 0})
    with contextlib.ExitStack() as stack:
        if new:
            if engine.dialect.name == "postgresql":
                enclosing = _counts("connections").get(id(engine)) if with_enclosing else None
                if enclosing is not None:
                    stack.enter_context(_pg_locks_on(enclosing, new, busy_message, wait_seconds, should_stop))
                else:
                    stack.enter_context(_pg_locks(engine, new, busy_message, wait_seconds, should_stop))
            else:
                stack.enter_context(_local_locks(engine, new, busy_message, wait_seconds, should_stop))
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
    return "{" + int_list_text(keys) + "}"


def _take(conn, keys: list[int], busy_message: str, wait_seconds: float,
          should_stop: Callable[[], bool] | None, *, nested: bool) -> None:
    """Take every key on ``conn`` in one statement, in ascending order (waiting up to ``wait_seconds``, or
    only trying when 0); when they cannot all be had, what was taken goes, and :class:`Busy` (or
    :class:`Stopped`). ``nested``: in a savepoint (only it is rolled back), else in the connection's
    transaction. With ``should_stop``, a watcher asks it about once a second while the statement waits and,
    when it says yes, cancels the statement: the wait keeps its place in PostgreSQL's queue of waiters, and
    the server logs nothing unless it was stopped (a wait in slices of ``lock_timeout`` logged an error a
    second, for as long as it waited)."""
    array = _array(keys)
    scope = conn.begin_nested() if nested else None
    undo = scope.rollback if scope is not None else conn.rollback
    stopped = threading.Event()
    try:
        if wait_seconds > 0:
            conn.execute(text(f"SET LOCAL lock_timeout = '{max(1, int(wait_seconds * 1000))}ms'"))
            with _watching(conn, should_stop, stopped):
                conn.execute(_TAKE_ALL, {"keys": array})
        elif not conn.execute(_TRY_ALL, {"keys": array}).scalar():
            undo()
            raise Busy(busy_message)
    except OperationalError as e:
        undo()
        if stopped.is_set():
            raise Stopped("Stopped waiting for a lock: asked to stop.") from e
        raise Busy(busy_message) from e
    if stopped.is_set():  # asked to stop as the keys came: they go, as if it had stopped a moment sooner
        undo()
        raise Stopped("Stopped waiting for a lock: asked to stop.")
    if scope is not None:
        scope.commit()  # releases the savepoint; the locks stay with the enclosing transaction


@contextmanager
def _watching(conn, should_stop: Callable[[], bool] | None, stopped: threading.Event) -> Iterator[None]:
    """While the block waits on ``conn``, ask ``should_stop`` about once a second (from a thread of its own); when it
    says yes, set ``stopped`` and cancel the statement. The cancel is waited for (``cancel_safe``) before the block
    is left, so it can never reach a later statement of the connection."""
    if should_stop is None:
        yield
        return
    driver = conn.connection.driver_connection
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_CHECK_SECONDS):
            try:
                asked = should_stop()
            except Exception:  # noqa: BLE001 - cannot tell now (the database?): ask again in a second
                log.warning("a lock wait could not tell whether its run was asked to stop", exc_info=True)
                continue
            if asked:
                stopped.set()
                try:
                    driver.cancel_safe(timeout=10)
                except Exception:  # noqa: BLE001 - the wait then ends at its own timeout, as Busy
                    log.warning("a lock wait asked to stop could not be cancelled", exc_info=True)
                return

    watcher = threading.Thread(target=watch, name="colcw-lock-wait", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@contextmanager
def tried_in_transaction(session: Session, key: int, busy_message: str) -> Iterator[None]:
    """Try lock ``key`` for the block (:class:`Busy` at once when another holder has it). On PostgreSQL it is taken in
    ``session``'s own transaction, so it is held until that transaction ends (the block commits or rolls back): a web
    request that writes under it holds one database connection, not a second one for the lock. Elsewhere as
    :func:`advisory_lock` with ``wait_seconds=0``, for the block."""
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        with advisory_lock(engine, key, busy_message, wait_seconds=0):
            yield
        return
    with _pg_locks_on(session.connection(), [key], busy_message, 0, None):
        yield


@contextmanager
def all_tried_in_transaction(session: Session, keys: Iterable[int], busy_message: str) -> Iterator[None]:
    """:func:`tried_in_transaction` for several keys, tried together in one statement: all of them, or none and
    :class:`Busy` at once. Those this thread holds already (on a connection of their own) are not tried again."""
    wanted = sorted({k for k in keys if not holds(k)})
    engine = session.get_bind()
    if not wanted:
        yield
    elif engine.dialect.name != "postgresql":
        with advisory_locks(engine, wanted, busy_message, wait_seconds=0):
            yield
    else:
        with _pg_locks_on(session.connection(), wanted, busy_message, 0, None):
            yield


@contextmanager
def _pg_locks(engine: Engine, keys: list[int], busy_message: str, wait_seconds: float,
              should_stop: Callable[[], bool] | None) -> Iterator[None]:
    with engine.connect() as conn:
        _take(conn, keys, busy_message, wait_seconds, should_stop, nested=False)
        connections = _counts("connections")
        outermost = connections.setdefault(id(engine), conn) is conn
        try:
            yield
        except BaseException:
            conn.rollback()  # ends the transaction: releases the locks (and those taken with them)
            raise
        else:
            # The same, by COMMIT: the transaction only took locks, and psycopg forgets the connection's prepared
            # statements at every ROLLBACK (these locks end once per document of an export, on pooled connections
            # the run's statements use too).
            conn.commit()
        finally:
            if outermost:
                del connections[id(engine)]


@contextmanager
def _pg_locks_on(conn, keys: list[int], busy_message: str, wait_seconds: float,
                 should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """Take ``keys`` on the connection of this thread's enclosing locks; they end with its transaction."""
    if wait_seconds <= 0 and len(keys) == 1:  # one try, one statement: a refusal took nothing
        if not conn.execute(_TRY_ALL, {"keys": _array(keys)}).scalar():
            raise Busy(busy_message)
        yield
        return
    # Waiting (or several keys) in a savepoint: a timeout, or a refusal after some keys were taken,
    # rolls back only to it, never the enclosing locks.
    _take(conn, keys, busy_message, wait_seconds, should_stop, nested=True)
    yield


def _lock_dir(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".colcw-locks")


@contextmanager
def _local_locks(engine: Engine, keys: list[int], busy_message: str, wait_seconds: float,
                 should_stop: Callable[[], bool] | None) -> Iterator[None]:
    folder = _lock_dir(engine)
    wait = _Wait(wait_seconds, busy_message, should_stop)
    with contextlib.ExitStack() as stack:
        if folder is None:
            for k in keys:
                stack.enter_context(_memory_lock(k, wait))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "records.lock"
            if _ofd_works(path):
                stack.enter_context(_byte_locks(path, keys, wait))
            else:
                for bucket in sorted({k % FILE_BUCKETS for k in keys}):
                    stack.enter_context(_file_lock(folder / f"{bucket:04d}.lock", wait))
        yield


@contextmanager
def _memory_lock(key: int, wait: _Wait) -> Iterator[None]:
    with _memory_guard:
        lock = _memory_locks.setdefault(key, threading.Lock())
    while not lock.acquire(blocking=False):
        if lock.acquire(timeout=wait.left()):  # wait.left() raises Busy or Stopped when the wait is over
            break
    try:
        yield
    finally:
        lock.release()


# --- SQLite on Linux: one byte of one file per key ----------------------------------------------------


def _flock(kind: int, start: int = 0, length: int = 0) -> bytes:
    return _FLOCK.pack(kind, os.SEEK_SET, start, length, 0)


def _ofd_works(path: Path) -> bool:
    """Whether this platform has OFD locks (asked once per process, on the first lock file)."""
    works = _ofd.get("works")
    if works is None:
        works = False
        if hasattr(fcntl, "F_OFD_SETLK") and _FLOCK.size == 32:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK, _OFFSET_BITS, 1))
                works = _FLOCK.unpack(answer)[0] in (fcntl.F_UNLCK, fcntl.F_WRLCK, fcntl.F_RDLCK)
            except OSError:  # EINVAL: a kernel without them
                works = False
            finally:
                os.close(fd)
        _ofd["works"] = works
    return works


@contextmanager
def _byte_locks(path: Path, keys: list[int], wait: _Wait) -> Iterator[None]:
    """Lock one byte per key (at the key's 63 low bits) of ``path``, through an open file of this holder's own:
    its locks conflict with every other holder's, in this process (another thread) or another."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        for offset in sorted({k & _OFFSET_BITS for k in keys}):
            request = _flock(fcntl.F_WRLCK, offset, 1)
            while True:
                try:
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                time.sleep(min(_POLL_SECONDS, wait.left()))  # raises Busy or Stopped when the wait is over
        yield
    finally:
        # Unlock before closing: a child forked meanwhile shares the open file (and so would keep its locks).
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK))
        os.close(fd)


# --- elsewhere: keys share FILE_BUCKETS files ---------------------------------------------------------


@contextmanager
def _file_lock(path: Path, wait: _Wait) -> Iterator[None]:
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
                time.sleep(min(_POLL_SECONDS, wait.left()))  # raises Busy or Stopped when the wait is over
        files[path] = 1
        try:
            yield
        finally:
            del files[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
