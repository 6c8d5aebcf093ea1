"""HTTP connections to ConnectWise kept between clients of one process.

Every page action and every run builds a client of its own. Without this each opened its own
connection to the API host: against a real tenant a TCP and a TLS handshake, two or three round
trips before the first request, for a rep's import of one company that then needs one. A
:class:`SharedConnections` lends every client the process's connection pool (a ``requests``
adapter; cookies stay in each client's own session), so a connection another client left is used
again. Two rules keep a kept connection safe to send on:

* none is kept past ``idle_seconds`` of silence (well under the idle time after which servers and
  load balancers drop a kept-alive connection): after a pause every kept connection is closed and
  the next request opens a new one, as it would have without sharing;
* a forked process (an RQ job's work horse) never uses its parent's sockets: it gets a pool of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from requests.adapters import HTTPAdapter

IDLE_SECONDS = 15.0
POOL_SIZE = 32  # connections kept per host: every run and page of a process with its reads ahead


class _IdleCappedAdapter(HTTPAdapter):
    """An adapter that drops its kept connections once nothing was sent for ``idle_seconds``."""

    def __init__(self, *, pool_size: int, idle_seconds: float, clock: Callable[[], float]) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._guard = threading.Lock()
        self._sending = 0
        self._last: float | None = None

    def send(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - HTTPAdapter's signature
        with self._guard:
            if self._sending == 0 and self._last is not None and self._clock() - self._last > self._idle_seconds:
                # (A connection still being read is closed when it is handed back, not before.)
                self.poolmanager.clear()
            self._sending += 1
        try:
            return super().send(request, *args, **kwargs)
        finally:
            with self._guard:
                self._sending -= 1
                self._last = self._clock()


class SharedConnections:
    """The connection pool the clients of one process share (see the module doc). Thread-safe."""

    def __init__(self, *, pool_size: int = POOL_SIZE, idle_seconds: float = IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, getpid: Callable[[], int] = os.getpid) -> None:
        self.pool_size = pool_size
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._getpid = getpid
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._adapter: HTTPAdapter | None = None

    def adapter(self) -> HTTPAdapter:
        """This process's adapter (a new one in a forked child, which leaves its parent's sockets alone)."""
        pid = self._getpid()
        with self._lock:
            if self._adapter is None or self._pid != pid:
                self._adapter = _IdleCappedAdapter(pool_size=self.pool_size, idle_seconds=self.idle_seconds,
                                                   clock=self._clock)
                self._pid = pid
            return self._adapter

    def close(self) -> None:
        """Close the kept connections of this process (a later client opens new ones)."""
        with self._lock:
            adapter = self._adapter if self._pid == self._getpid() else None
        if adapter is not None:
            adapter.close()
