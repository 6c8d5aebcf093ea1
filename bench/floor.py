"""The floor of a colcw operation: the same ConnectWise requests, replayed alone.

A benchmark turns on the sandbox's body recording, runs colcw, and keeps what colcw sent
(:func:`recorded`). :func:`replay` then sends exactly those requests again — same method, path,
query and body, one after another on one kept-alive connection, with nothing else in between —
and times them. The sandbox does the same work both times (the caller puts the tenant back in the
state colcw found it in first, e.g. with ``reset``), so ``colcw's time / floor`` is what colcw adds
on top of ConnectWise's own requests: its database work, its Python, its waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import requests

from cw_sandbox.testing import SandboxServer

API = "/apis/3.0/"


def start_recording(sandbox: SandboxServer) -> None:
    """Keep request bodies in the sandbox's log from now on, and empty the log. Only the requests': the
    sandbox parsing every response it sends back (what contract tests record) would be work of the
    sandbox's own that slowed colcw's run and not the replay."""
    sandbox.set_options(record_bodies="requests")
    sandbox.clear_requests()


def recorded(sandbox: SandboxServer) -> list[dict]:
    """The API requests in the sandbox's log (the codebase discovery excluded), in order."""
    return [e for e in sandbox.requests() if API in e["path"]]


def replay(sandbox: SandboxServer, entries: Iterable[dict], *, before: Callable[[], None] | None = None) -> float:
    """Send ``entries`` again, in order, and return the seconds they took (``before`` runs first,
    untimed: put the tenant back as colcw found it)."""
    entries = list(entries)
    if before is not None:
        before()
    headers = {"clientId": sandbox.client_id, "Accept": "application/vnd.connectwise.com+json; version=2025.16"}
    with requests.Session() as session:
        session.trust_env = False
        session.auth = sandbox.auth
        prepared = [session.prepare_request(requests.Request(
            e["method"], f"{sandbox.base_url}{e['path']}" + (f"?{e['query']}" if e.get("query") else ""),
            headers=headers, json=e.get("request_json"))) for e in entries]
        start = time.perf_counter()
        for request in prepared:
            session.send(request, timeout=120).content  # noqa: B018 - read the body, as a client does
        return time.perf_counter() - start


def ratio_line(label: str, seconds: float, floor: float, target: float | None = None) -> str:
    """"label: 12.3 s, floor 4.1 s, 3.00x (target <= 3x)"."""
    ratio = seconds / floor if floor else float("inf")
    verdict = "" if target is None else f" (target <= {target:g}x: {'met' if ratio <= target else 'NOT met'})"
    return f"{label}: {seconds:.2f} s, floor {floor:.2f} s, {ratio:.2f}x{verdict}"
