"""Fault injection for API requests: latency, 429/500/503, dropped connections, hangs.

A fault spec (JSON body of ``POST /__sandbox__/faults``)::

    {"status": 429 | 500 | 503 | "drop" | "hang",   # optional when latency_ms is given
     "latency_ms": 200,                              # delay before answering
     "retry_after": 2,                               # 429 only: Retry-After seconds (default 1)
     "seconds": 5,                                   # "hang" only: how long to sleep (default 30); a plain
                                                     # hang sleeps before the resource, so the write lands late
     "fraction": 0.3,                                # fire on ~30% of matching requests, or
     "nth": 3,                                       # fire only on the 3rd matching request, or
     "count": 2,                                     # fire on the next 2 matching requests;
     "method": "POST", "path": "company/companies",  # filters (path is a regex searched in the URL path)
     "applied": true}                                # the request is carried out first (see below)

Without fraction/nth/count a fault fires on every matching request until cleared.

Several faults on one request: a latency fault (``latency_ms`` without a status) combines with the others — a slow
429, a slow drop — as ConnectWise can be slow and refuse at once. Every latency fault that fires delays the answer
(they overlap: the longest decides), and so does a status fault's own ``latency_ms``. Of the status faults, the first
armed that fires answers the request; those after it are not consulted for that request (it counts in neither their
``seen`` nor their ``fired``, and their nth/count/fraction apply to the requests that reach them). ``fired`` counts
the requests a fault was applied to, never one another fault answered.

``"applied": true`` (with "hang", "drop", 500 or 503) makes the fault a write ConnectWise carried
out but never acknowledged: the request reaches its resource and is applied (a POST creates its
record), then the response is lost — "drop" closes the connection with no answer, "hang" holds
the answer for ``seconds`` (past the client's read timeout), 500/503 replace it with an error. It
is what a client sees when a gateway or the network fails after the server acted, and what makes a
blindly repeated create produce a second record.
Counting starts when the fault is added. The 429 body is the documented one, which has a
different shape from the other errors: ``{"error": "ConnectWiseAPI", "message": "Too many
requests. Please try again in N seconds."}``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

from cw_sandbox.errors import bad_request

_STATUSES = {429, 500, 503, "drop", "hang"}


@dataclass
class Fault:
    """One armed fault."""

    fid: int
    status: int | str | None
    latency_ms: int = 0
    retry_after: int = 1
    seconds: float = 30.0
    fraction: float | None = None
    nth: int | None = None
    count: int | None = None
    method: str | None = None
    path: re.Pattern[str] | None = None
    applied: bool = False
    seen: int = 0
    fired: int = 0
    spec: dict = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether the filters select this request."""
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not self.path.search(path))

    def decide(self, rng: random.Random) -> bool:
        """Count a matching request and say whether the fault fires on it."""
        self.seen += 1
        if self.nth is not None:
            fire = self.seen == self.nth
        elif self.count is not None:
            fire = self.fired < self.count
        elif self.fraction is not None:
            fire = rng.random() < self.fraction
        else:
            fire = True
        if fire:
            self.fired += 1
        return fire

    @property
    def spent(self) -> bool:
        """True once a one-shot fault can never fire again."""
        return (self.nth is not None and self.seen >= self.nth) or (
            self.count is not None and self.fired >= self.count)


def parse_fault(spec: dict, fid: int) -> Fault:
    """Validate a fault spec (400 on nonsense, so tests fail loudly)."""
    if not isinstance(spec, dict):
        raise bad_request("A fault must be a JSON object.")
    status = spec.get("status")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if status is not None and status not in _STATUSES:
        raise bad_request(f"status must be one of 429, 500, 503, 'drop', 'hang'; got {status!r}.")
    latency = int(spec.get("latency_ms") or 0)
    if status is None and not latency:
        raise bad_request("A fault needs a status or latency_ms.")
    applied = spec.get("applied", False)
    if not isinstance(applied, bool):
        raise bad_request("applied must be true or false.")
    if applied and status not in ("hang", "drop", 500, 503):
        raise bad_request("applied needs status 'hang', 'drop', 500 or 503 (the answer lost after the write).")
    selectors = [k for k in ("fraction", "nth", "count") if spec.get(k) is not None]
    if len(selectors) > 1:
        raise bad_request("Use at most one of fraction, nth and count.")
    try:
        pattern = re.compile(spec["path"]) if spec.get("path") else None
    except re.error as exc:
        raise bad_request(f"Bad path regex: {exc}") from None
    return Fault(
        fid=fid, status=status, latency_ms=latency,
        retry_after=int(spec.get("retry_after", 1)), seconds=float(spec.get("seconds", 30)),
        fraction=float(spec["fraction"]) if spec.get("fraction") is not None else None,
        nth=int(spec["nth"]) if spec.get("nth") is not None else None,
        count=int(spec["count"]) if spec.get("count") is not None else None,
        method=spec.get("method"), path=pattern, applied=applied, spec=dict(spec),
    )


class FaultSet:
    """The armed faults, consulted once per API request (thread-safe)."""

    def __init__(self, seed: int = 1234) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next = 1
        self._seed = seed
        self._rng = random.Random(seed)  # seeded so a fraction-based test is repeatable

    def add(self, spec: dict) -> Fault:
        """Arm a fault; returns it (its ``fid`` identifies it)."""
        with self._lock:
            fault = parse_fault(spec, self._next)
            self._next += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        """Disarm everything (and restart the random draws, as the callback faults do: a fraction-based test then
        sees the same requests fail whatever ran before it on the sandbox)."""
        with self._lock:
            self._faults.clear()
            self._rng = random.Random(self._seed)

    def describe(self) -> list[dict]:
        """The armed faults with their counters (for GET /__sandbox__/faults)."""
        with self._lock:
            return [{"id": f.fid, **f.spec, "seen": f.seen, "fired": f.fired} for f in self._faults]

    def pick(self, method: str, path: str) -> Picked | None:
        """What to do to this request, if anything (see the module doc): the longest latency of the faults that fire,
        and the status fault that answers it. A status fault is consulted (counts the request in ``seen``, and in
        ``fired`` when it fires) only while no earlier one answered it; a latency fault always is."""
        latency, chosen = 0, None
        with self._lock:
            for fault in self._faults:
                if fault.status is not None and chosen is not None:
                    continue  # answered by an earlier status fault: this one is not applied, nor counted
                if not fault.matches(method, path) or fault.spent or not fault.decide(self._rng):
                    continue
                latency = max(latency, fault.latency_ms)
                if fault.status is not None:
                    chosen = fault
        if chosen is None and not latency:
            return None
        return Picked(latency_ms=latency, fault=chosen)


@dataclass(frozen=True)
class Picked:
    """The faults applied to one request: wait ``latency_ms``, then ``fault`` (a status fault) answers it, if any."""

    latency_ms: int
    fault: Fault | None
