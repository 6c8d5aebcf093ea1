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
from requests.exceptions import InvalidURL

IDLE_SECONDS = 15.0
POOL_SIZE = 32  # connections kept per host: every run and page of a process with its reads ahead


class LeanAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that does less for a request sent through no proxy (every client's: its session reads no
    proxy from the environment and holds none), through the hooks requests offers subclasses: the URL sent is the
    request's path (``request_url`` looks for a proxy first, parsing the URL twice), the connection pool is looked up
    without looking for a proxy, and the pool key of a site (its scheme, host and port with the TLS settings) is worked
    out once, not parsed from each request's URL (when ``verify`` is a bool: a CA bundle's path is looked at on
    disk each time, as requests does). With proxies, requests' own methods."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - HTTPAdapter's signature
        super().__init__(*args, **kwargs)
        self._pool_keys: dict[tuple, tuple[dict, dict]] = {}

    def request_url(self, request, proxies):  # noqa: ANN001, ANN201 - HTTPAdapter's signature
        if proxies:
            return super().request_url(request, proxies)
        return request.path_url

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):  # noqa: ANN001, ANN201
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as e:
            raise InvalidURL(e, request=request) from e
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # noqa: ANN001, ANN201
        url = request.url
        end = url.find("/", url.find("//") + 2)
        site = url[:end] if end > 0 else url  # (scheme://netloc)
        if not isinstance(verify, bool) or "@" in site:  # (no credentials kept in a process's adapter)
            return super().build_connection_pool_key_attributes(request, verify, cert)
        try:
            if cert is not None and not isinstance(cert, str | tuple):
                # A (cert, key) pair given as another sequence (a list, say): requests' pool key takes a tuple's two
                # parts and a list as one (an unhashable pool key: TypeError), and a list is no dict key either.
                cert = tuple(cert)
            known = self._pool_keys.get(key := (site, verify, cert))
        except TypeError:  # (not a sequence, or not of hashable parts: requests' own, whatever it does with it)
            return super().build_connection_pool_key_attributes(request, verify, cert)
        if known is None:
            known = super().build_connection_pool_key_attributes(request, verify, cert)
            if len(self._pool_keys) > 64:
                self._pool_keys.clear()
            self._pool_keys[key] = known
        host_params, pool_kwargs = known
        return dict(host_params), dict(pool_kwargs)


class _IdleCappedAdapter(LeanAdapter):
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
