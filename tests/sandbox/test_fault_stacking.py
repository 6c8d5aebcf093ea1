"""Faults on one request, over HTTP: ``fired`` (GET /__sandbox__/faults) counts only the requests a fault was
applied to, as the request log shows them, and a latency fault slows a 429 or a drop instead of hiding it (QA: a 429
armed after a latency fault reported fired 32 and never appeared in the log)."""

from __future__ import annotations

import time

import pytest
import requests


def _armed(cw_sandbox) -> dict[int, dict]:
    """The armed faults as the control API reports them, by id."""
    resp = requests.get(f"{cw_sandbox.base_url}/__sandbox__/faults", timeout=30)
    resp.raise_for_status()
    return {f["id"]: f for f in resp.json()}


def _statuses(cw_sandbox, path: str) -> list:
    return [r["status"] for r in cw_sandbox.requests() if r["path"].endswith(path)]


def test_a_latency_fault_armed_first_slows_a_429_instead_of_hiding_it(cw_sandbox):
    cw_sandbox.clear_requests()
    slow = cw_sandbox.add_fault(latency_ms=250, path="company/states$")
    limited = cw_sandbox.add_fault(status=429, retry_after=3, count=2, path="company/states$")
    answers = []
    for _ in range(4):
        started = time.perf_counter()
        resp = cw_sandbox.api("GET", "company/states")
        answers.append((resp.status_code, resp.headers.get("Retry-After"), time.perf_counter() - started))
    assert [(status, after) for status, after, _ in answers] == [(429, "3"), (429, "3"), (200, None), (200, None)], \
        answers
    assert all(took >= 0.25 for _, _, took in answers), answers  # every one slowed, the 429s too

    armed = _armed(cw_sandbox)
    assert (armed[slow["id"]]["seen"], armed[slow["id"]]["fired"]) == (4, 4), armed
    assert (armed[limited["id"]]["seen"], armed[limited["id"]]["fired"]) == (2, 2), armed
    assert _statuses(cw_sandbox, "company/states") == [429, 429, 200, 200]  # the log agrees with fired


def test_a_slow_drop(cw_sandbox):
    cw_sandbox.clear_requests()
    cw_sandbox.add_fault(latency_ms=200, path="company/states$")
    drop = cw_sandbox.add_fault(status="drop", count=1, path="company/states$")
    started = time.perf_counter()
    with pytest.raises(requests.ConnectionError):
        cw_sandbox.api("GET", "company/states")
    assert time.perf_counter() - started >= 0.2
    assert cw_sandbox.api("GET", "company/states").status_code == 200
    assert _armed(cw_sandbox)[drop["id"]]["fired"] == 1
    assert _statuses(cw_sandbox, "company/states") == ["drop", 200]


def test_a_status_fault_another_answered_is_neither_fired_nor_seen(cw_sandbox):
    """Two status faults on the same requests: the first armed answers; the second counts only the requests that
    reach it, so its count of 1 is spent on a request it really answered."""
    cw_sandbox.clear_requests()
    first = cw_sandbox.add_fault(status=503, count=2, path="company/states$")
    second = cw_sandbox.add_fault(status=500, count=1, path="company/states$")
    statuses = [cw_sandbox.api("GET", "company/states").status_code for _ in range(4)]
    assert statuses == [503, 503, 500, 200], statuses
    armed = _armed(cw_sandbox)
    assert (armed[first["id"]]["seen"], armed[first["id"]]["fired"]) == (2, 2), armed
    assert (armed[second["id"]]["seen"], armed[second["id"]]["fired"]) == (1, 1), armed
    assert _statuses(cw_sandbox, "company/states") == [503, 503, 500, 200]
    # fired, over every fault, is what the log shows answered by a fault
    assert sum(f["fired"] for f in armed.values()) == sum(s in (500, 503) for s in statuses)
