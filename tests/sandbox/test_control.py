"""The /__sandbox__ control API: faults, the request log, reset, generate."""

from __future__ import annotations

import time

import pytest
import requests


def test_429_with_retry_after_and_the_documented_body(cw_sandbox):
    cw_sandbox.add_fault(status=429, retry_after=7, count=1)
    resp = cw_sandbox.api("GET", "company/states")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.json() == {"error": "ConnectWiseAPI", "message": "Too many requests. Please try again in 7 seconds."}
    assert cw_sandbox.api("GET", "company/states").status_code == 200


def test_503_on_the_next_k_requests(cw_sandbox):
    cw_sandbox.add_fault(status=503, count=2)
    assert [cw_sandbox.api("GET", "company/states").status_code for _ in range(3)] == [503, 503, 200]


def test_nth_matching_request_with_method_and_path_filters(cw_sandbox):
    cw_sandbox.add_fault(status=500, nth=2, method="POST", path=r"procurement/manufacturers$")
    statuses = []
    for n in range(3):
        cw_sandbox.api("GET", "procurement/manufacturers")  # not POST: never counted
        statuses.append(cw_sandbox.api("POST", "procurement/manufacturers", json={"name": f"Maker {n}"}).status_code)
    assert statuses == [201, 500, 201]


def test_drop_closes_the_connection_without_a_response(cw_sandbox):
    cw_sandbox.add_fault(status="drop", count=1)
    with pytest.raises(requests.ConnectionError):
        cw_sandbox.api("GET", "company/states")
    assert cw_sandbox.api("GET", "company/states").status_code == 200
    assert cw_sandbox.requests()[0]["status"] == "drop"


def test_hang_and_latency_delay_the_answer(cw_sandbox):
    cw_sandbox.add_fault(status="hang", seconds=1.5, count=1)
    with pytest.raises(requests.Timeout):
        cw_sandbox.api("GET", "company/states", timeout=0.3)
    cw_sandbox.clear_faults()
    cw_sandbox.add_fault(latency_ms=300, count=1)
    started = time.perf_counter()
    assert cw_sandbox.api("GET", "company/states").status_code == 200
    assert time.perf_counter() - started >= 0.3


def _manufacturers(cw_sandbox, name: str) -> list[dict]:
    return cw_sandbox.api("GET", "procurement/manufacturers", params={"conditions": f'name="{name}"'}).json()


def test_an_applied_drop_creates_the_record_and_then_closes_the_connection(cw_sandbox):
    cw_sandbox.add_fault(status="drop", applied=True, method="POST", path="procurement/manufacturers", count=1)
    with pytest.raises(requests.ConnectionError):
        cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Dropped Maker"})
    assert [m["name"] for m in _manufacturers(cw_sandbox, "Dropped Maker")] == ["Dropped Maker"]
    entry = next(e for e in cw_sandbox.requests() if e["method"] == "POST")
    assert (entry["status"], entry["applied"]) == ("drop", 201)


def test_an_applied_hang_creates_the_record_and_answers_too_late(cw_sandbox):
    cw_sandbox.add_fault(status="hang", seconds=1.5, applied=True, method="POST", count=1)
    started = time.perf_counter()
    with pytest.raises(requests.Timeout):
        cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Hung Maker"}, timeout=0.4)
    # The record exists before the answer would have come: the write was applied, then the answer hung.
    assert [m["name"] for m in _manufacturers(cw_sandbox, "Hung Maker")] == ["Hung Maker"]
    assert time.perf_counter() - started < 1.5


def test_an_applied_500_creates_the_record_and_answers_an_error(cw_sandbox):
    cw_sandbox.add_fault(status=500, applied=True, method="POST", count=1)
    assert cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Erred Maker"}).status_code == 500
    assert len(_manufacturers(cw_sandbox, "Erred Maker")) == 1


def test_a_plain_drop_is_not_applied(cw_sandbox):
    cw_sandbox.add_fault(status="drop", method="POST", count=1)
    with pytest.raises(requests.ConnectionError):
        cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Never Maker"})
    assert _manufacturers(cw_sandbox, "Never Maker") == []


@pytest.mark.parametrize("spec", [{"status": 429, "applied": True}, {"latency_ms": 5, "applied": True},
                                  {"status": "drop", "applied": "yes"}])
def test_applied_needs_a_lost_answer_fault(cw_sandbox, spec):
    resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/faults", json=spec, timeout=10)
    assert resp.status_code == 400


def test_fraction_fires_on_part_of_the_requests(cw_sandbox):
    cw_sandbox.add_fault(status=503, fraction=0.5)
    statuses = [cw_sandbox.api("GET", "company/states/count").status_code for _ in range(40)]
    assert 5 < statuses.count(503) < 35


def test_a_fraction_fires_on_the_same_requests_after_the_faults_are_cleared(cw_sandbox):
    """Cleared, the faults' draws start again: a fraction-based test does not depend on what ran before it."""
    def statuses() -> list[int]:
        cw_sandbox.add_fault(status=503, fraction=0.5)
        seen = [cw_sandbox.api("GET", "company/states/count").status_code for _ in range(40)]
        cw_sandbox.clear_faults()
        return seen

    cw_sandbox.clear_faults()
    first = statuses()
    assert 5 < first.count(503) < 35
    assert statuses() == first


def test_bad_fault_specs_are_400(cw_sandbox):
    resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/faults", json={"status": 418}, timeout=10)
    assert resp.status_code == 400


def test_request_log_records_method_path_query_and_status(cw_sandbox):
    cw_sandbox.api("GET", "company/states", params={"pageSize": 5})
    cw_sandbox.api("GET", "company/states/999999")
    log = cw_sandbox.requests()
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in log] == [
        ("GET", "/v2025_1/apis/3.0/company/states", "pageSize=5", 200),
        ("GET", "/v2025_1/apis/3.0/company/states/999999", "", 404)]


def test_reset_restores_the_seed_and_clears_faults_and_log(cw_sandbox):
    cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Temporary"})
    cw_sandbox.add_fault(status=500)
    cw_sandbox.reset("empty")
    assert cw_sandbox.requests() == []
    rows = cw_sandbox.api("GET", "procurement/manufacturers", params={"conditions": 'name="Temporary"'})
    assert rows.status_code == 200 and rows.json() == []


def test_generate_makes_companies_with_contacts(cw_sandbox):
    result = cw_sandbox.generate(200, contacts_per_company=2.5)
    assert result["companies"] == 200 and 400 <= result["contacts"] <= 600
    assert cw_sandbox.api("GET", "company/companies/count").json()["count"] == 200
    contact = cw_sandbox.api("GET", "company/contacts").json()[0]
    assert contact["company"]["id"] and contact["communicationItems"][0]["communicationType"] == "Email"


def test_the_request_log_keeps_bodies_both_ways_or_the_requests_only(cw_sandbox):
    posted = {"name": "Maker A"}
    for mode, keeps_response in ((True, True), ("requests", False)):
        assert cw_sandbox.set_options(record_bodies=mode)["record_bodies"] == mode
        cw_sandbox.clear_requests()
        made = cw_sandbox.api("POST", "procurement/manufacturers", json={**posted, "name": f"Maker {mode}"}).json()
        [entry] = [e for e in cw_sandbox.requests() if e["path"].endswith("procurement/manufacturers")]
        assert entry["request_json"] == {"name": f"Maker {mode}"}
        assert ("response_json" in entry) is keeps_response
        if keeps_response:
            assert entry["response_json"]["id"] == made["id"]
    cw_sandbox.set_options(record_bodies=False)
    cw_sandbox.clear_requests()
    cw_sandbox.api("GET", "company/states")
    assert "request_json" not in cw_sandbox.requests()[-1]
    resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/options", json={"record_bodies": "all"}, timeout=10)
    assert resp.status_code == 400 and "record_bodies is true, false or" in resp.text
