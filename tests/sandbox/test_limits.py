"""Limits ConnectWise enforces on its own: URL length and the per-tenant request budget."""

from __future__ import annotations

import threading

import pytest
import requests

URL_LIMIT = 2048


def _url_of_length(sandbox, length: int) -> str:
    """A list URL of exactly ``length`` characters whose conditions stay valid."""
    base = sandbox.api_url + "company/states?conditions=" + requests.utils.quote('identifier in ("TX", "')
    tail = requests.utils.quote('")')
    pad = length - len(base) - len(tail)
    assert pad > 0
    return base + "Z" * pad + tail


def test_a_url_over_2048_characters_is_refused_with_414(cw_sandbox):
    kw = {"auth": cw_sandbox.auth, "headers": {"clientId": cw_sandbox.client_id}, "timeout": 30}
    at_limit = requests.get(_url_of_length(cw_sandbox, URL_LIMIT), **kw)
    assert at_limit.status_code == 200 and [s["identifier"] for s in at_limit.json()] == ["TX"]
    over = requests.get(_url_of_length(cw_sandbox, URL_LIMIT + 1), **kw)
    assert over.status_code == 414
    body = over.json()
    assert body["code"] == "UriTooLong" and "2048" in body["message"]
    assert cw_sandbox.requests()[-1]["status"] == 414


def test_the_request_budget_answers_429_with_retry_after_without_any_fault(cw_sandbox):
    assert cw_sandbox.throttle() == {"per_minute": 1000, "in_flight": 10, "window_seconds": 60}
    cw_sandbox.set_throttle(per_minute=5)
    statuses = [cw_sandbox.api("GET", "company/states/count").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    resp = cw_sandbox.api("GET", "company/states/count")
    assert resp.status_code == 429
    seconds = int(resp.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert resp.json() == {"error": "ConnectWiseAPI",
                           "message": f"Too many requests. Please try again in {seconds} seconds."}
    assert cw_sandbox.api("GET", "company/states/count").status_code == 429
    cw_sandbox.reset("empty")  # a reset restores the default budget and forgets the window
    assert cw_sandbox.api("GET", "company/states/count").status_code == 200


def test_the_default_budget_is_1000_requests_a_minute(cw_sandbox):
    session = requests.Session()
    kw = {"auth": cw_sandbox.auth, "headers": {"clientId": cw_sandbox.client_id}, "timeout": 30}
    url = cw_sandbox.api_url + "company/countries/count"
    statuses = [session.get(url, **kw).status_code for _ in range(1001)]
    assert statuses.count(200) == 1000 and statuses[-1] == 429


def test_requests_in_flight_beyond_the_limit_answer_429(cw_sandbox):
    cw_sandbox.set_throttle(in_flight=1)
    cw_sandbox.add_fault(latency_ms=3000, count=1, path="company/states$")
    slow: dict = {}
    thread = threading.Thread(target=lambda: slow.setdefault("resp", cw_sandbox.api("GET", "company/states")))
    thread.start()
    try:
        for _ in range(500):  # wait (10 s at most, on a loaded machine) until the slow request holds the only slot
            if any(e["path"].endswith("company/states") for e in cw_sandbox.requests()):
                break
            threading.Event().wait(0.02)
        else:
            pytest.fail("the slow request never reached the sandbox")
        second = cw_sandbox.api("GET", "company/countries/count")
        assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    finally:
        thread.join(timeout=10)
    assert slow["resp"].status_code == 200
    assert cw_sandbox.api("GET", "company/countries/count").status_code == 200
