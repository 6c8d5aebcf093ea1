"""The background worker that POSTs callbacks, as ConnectWise's callback service does (CALLBACKS.md).

A *delivery* is one message (one change, for one registered callback) on its way to the
callback's URL. ``callbacks.py`` builds and signs the message and hands it to
``DeliveryWorker.submit``, which only queues it: the API request that caused the change
never waits for a receiver.

* Worker threads (``workers``, default 4) POST the body as ``application/json`` with the
  ``x-content-signature`` header, each POST with a ``timeout_seconds`` limit (default 5).
* A 2xx answer delivers. 404, 409, 419 and 429 (``retry_statuses``) are retried after
  ``retry_delays`` seconds (default 2 s, then 4 s: three attempts in all). Anything else
  (another status, a timeout, a refused connection) fails at once. UNVERIFIED: whether
  ConnectWise also retries timeouts and connection errors; CALLBACKS.md lists statuses only.
* Deliveries to one URL leave one at a time, in the order they became due: without faults a
  receiver sees the changes of one record in commit order; retries and the delay/reorder
  faults are what bring messages out of order.
* Give-up: ConnectWise sets ``inactiveFlag`` on a callback that has failed for 3 consecutive
  days. A failed delivery starts the callback's failure streak (a 2xx ends it); a failure
  ``give_up_after_seconds`` (default 3 days) or more after the streak began deactivates the
  callback. The worker's clock can be moved forward (``advance``) so tests can cover days.
* A delivery whose callback was deleted or set inactive before it left is ``cancelled``.
* The log keeps the last 10,000 deliveries with every attempt (time, status, error).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from cw_sandbox.errors import bad_request

LOG_SIZE = 10_000


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker delivers; every field can be changed at run time through the control API."""

    retry_delays: tuple[float, ...] = (2.0, 4.0)
    retry_statuses: tuple[int, ...] = (404, 409, 419, 429)
    timeout_seconds: float = 5.0
    give_up_after_seconds: float = 3 * 86400.0
    workers: int = 4

    def describe(self) -> dict:
        """The settings as JSON."""
        return {"retry_delays": list(self.retry_delays), "retry_statuses": list(self.retry_statuses),
                "timeout_seconds": self.timeout_seconds, "give_up_after_seconds": self.give_up_after_seconds,
                "workers": self.workers}

    def updated(self, changes: dict) -> DeliverySettings:
        """A copy with ``changes`` applied (400 on an unknown name or a nonsensical value)."""
        unknown = set(changes) - set(self.describe())
        if unknown:
            raise bad_request(f"Unknown callback setting(s): {', '.join(sorted(unknown))}; use "
                              f"{', '.join(self.describe())}.")
        out: dict[str, Any] = {}
        if "retry_delays" in changes:
            out["retry_delays"] = tuple(_number_list(changes["retry_delays"], "retry_delays", 0, 3600))
        if "retry_statuses" in changes:
            out["retry_statuses"] = tuple(int(s) for s in _number_list(changes["retry_statuses"], "retry_statuses",
                                                                       100, 599))
        if "timeout_seconds" in changes:
            out["timeout_seconds"] = _number(changes["timeout_seconds"], "timeout_seconds", 0.01, 120)
        if "give_up_after_seconds" in changes:
            out["give_up_after_seconds"] = _number(changes["give_up_after_seconds"], "give_up_after_seconds", 0,
                                                   10 * 365 * 86400)
        if "workers" in changes:
            out["workers"] = int(_number(changes["workers"], "workers", 1, 32))
        return replace(self, **out)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{name} must be a number from {low:g} to {high:g}; got {value!r}.")
    return float(value)


def _number_list(value: Any, name: str, low: float, high: float) -> list[float]:
    if not isinstance(value, list) or len(value) > 10:
        raise bad_request(f"{name} must be a list of at most 10 numbers; got {value!r}.")
    return [_number(v, name, low, high) for v in value]


@dataclass
class Outgoing:
    """One message copy for one callback URL, and what became of it."""

    callback_id: int
    url: str
    type: str
    action: str
    record_id: int
    member_id: str
    message_id: str
    body: bytes
    signature: str | None
    delay: float = 0.0  # seconds to hold it before the first attempt (delay/reorder faults)
    faults: list[str] = field(default_factory=list)
    dropped: bool = False
    seq: int = 0
    state: str = "pending"  # pending | delivered | failed | dropped | cancelled
    attempts: list[dict] = field(default_factory=list)
    queued_at: float = 0.0
    due: float = 0.0  # time.monotonic() of the next attempt
    generation: int = 0
    gave_up: bool = False

    def describe(self, body: bool = False) -> dict:
        """The log entry as JSON (``body``: include the raw body text)."""
        out = {"seq": self.seq, "message_id": self.message_id, "callback_id": self.callback_id, "url": self.url,
               "type": self.type, "action": self.action, "id": self.record_id, "member_id": self.member_id,
               "state": self.state, "faults": list(self.faults), "queued_at": self.queued_at,
               "attempts": [dict(a) for a in self.attempts], "gave_up": self.gave_up, "signature": self.signature}
        if body:
            out["body"] = self.body.decode("utf-8")
        return out


class DeliveryWorker:
    """The delivery queue, its worker threads, the failure streaks and the delivery log."""

    def __init__(self, settings: DeliverySettings, *, is_active: Callable[[int], bool],
                 give_up: Callable[[int], None]) -> None:
        self.defaults = settings
        self.settings = settings
        self._is_active = is_active
        self._give_up = give_up
        self._cond = threading.Condition()
        self._pending: list[Outgoing] = []
        self._in_flight: set[str] = set()  # URLs with a POST under way
        self._log: deque[Outgoing] = deque(maxlen=LOG_SIZE)
        self._threads: dict[int, threading.Thread] = {}
        self._seq = itertools.count(1)
        self._streaks: dict[int, float] = {}  # callback id -> clock time of the first failure in a row
        self._offset = 0.0
        self._generation = 0
        self._closed = False

    # -- clock and settings --------------------------------------------------------------
    def now(self) -> float:
        """The callback service's clock: wall time plus what ``advance`` added."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (give-up emulation); returns the total offset."""
        with self._cond:
            self._offset += seconds
            return self._offset

    def configure(self, changes: dict) -> DeliverySettings:
        """Apply setting changes (validated); more workers start at once."""
        with self._cond:
            self.settings = self.settings.updated(changes)
            self._ensure_threads()
            self._cond.notify_all()
            return self.settings

    # -- queueing ------------------------------------------------------------------------
    def submit(self, outs: list[Outgoing]) -> None:
        """Queue messages (never blocks on a receiver). Dropped ones are only logged."""
        with self._cond:
            for out in outs:
                out.seq = next(self._seq)
                out.generation = self._generation
                out.queued_at = self.now()
                self._log.append(out)
                if out.dropped:
                    out.state = "dropped"
                    continue
                out.due = time.monotonic() + out.delay
                self._pending.append(out)
            self._ensure_threads()
            self._cond.notify_all()

    def forget_failures(self, callback_id: int) -> None:
        """Start a callback's failure streak afresh (it was edited or reactivated)."""
        with self._cond:
            self._streaks.pop(callback_id, None)

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight; False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def counts(self) -> dict:
        """How many deliveries are queued and in flight."""
        with self._cond:
            return {"pending": len(self._pending), "in_flight": len(self._in_flight)}

    def log(self, body: bool = False) -> list[dict]:
        """The delivery log, oldest first."""
        with self._cond:
            return [out.describe(body) for out in self._log]

    def clear_log(self) -> None:
        """Forget finished deliveries (queued ones keep going, and are no longer listed)."""
        with self._cond:
            self._log.clear()

    def reset(self) -> None:
        """Back to a new tenant: nothing queued, empty log, no streaks, clock and settings as built."""
        with self._cond:
            self._generation += 1
            self._pending.clear()
            self._log.clear()
            self._streaks.clear()
            self._offset = 0.0
            self.settings = self.defaults
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the worker threads (queued deliveries are abandoned)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout=self.settings.timeout_seconds + 1)

    # -- the worker threads --------------------------------------------------------------
    def _ensure_threads(self) -> None:
        if self._closed or not self._pending:
            return
        for index in range(self.settings.workers):
            if index not in self._threads:
                thread = threading.Thread(target=self._run, args=(index,), name=f"cw-callbacks-{index}", daemon=True)
                self._threads[index] = thread
                thread.start()

    def _take(self, index: int) -> Outgoing | None:
        """The next due delivery whose URL has nothing in flight (called with the lock held)."""
        while True:
            if self._closed or index >= self.settings.workers:
                self._threads.pop(index, None)
                return None
            ready = [o for o in self._pending if o.url not in self._in_flight]
            if not ready:
                self._cond.wait()
                continue
            first = min(ready, key=lambda o: (o.due, o.seq))
            wait = first.due - time.monotonic()
            if wait > 0:
                self._cond.wait(wait)
                continue
            self._pending.remove(first)
            self._in_flight.add(first.url)
            return first

    def _run(self, index: int) -> None:
        while True:
            with self._cond:
                out = self._take(index)
            if out is None:
                return
            if self._is_active(out.callback_id):
                status, error = self._post(out)
                sent = True
            else:
                status, error, sent = None, None, False
            with self._cond:
                self._in_flight.discard(out.url)
                give_up = self._settle(out, status, error, sent)
                self._cond.notify_all()
            if give_up is not None:
                self._give_up(give_up)

    def _post(self, out: Outgoing) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if out.signature is not None:
            headers["x-content-signature"] = out.signature
        try:
            resp = requests.post(out.url, data=out.body, headers=headers, timeout=self.settings.timeout_seconds,
                                 allow_redirects=False)
        except requests.Timeout:
            return None, f"timeout after {self.settings.timeout_seconds:g} s"
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        resp.close()
        return resp.status_code, None

    def _settle(self, out: Outgoing, status: int | None, error: str | None, sent: bool) -> int | None:
        """Record an attempt; requeue a retry; returns a callback id to deactivate, if any."""
        if out.generation != self._generation:
            return None  # the tenant was reset while this was in flight
        if not sent:
            out.state = "cancelled"
            return None
        out.attempts.append({"time": self.now(), "status": status, "error": error})
        if status is not None and 200 <= status < 300:
            out.state = "delivered"
            self._streaks.pop(out.callback_id, None)
            return None
        tried = len(out.attempts)
        if status in self.settings.retry_statuses and tried <= len(self.settings.retry_delays):
            out.due = time.monotonic() + self.settings.retry_delays[tried - 1]
            self._pending.append(out)
            return None
        out.state = "failed"
        started = self._streaks.setdefault(out.callback_id, self.now())
        if self.now() - started >= self.settings.give_up_after_seconds:
            out.gave_up = True
            self._streaks.pop(out.callback_id, None)
            return out.callback_id
        return None
