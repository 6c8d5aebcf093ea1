"""A tiny HTTP receiver for the sandbox's callbacks (werkzeug in a thread), and an independent signature check.

    receiver.answer(429, 200)          # the next two POSTs get these statuses, then 200 again
    gate = receiver.hold()             # POSTs wait (after being recorded) until gate.set()
    calls = receiver.wait_for(3)       # the first three POSTs, or AssertionError after 10 s
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Call:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def signature(self) -> str | None:
        return self.headers.get("X-Content-Signature")

    @property
    def entity(self) -> dict:
        return json.loads(self.json["Entity"])


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Receiver:
    """Records every request and answers with the queued statuses (200 when none is queued)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._answers: deque[int] = deque()
        self._gate: threading.Event | None = None
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="callback-receiver", daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def answer(self, *statuses: int) -> None:
        with self._cond:
            self._answers.extend(statuses)

    def hold(self) -> threading.Event:
        """Make requests wait (they are recorded first) until the returned event is set."""
        self._gate = threading.Event()
        return self._gate

    def __call__(self, environ: dict, start_response: Any) -> Any:
        req = Request(environ)
        call = Call(req.path, dict(req.headers), req.get_data(), time.monotonic())
        with self._cond:
            self.calls.append(call)
            status = self._answers.popleft() if self._answers else 200
            gate = self._gate
            self._cond.notify_all()
        if gate is not None:
            gate.wait(30)
        return Response("", status=status)(environ, start_response)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls) < n:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"expected {n} callbacks, got {len(self.calls)} within {timeout:g} s"
                self._cond.wait(remaining)
            return list(self.calls[:n])

    def stop(self) -> None:
        if self._gate is not None:
            self._gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def fetch_key(call: Call) -> str:
    """The signing key behind the message's Metadata.key_url (fetched without credentials)."""
    resp = requests.get(call.json["Metadata"]["key_url"], timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["signing_key"]


def signature_ok(call: Call, signing_key: str) -> bool:
    """CALLBACKS.md: base64(HMAC-SHA256(key = SHA-256(signing key), raw body)), compared in constant time."""
    digest = hmac.new(hashlib.sha256(signing_key.encode()).digest(), call.body, hashlib.sha256).digest()
    return call.signature is not None and hmac.compare_digest(base64.b64encode(digest).decode(), call.signature)
