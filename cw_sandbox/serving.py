"""The HTTP server the sandbox runs on: werkzeug's threaded server with kept-alive connections.

ConnectWise answers over HTTP/1.1 and keeps connections open (``Connection: keep-alive`` in live
answers quoted in public issues). werkzeug's development handler closes every connection: it
sends ``Connection: close`` and, after each response, drains whatever the client sent next
(which, on a kept-alive connection, is the next request). ``KeepAliveHandler`` therefore reads
each request body itself (by ``Content-Length``) before werkzeug runs the application, hands
werkzeug that body in memory, and points werkzeug's drain at a socket that is always readable
and never read, so the drain finds nothing and does not wait; it leaves the connection open
unless the client asked to close it (or sent a chunked body, which it leaves to werkzeug).
Idle connections are dropped after ``IDLE_SECONDS``; handler threads are daemons, so stopping
the server never waits for them.
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.serving import make_server as werkzeug_make_server

IDLE_SECONDS = 60
# Where the app leaves its tenant's clock offset in a request's environ, for the Date header (app.py).
CLOCK_OFFSET_KEY = "cw_sandbox.clock_offset"

# One end of a pair with a byte waiting that nobody reads: "readable" at once, for werkzeug's drain.
_ALWAYS_READABLE, _WRITER = socket.socketpair()
_WRITER.send(b"x")


class _DrainlessSocket:
    """The client socket, except that select() on it returns at once (see the module docstring)."""

    def __init__(self, real: socket.socket) -> None:
        self._real = real

    def fileno(self) -> int:
        return _ALWAYS_READABLE.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive on top of werkzeug's handler."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # Headers and body go out in separate writes; with Nagle's algorithm on, a kept-alive
    # connection stalls ~40 ms per response waiting for the client's delayed ACK.
    disable_nagle_algorithm = True
    quiet = False

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # werkzeug reads chunked bodies itself, then drains
            super().run_wsgi()
            return
        length = self.headers.get("Content-Length", "0").strip()
        body = self.rfile.read(int(length)) if length.isdigit() and int(length) > 0 else b""
        real_rfile, real_connection = self.rfile, self.connection
        self.rfile, self.connection = io.BytesIO(body), _DrainlessSocket(real_connection)
        try:
            super().run_wsgi()
        finally:
            self.rfile, self.connection = real_rfile, real_connection

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header by the tenant's clock (its ``clock_offset_seconds`` option, which the app leaves in the
        request's environ), as its records' stamps are."""
        if timestamp is None:
            environ = getattr(self, "environ", None) or {}
            timestamp = time.time() + float(environ.get(CLOCK_OFFSET_KEY, 0.0))
        return super().date_time_string(timestamp)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # the client did not ask to close: keep the connection for its next request
        super().send_header(keyword, value)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        if not self.quiet:
            super().log_request(*args, **kwargs)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # an idle kept-alive connection closing, not an error
        super().log_error(format, *args)


class QuietKeepAliveHandler(KeepAliveHandler):
    """No access log lines (tests)."""

    quiet = True


def make_server(host: str, port: int, app: Any, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded server for ``app`` with kept-alive connections (port 0 picks a free one)."""
    server = werkzeug_make_server(host, port, app, threaded=True,
                                  request_handler=QuietKeepAliveHandler if quiet else KeepAliveHandler)
    # Requests in flight on kept-alive connections must not hold up a shutdown.
    server.daemon_threads = True
    server.block_on_close = False
    return server
