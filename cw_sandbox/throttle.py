"""The per-tenant request budget ConnectWise enforces on its own (API-NOTES §6.3).

The Developer Guide: an integration sending "over 1,000 requests per minute" will "likely
experience rate limiting" (HTTP 429 with ``Retry-After``), and integrations should "limit
parallel requests". No public figure exists for parallel requests, nor for how the minute is
counted. Chosen here (unverified, on the strict side): a sliding 60-second window of
``per_minute`` admitted requests, and at most ``in_flight`` requests being answered at once;
beyond either, 429 with ``Retry-After`` (the seconds until the window frees a slot, or 1 for the
in-flight limit) and ConnectWise's 429 body. Refused requests do not count against the window,
so a client that waits as told gets through. ``None`` turns a limit off. ``window_seconds``
shortens the minute for tests that want to see a client wait out a 429 without waiting a minute.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_PER_MINUTE = 1000
DEFAULT_IN_FLIGHT = 10
WINDOW_SECONDS = 60.0


class Throttle:
    """Admission control for one tenant's API requests (thread-safe)."""

    def __init__(self, per_minute: int | None = DEFAULT_PER_MINUTE, in_flight: int | None = DEFAULT_IN_FLIGHT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.defaults = (per_minute, in_flight, WINDOW_SECONDS)
        self.per_minute = per_minute
        self.in_flight = in_flight
        self.window = WINDOW_SECONDS
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: deque[float] = deque()
        self._busy = 0

    def configure(self, *, per_minute: int | None, in_flight: int | None, window: float = WINDOW_SECONDS) -> None:
        """Set both limits (None = off) and the length of the counting window."""
        for value in (per_minute, in_flight):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError("a limit is a whole number of 1 or more, or null for none")
        if isinstance(window, bool) or not isinstance(window, int | float) or not 1 <= window <= WINDOW_SECONDS:
            raise ValueError(f"window_seconds is between 1 and {WINDOW_SECONDS:g}")
        with self._lock:
            self.per_minute, self.in_flight, self.window = per_minute, in_flight, float(window)

    def reset(self) -> None:
        """Back to the limits the tenant started with, with an empty window."""
        with self._lock:
            self.per_minute, self.in_flight, self.window = self.defaults
            self._admitted.clear()

    def describe(self) -> dict:
        """The current limits."""
        return {"per_minute": self.per_minute, "in_flight": self.in_flight, "window_seconds": self.window}

    def enter(self) -> int | None:
        """Admit a request (None) or say how many seconds to wait (it was not admitted)."""
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - self.window:
                self._admitted.popleft()
            if self.in_flight is not None and self._busy >= self.in_flight:
                return 1
            if self.per_minute is not None and len(self._admitted) >= self.per_minute:
                return max(1, math.ceil(self._admitted[0] + self.window - now))
            self._admitted.append(now)
            self._busy += 1
            return None

    def leave(self) -> None:
        """An admitted request has been answered."""
        with self._lock:
            self._busy = max(0, self._busy - 1)


def too_many_requests_body(seconds: int) -> dict:
    """ConnectWise's 429 body (a different shape from the other errors, API-NOTES §6.2)."""
    return {"error": "ConnectWiseAPI", "message": f"Too many requests. Please try again in {seconds} seconds."}
