"""A thread-safe token bucket that keeps the client under ConnectWise's request rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


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
