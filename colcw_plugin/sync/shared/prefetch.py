"""Reading ahead: the next page of a ConnectWise listing comes in while this one is saved.

A bulk import alternates between waiting for ConnectWise (a page of 1,000 companies and their
contacts) and working on what came (mapping, the host's database). :func:`read_ahead` runs the
reading in a thread of its own, at most ``depth`` items ahead, so the two overlap: against a real
tenant, where a page takes seconds, the import takes about the longer of the two instead of their
sum. Memory stays bounded (``depth`` items waiting at most, and the one being read). An error while reading is raised
where the consumer asks for the next item, as it would have been without the thread; a consumer
that stops early (an error of its own, a ``break``) closes the reader, which stops at its next item.
Reading starts at once, when the reader is made (the import's contacts' pages, asked for several at a
time by the client's own paging, come in beside its companies').

:func:`call_ahead` does the same for one request whose answer is needed later: it goes out at once,
beside whatever the caller does first, and its answer (or its error) is taken where it is needed.
:func:`call_together` sends requests that do not depend on each other (a document's product lines)
side by side: against a real tenant they cost about one round trip for each few of them, not one each;
:func:`settle_together` does the same and hands back each one's outcome (a customer's contacts: one
refused, the others go on). :func:`writes_at_once` says how many a run's worker sends at once.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()
_POLL_SECONDS = 0.2


class _Failed:
    """An error raised in a reading thread, handed to the thread that takes the outcome (raised there)."""

    def __init__(self, error: BaseException):
        self.error = error

    @staticmethod
    def unwrap(value):
        """``value`` as the taker gets it: an error handed over is raised."""
        if isinstance(value, _Failed):
            raise value.error
        return value


def _read(items: Iterable, ready: queue.Queue, room: threading.Semaphore, stop: threading.Event) -> None:
    try:
        iterator = iter(items)
        while True:
            # A slot first, then the item: an item is read only when the consumer has room for it, so no read item
            # waits in this thread's hands beside the ones queued (they count against the same bound).
            while not room.acquire(timeout=_POLL_SECONDS):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            item = next(iterator, _END)
            ready.put(item)
            if item is _END:
                return
            del item  # handed over: this thread no longer holds it while it waits for the next slot
    except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
        ready.put(_Failed(e))


class Reader(Iterator[T]):
    """The items of an iterable, read in a thread of its own (:func:`read_ahead`). Reading starts when the
    reader is made, not when its first item is asked for: two readers made one after the other read side by
    side from the start. :meth:`close` (or ``contextlib.closing``) stops the thread at its next item.

    At most ``depth + 1`` items are out of the consumer's hands at a time: ``depth`` read and waiting, and the one
    being read (or read and not taken yet). Each is a slot the thread takes before it reads an item and the consumer
    gives back when it takes one: the thread never holds an item read beside a full queue."""

    def __init__(self, items: Iterable[T], depth: int, name: str) -> None:
        self._ready: queue.Queue = queue.Queue()  # bounded by the slots
        self._room = threading.Semaphore(max(0, depth) + 1)
        self._stop = threading.Event()
        self._done = False
        # The thread holds the queue and the flags, not the reader: a reader dropped unclosed is collected,
        # and its __del__ stops the thread.
        self._thread = threading.Thread(target=_read, args=(items, self._ready, self._room, self._stop), name=name,
                                        daemon=True)
        self._thread.start()

    def __iter__(self) -> Reader[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        value = self._ready.get()
        self._room.release()  # room for one more: the thread reads the next item now
        if value is _END:
            self.close()
            raise StopIteration
        if isinstance(value, _Failed):
            self.close()
        return _Failed.unwrap(value)

    def close(self) -> None:
        """Stop reading (the thread ends at its next item) and wait a moment for it."""
        self._done = True
        self._stop.set()
        self._thread.join(timeout=5)

    def __del__(self) -> None:  # a consumer that dropped it without closing: the thread ends all the same
        self._stop.set()


def read_ahead(items: Iterable[T], *, depth: int = 1, name: str = "colcw-read-ahead") -> Reader[T]:
    """The items of ``items``, read in a thread from now on: at most ``depth`` read and waiting, and one more being
    read (:class:`Reader`). ``depth`` 0: the next item is read while the consumer works on this one, and no further
    (a bulk import's pages: each one held is a page of records in memory)."""
    return Reader(items, depth, name)


# The calls sent ahead that the process's kept threads run at once: each export or import worker has two or three out
# at a time. A call sent while all of them are busy gets a thread of its own instead of waiting for one to come free:
# a busy web process (many reps exporting at once) would otherwise queue a rep's read behind others' slow requests,
# and a call that itself waited on a call sent ahead could wait forever.
AHEAD_THREADS = 32


class _AheadThreads:
    """The process's threads that calls sent ahead run on, started when first needed and kept for the next calls: a
    rep's export sends a read or two ahead, and starting a thread for each cost more than the call's own Python. A
    forked child (an RQ work horse) starts its own (the parent's threads are not in it)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._busy = 0  # calls handed to the kept threads and not ended yet

    def submit(self, run: Callable[[], None]) -> Future:
        with self._lock:
            if self._busy >= AHEAD_THREADS:
                return self._one_off(run)
            self._busy += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=AHEAD_THREADS, thread_name_prefix="colcw-ahead")
            future = self._pool.submit(run)
        future.add_done_callback(self._ended)
        return future

    def _ended(self, _: Future) -> None:
        with self._lock:
            self._busy -= 1

    @staticmethod
    def _one_off(run: Callable[[], None]) -> Future:
        """``run`` in a thread started for it alone (every kept thread is busy)."""
        future: Future = Future()
        future.set_running_or_notify_cancel()

        def go() -> None:
            try:
                run()
            finally:
                future.set_result(None)

        threading.Thread(target=go, name="colcw-ahead-extra", daemon=True).start()
        return future


_AHEAD_THREADS = _AheadThreads()


class Ahead(Generic[T]):
    """``call()`` started in a thread of the process's own (:func:`call_ahead`), named ``name`` while it runs."""

    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._outcome: list = []
        self._done = _AHEAD_THREADS.submit(lambda: self._run(call, name))

    def _run(self, call: Callable[[], T], name: str) -> None:
        thread = threading.current_thread()
        kept, thread.name = thread.name, name
        try:
            self._outcome.append(call())
        except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
            self._outcome.append(_Failed(e))
        finally:
            thread.name = kept

    def result(self) -> T:
        """Its value, or its error raised, as ``call()`` would have here."""
        self.wait()
        return _Failed.unwrap(self._outcome[0])

    def wait(self) -> None:
        """Wait for it to end, whatever its outcome (an answer that is no longer needed)."""
        futures_wait((self._done,))


def call_ahead(call: Callable[[], T], *, name: str = "colcw-call-ahead") -> Ahead[T]:
    """Start ``call()`` in another thread now (one of the process's kept ones), beside what the caller does first; its answer is
    taken later with :meth:`Ahead.result`. Only for calls that touch nothing but ConnectWise (no
    session, no lock: those belong to the caller's thread)."""
    return Ahead(call, name)


WRITES_AT_ONCE = 4  # requests a worker alone sends side by side when the client sets no bound of its own


def writes_at_once(max_in_flight: int | None, workers: int) -> int:
    """How many requests one of a run's ``workers`` sends side by side: its share of the client's requests in
    flight (``max_in_flight``; None: no bound, then :data:`WRITES_AT_ONCE`). A run whose workers already
    fill them (four workers, four in flight) gains nothing from more threads, and on a busy machine loses:
    each worker then sends one request after another, in its own thread."""
    return max(1, (max_in_flight or WRITES_AT_ONCE) // max(1, workers))


@dataclass
class Done(Generic[T]):
    """What became of one call of :func:`settle_together`: its value, its error, or neither (not started)."""

    started: bool = False
    value: T | None = None
    error: BaseException | None = None


def settle_together(calls: Sequence[Callable[[], T]], *, at_once: int, name: str = "colcw-together",
                    stops: Callable[[BaseException], bool] = lambda error: True) -> list[Done[T]]:
    """Each of ``calls``, at most ``at_once`` at a time (each in a thread of the caller's; the client bounds what
    all of a run's threads send at once), and what became of each, in the calls' order. An error for which
    ``stops`` holds (any, by default) keeps the calls not yet started from starting; this returns once those
    under way have ended (nothing is left in flight). With ``at_once`` 1 they run one after another here.
    Only for calls that touch nothing but ConnectWise (no session, no lock, no ORM object)."""
    calls = list(calls)
    out = [Done[T]() for _ in calls]
    stopped = threading.Event()

    def run(call: Callable[[], T], done: Done[T]) -> None:
        if stopped.is_set():
            return  # not started: an earlier call failed
        done.started = True
        try:
            done.value = call()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            done.error = e
            if stops(e):
                stopped.set()

    if at_once <= 1 or len(calls) <= 1:
        for call, done in zip(calls, out, strict=True):
            run(call, done)
        return out
    with ThreadPoolExecutor(max_workers=min(at_once, len(calls)), thread_name_prefix=name) as pool:
        for call, done in zip(calls, out, strict=True):
            pool.submit(run, call, done)
    return out


def call_together(calls: Sequence[Callable[[], T]], *, at_once: int, name: str = "colcw-together") -> list[T]:
    """Each of ``calls`` as :func:`settle_together` runs them, and their values in the calls' order. When one
    raises, no call starts after it and, once those under way have ended, the first error in the calls' order
    is raised, as it would have been one call after another."""
    outcomes = settle_together(calls, at_once=at_once, name=name)
    error = next((d.error for d in outcomes if d.error is not None), None)
    if error is not None:
        raise error
    return [d.value for d in outcomes]  # type: ignore[misc]
