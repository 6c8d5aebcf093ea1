"""A thread-safe token bucket that keeps the client under ConnectWise's request rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class SharedHold(Protocol):
    """A "send nothing before" shared by every client that talks to one tenant (a limiter may offer it).

    ConnectWise's ``Retry-After`` is the tenant's, not one client's: a limiter shared by several processes (colcw's
    Redis limiter) offers ``hold(seconds)``, which no later ``held_for()`` of any client sharing it forgets before
    ``seconds`` from now, and ``held_for()``, the seconds left of the longest hold asked for (0 when none). The
    client asks before each request and waits that long (see :mod:`.transport`); it knows nothing of where the hold
    is kept.
    """

    def hold(self, seconds: float) -> None: ...

    def held_for(self) -> float: ...


@runtime_checkable
class SharedTurn(Protocol):
    """A limiter with a :class:`SharedHold` that asks for the hold and takes the request's turn in one go (colcw's
    Redis limiter: one round trip per request, not one for each).

    ``turn_unless_held()`` returns the seconds left of the shared hold, taking no turn while it lasts, or 0 once it
    has taken the turn, as ``acquire()`` takes it (waiting for it first)."""

    def turn_unless_held(self) -> float: ...


@runtime_checkable
class SharedSlots(Protocol):
    """A limiter with a :class:`SharedHold` that also caps the tenant's requests in flight, whatever process sends them
    (colcw's Redis limiter: ``max_in_flight`` slots; None: no cap, and the client asks :class:`SharedTurn` instead).

    ``turn_and_slot()`` asks for the hold, a free slot and the request's turn in one go and answers ``(held, slot)``:
    the seconds left of the hold (nothing taken while it lasts, ``slot`` None); else, when every slot is taken,
    ``(0, None)`` (nothing taken: the client waits a moment and asks again); else ``(0, slot)``, the slot taken and the
    turn too (waited for as ``acquire()`` waits). The client gives every slot it took back with ``give_back(slot)``
    once the request's answer (or failure) has come, whatever happens; a slot never given back (its process died)
    lapses by itself after a while."""

    max_in_flight: int | None

    def turn_and_slot(self) -> tuple[float, object | None]: ...

    def give_back(self, slot: object) -> None: ...


class TokenBucket:
    """Allow ``rate_per_minute`` requests a minute, with bursts up to ``burst``.

    One bucket is shared by every thread that uses a client, so N threads together stay
    under the limit. Pass the same bucket to several clients to share it between them.
    ``acquire`` blocks (outside the lock) until a token is free.
    """

    def __init__(
        self,
        rate_per_minute: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.rate = rate_per_minute / 60.0  # tokens per second
        # Default burst: one second's worth (at least one). Large bursts would let a
        # parallel sync fire hundreds of calls at once and trip ConnectWise's own limiter.
        self.capacity = float(burst) if burst is not None else max(1.0, self.rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds callers spent waiting, for stats

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self) -> float:
        """Take one token, sleeping as needed. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.waited += waited
                    return waited
                # Sleep just long enough for one token; re-check after because other
                # threads may have taken it first.
                delay = (1.0 - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay
