"""Fault injection for callback deliveries: drop, duplicate, delay, reorder, bad signature.

A fault spec (JSON body of ``POST /__sandbox__/callbacks/faults``)::

    {"kind": "drop" | "duplicate" | "delay" | "reorder" | "bad_signature",
     "fraction": 0.3,            # fire on ~30% of matching deliveries, or
     "nth": 3,                   # only on the 3rd matching delivery, or
     "count": 2,                 # on the next 2 matching deliveries (without any: on every one)
     "type": "company",          # filters: callback type, action, record id,
     "action": "updated",        #   and a regex searched in the callback URL
     "id": 42, "url": "/hooks/",
     "copies": 2,                # duplicate: how many times the message arrives in all (default 2)
     "seconds": 2.0,             # delay: how long the message is held first (default 2)
     "window_seconds": 0.5,      # reorder: each message is held a random 0..window seconds (default 0.5)
     "how": "wrong_key"}         # bad_signature: "wrong_key" (default; signed with another key),
                                 #   "missing" (no header) or "tampered" (signed, then Action changed)

Selection counts work as in faults.py (and use its ``Fault`` for them). Every armed fault
that matches a delivery counts it; when a drop fires the message is never sent (the log says
"dropped"); otherwise every fault that fires applies: a message can be duplicated, each copy
held for its own random reorder time, and badly signed. Duplicates carry the same MessageId,
as a re-sent message would. Faults are decided when the change is queued.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import threading
from dataclasses import dataclass, field, replace

from cw_sandbox.delivery import Outgoing
from cw_sandbox.errors import bad_request
from cw_sandbox.faults import Fault

KINDS = ("drop", "duplicate", "delay", "reorder", "bad_signature")
HOWS = ("wrong_key", "missing", "tampered")


@dataclass
class CallbackFault:
    """One armed callback fault: what it does, which deliveries it picks, and how often."""

    fid: int
    kind: str
    selector: Fault  # fraction / nth / count bookkeeping shared with API faults
    type: str | None = None
    action: str | None = None
    record_id: int | None = None
    url: re.Pattern[str] | None = None
    copies: int = 2
    seconds: float = 2.0
    window_seconds: float = 0.5
    how: str = "wrong_key"
    spec: dict = field(default_factory=dict)

    def matches(self, out: Outgoing) -> bool:
        """Whether the filters select this delivery."""
        return ((self.type is None or self.type.lower() == out.type.lower())
                and (self.action is None or self.action.lower() == out.action.lower())
                and (self.record_id is None or self.record_id == out.record_id)
                and (self.url is None or bool(self.url.search(out.url))))


def _num(spec: dict, name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{name} must be a number from {low:g} to {high:g}; got {value!r}.")
    return float(value)


def parse_callback_fault(spec: dict, fid: int) -> CallbackFault:
    """Validate a spec (400 on nonsense, so a test with a typo fails loudly)."""
    if not isinstance(spec, dict):
        raise bad_request("A callback fault must be a JSON object.")
    known = {"kind", "fraction", "nth", "count", "type", "action", "id", "url", "copies", "seconds",
             "window_seconds", "how"}
    unknown = set(spec) - known
    if unknown:
        raise bad_request(f"Unknown callback fault key(s): {', '.join(sorted(unknown))}.")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise bad_request(f"kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    selectors = [k for k in ("fraction", "nth", "count") if spec.get(k) is not None]
    if len(selectors) > 1:
        raise bad_request("Use at most one of fraction, nth and count.")
    try:
        selector = Fault(fid=fid, status=None,
                         fraction=_num(spec, "fraction", 0, 0, 1) if spec.get("fraction") is not None else None,
                         nth=int(_num(spec, "nth", 1, 1, 1e9)) if spec.get("nth") is not None else None,
                         count=int(_num(spec, "count", 1, 0, 1e9)) if spec.get("count") is not None else None)
        pattern = re.compile(spec["url"]) if spec.get("url") else None
    except re.error as exc:
        raise bad_request(f"Bad url regex: {exc}") from None
    how = spec.get("how", "wrong_key")
    if how not in HOWS:
        raise bad_request(f"how must be one of {', '.join(HOWS)}; got {how!r}.")
    record_id = spec.get("id")
    if record_id is not None and (isinstance(record_id, bool) or not isinstance(record_id, int)):
        raise bad_request(f"id must be a record id (an integer); got {record_id!r}.")
    return CallbackFault(
        fid=fid, kind=kind, selector=selector, type=spec.get("type"), action=spec.get("action"), record_id=record_id,
        url=pattern, copies=int(_num(spec, "copies", 2, 2, 20)), seconds=_num(spec, "seconds", 2.0, 0, 600),
        window_seconds=_num(spec, "window_seconds", 0.5, 0, 600), how=how, spec=dict(spec))


def _tamper(body: bytes) -> bytes:
    """The same message with its Action changed after signing (what a forger would send)."""
    data = json.loads(body)
    data["Action"] = "deleted" if data.get("Action") != "deleted" else "updated"
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CallbackFaultSet:
    """The armed callback faults (thread-safe); ``apply`` turns one delivery into what is sent."""

    def __init__(self, seed: int = 4321) -> None:
        self._lock = threading.Lock()
        self._faults: list[CallbackFault] = []
        self._next = 1
        self._seed = seed
        self._rng = random.Random(seed)  # seeded so a fraction-based test is repeatable

    def add(self, spec: dict) -> CallbackFault:
        """Arm a fault; returns it (its ``fid`` identifies it)."""
        with self._lock:
            fault = parse_callback_fault(spec, self._next)
            self._next += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        """Disarm everything (and restart the random draws, so a test repeats after a reset)."""
        with self._lock:
            self._faults.clear()
            self._rng = random.Random(self._seed)

    def describe(self) -> list[dict]:
        """The armed faults with their counters."""
        with self._lock:
            return [{"id": f.fid, **f.spec, "seen": f.selector.seen, "fired": f.selector.fired} for f in self._faults]

    def apply(self, out: Outgoing, sign) -> list[Outgoing]:
        """The copies of ``out`` to hand to the worker (one marked ``dropped`` when a drop fires).

        ``sign(body, key)`` computes a signature, so a wrong-key signature is a real HMAC.
        """
        with self._lock:
            fired = [f for f in self._faults
                     if f.matches(out) and not f.selector.spent and f.selector.decide(self._rng)]
            if any(f.kind == "drop" for f in fired):
                return [replace(out, dropped=True, faults=["drop"], attempts=[])]
            names = [f.kind for f in fired]
            copies = max([f.copies for f in fired if f.kind == "duplicate"], default=1)
            delay = sum(f.seconds for f in fired if f.kind == "delay")
            window = max([f.window_seconds for f in fired if f.kind == "reorder"], default=None)
            bad = next((f.how for f in fired if f.kind == "bad_signature"), None)
            outs = []
            for _ in range(copies):
                jitter = self._rng.uniform(0, window) if window is not None else 0.0
                outs.append(replace(out, delay=out.delay + delay + jitter, faults=list(names), attempts=[]))
        for copy in outs:
            if bad == "wrong_key":
                copy.signature = sign(copy.body, base64.b64encode(os.urandom(24)).decode())
            elif bad == "missing":
                copy.signature = None
            elif bad == "tampered":
                copy.body = _tamper(copy.body)
        return outs
