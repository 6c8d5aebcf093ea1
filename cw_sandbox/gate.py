"""What every request to the API passes before a resource sees it, and the media type on the way out.

In order: the request log entry, the URL length (414 above 2,048 characters), the tenant's
throttle (429, see ``throttle.py``), then any armed fault (see ``faults.py``). The control API
under ``/__sandbox__`` passes none of these.

URL length: API-NOTES §4.2 (Developer Guide) says to keep URLs under 2,000 characters, "safe
max around 1745"; nothing public says what a longer one gets. IIS, which serves ConnectWise,
refuses a query string over 2,048 characters by default (its request filtering answers 404.15)
and HTTP names the case 414 URI Too Long. We refuse any URL (scheme, host, path and query, as
sent) over 2,048 characters with 414 and the standard error envelope: a 404 would be mistaken
for a missing record or a moved codebase, which is worse for a client under test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable

from flask import Flask, Response, g, request

from cw_sandbox.errors import error_body
from cw_sandbox.faults import FaultSet
from cw_sandbox.responses import json_response, vendor_media_type
from cw_sandbox.throttle import Throttle, too_many_requests_body

MAX_URL_LENGTH = 2048


def url_length() -> int:
    """Length of the URL as the client sent it: scheme, host and the raw request target."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    return len(f"{request.scheme}://{request.host}") + len(raw)


def _is_api(path: str) -> bool:
    return "/apis/3.0" in path


def install(app: Flask, *, log, throttle: Throttle, faults: FaultSet, record_bodies: Callable[[], bool | str]) -> None:
    """Register the gate on ``app`` (``log`` appends a request-log entry; when ``record_bodies()`` is
    true the entry also keeps the JSON request and response bodies, for contract tests; when it is
    ``"requests"``, the request bodies only)."""

    @app.before_request
    def _gate() -> Response | None:
        if request.path.startswith("/__sandbox__"):
            return None
        g.logged = {"method": request.method, "path": request.path,
                    "query": request.query_string.decode("latin-1"), "status": None, "time": time.time(),
                    "examined": 0,
                    # The client's address and port: which TCP connection carried the request.
                    "connection": f"{request.remote_addr}:{request.environ.get('REMOTE_PORT', '')}"}
        if record_bodies():
            g.logged["request_json"] = request.get_json(silent=True)
        log(g.logged)
        length = url_length()
        if length > MAX_URL_LENGTH:
            return json_response(error_body("UriTooLong", f"The request URL is {length} characters long; "
                                            f"the limit is {MAX_URL_LENGTH}."), 414)
        if _is_api(request.path):
            wait = throttle.enter()
            if wait is not None:
                return json_response(too_many_requests_body(wait), 429, {"Retry-After": str(wait)})
            g.admitted = True
        return _fault(faults)

    @app.after_request
    def _finish(resp: Response) -> Response:
        logged = g.get("logged")
        lost = g.pop("fault_after", None)
        if lost is not None:
            resp = _lose_answer(lost, resp)
        if logged is not None and logged["status"] is None:
            logged["status"] = resp.status_code
        if logged is not None and "request_json" in logged and record_bodies() is True \
                and resp.mimetype == "application/json":
            data = resp.get_data()
            logged["response_json"] = json.loads(data) if data else None
        if logged is not None and _is_api(request.path) and resp.mimetype == "application/json":
            resp.headers["Content-Type"] = vendor_media_type(request.headers.get("Accept", ""))
        return resp

    @app.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        if g.pop("admitted", False):
            throttle.leave()


def _fault(faults: FaultSet) -> Response | None:
    picked = faults.pick(request.method, request.path)
    if picked is None:
        return None
    if picked.latency_ms:  # every latency fault that fired, with the status fault's own (see faults.py)
        time.sleep(picked.latency_ms / 1000)
    fault = picked.fault
    if fault is None:
        return None
    if fault.applied:
        g.fault_after = fault  # the resource runs first; _lose_answer then loses its answer
        return None
    if fault.status == "hang":
        time.sleep(fault.seconds)
    elif fault.status == "drop":
        return _drop_connection()
    elif fault.status == 429:
        seconds = fault.retry_after
        return json_response(too_many_requests_body(seconds), 429, {"Retry-After": str(seconds)})
    elif fault.status in (500, 503):
        message = "An error has occurred." if fault.status == 500 else "The service is unavailable."
        return json_response(error_body("ServerError" if fault.status == 500 else "ServiceUnavailable",
                                        message), int(fault.status))
    return None


def _drop_connection() -> Response:
    g.logged["status"] = "drop"
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        # Shut down (not close) the socket: the client sees the connection end with no
        # response, and werkzeug's later write fails with a quiet BrokenPipeError.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", status=500)


def _lose_answer(fault, resp: Response) -> Response:
    """An ``applied`` fault: the resource has carried the request out; its answer is lost."""
    g.logged["applied"] = resp.status_code  # what the resource answered, for tests reading the log
    if fault.status == "hang":
        time.sleep(fault.seconds)  # the client has given up by now; the record exists all the same
        return resp
    if fault.status == "drop":
        return _drop_connection()
    message = "An error has occurred." if fault.status == 500 else "The service is unavailable."
    return json_response(error_body("ServerError" if fault.status == 500 else "ServiceUnavailable", message),
                         int(fault.status))
