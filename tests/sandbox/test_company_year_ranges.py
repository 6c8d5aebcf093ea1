"""A company's yearEstablished and revenueYear must lie between 1900 and 9999: ConnectWise answers 400 InvalidObject
with an OutOfRange entry per field, in the words of the live answer quoted in API-NOTES §6.2."""

from __future__ import annotations

BODY = {"identifier": "YEARS", "name": "Years Inc", "city": "Austin"}


def test_years_out_of_range_are_refused_with_out_of_range(cw_sandbox):
    resp = cw_sandbox.api("POST", "company/companies", json={**BODY, "yearEstablished": 0, "revenueYear": 10000})
    body = resp.json()
    assert resp.status_code == 400 and body["code"] == "InvalidObject"
    assert body["errors"] == [
        {"code": "OutOfRange", "message": "The field yearEstablished must be between 1900 and 9999.",
         "resource": "company", "field": "yearEstablished"},
        {"code": "OutOfRange", "message": "The field revenueYear must be between 1900 and 9999.",
         "resource": "company", "field": "revenueYear"}]


def test_the_bounds_and_no_year_at_all_are_taken(cw_sandbox):
    assert cw_sandbox.api("POST", "company/companies", json=BODY).status_code == 201
    resp = cw_sandbox.api("POST", "company/companies",
                          json={**BODY, "identifier": "YEARS2", "yearEstablished": 1900, "revenueYear": 9999})
    assert resp.status_code == 201, resp.json()


def test_a_patch_is_held_to_the_same_range(cw_sandbox):
    company = cw_sandbox.api("POST", "company/companies", json=BODY).json()
    resp = cw_sandbox.api("PATCH", f"company/companies/{company['id']}",
                          json=[{"op": "replace", "path": "yearEstablished", "value": 1899}])
    assert resp.status_code == 400
    assert [(e["code"], e["field"]) for e in resp.json()["errors"]] == [("OutOfRange", "yearEstablished")]
