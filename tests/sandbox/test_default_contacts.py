"""A company's default contact and its contacts' ``defaultFlag`` agree, as in ConnectWise: generated tenants hold
them so, and a write to either side moves the other (API-NOTES is silent on the second: see sideeffects.py)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import StoreSite

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _all(server, path: str) -> list[dict]:
    return server.api("GET", path, params={"pageSize": 1000}).json()


def _flagged_by_company(server) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for c in _all(server, "company/contacts"):
        if c.get("defaultFlag"):
            out[c["company"]["id"]].append(c["id"])
    return out


def _contact(server, company_id: int, first: str, **fields) -> dict:
    resp = server.api("POST", "company/contacts", json={"firstName": first, "lastName": "Test",
                                                        "company": {"id": company_id}, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _company(server, company_id: int) -> dict:
    return server.api("GET", f"company/companies/{company_id}").json()


def _flags(server, company_id: int) -> dict[str, bool]:
    return {c["firstName"]: c["defaultFlag"] for c in _all(server, "company/contacts")
            if c["company"]["id"] == company_id}


def test_generated_companies_point_at_their_default_contact(cw_sandbox):
    made = cw_sandbox.generate(40, contacts_per_company=2.5)
    assert made["contacts"] > 0
    flagged = _flagged_by_company(cw_sandbox)
    companies = _all(cw_sandbox, "company/companies")
    with_contacts = {c["company"]["id"] for c in _all(cw_sandbox, "company/contacts")}
    for company in companies:
        if company["id"] in with_contacts:
            assert len(flagged[company["id"]]) == 1, company["identifier"]
            assert company["defaultContact"]["id"] == flagged[company["id"]][0], company["identifier"]
            assert company["defaultContact"]["name"]  # a reference as ConnectWise returns it
        else:
            assert "defaultContact" not in company and company["id"] not in flagged


def test_a_contact_written_with_default_flag_becomes_its_companys_default_and_the_previous_one_is_not(cw_sandbox,
                                                                                                  company):
    comp, ada = company
    assert "defaultContact" not in _company(cw_sandbox, comp["id"])  # a contact without the flag sets nothing
    ben = _contact(cw_sandbox, comp["id"], "Ben", defaultFlag=True)
    assert _company(cw_sandbox, comp["id"])["defaultContact"]["id"] == ben["id"]
    cleo = _contact(cw_sandbox, comp["id"], "Cleo", defaultFlag=True)
    held = _company(cw_sandbox, comp["id"])
    assert held["defaultContact"]["id"] == cleo["id"]
    assert held["_info"]["updatedBy"] == "APIMember"  # a change of the company's, stamped as one
    assert _flags(cw_sandbox, comp["id"]) == {"Ada": False, "Ben": False, "Cleo": True}

    # A PATCH of the flag moves it the same way.
    resp = cw_sandbox.api("PATCH", f"company/contacts/{ada['id']}",
                          json=[{"op": "replace", "path": "defaultFlag", "value": True}])
    assert resp.status_code == 200 and resp.json()["defaultFlag"] is True
    assert _company(cw_sandbox, comp["id"])["defaultContact"]["id"] == ada["id"]
    assert _flags(cw_sandbox, comp["id"]) == {"Ada": True, "Ben": False, "Cleo": False}

    # The default contact losing its flag leaves the company without one.
    cw_sandbox.api("PATCH", f"company/contacts/{ada['id']}",
                   json=[{"op": "replace", "path": "defaultFlag", "value": False}])
    assert "defaultContact" not in _company(cw_sandbox, comp["id"])
    assert not any(_flags(cw_sandbox, comp["id"]).values())


def test_deleting_the_default_contact_leaves_the_company_without_one(cw_sandbox, company):
    comp, ada = company
    ben = _contact(cw_sandbox, comp["id"], "Ben", defaultFlag=True)
    assert cw_sandbox.api("DELETE", f"company/contacts/{ben['id']}").status_code == 204
    assert "defaultContact" not in _company(cw_sandbox, comp["id"])
    assert _flags(cw_sandbox, comp["id"]) == {"Ada": False}


def test_setting_a_companys_default_contact_flags_that_contact_only(cw_sandbox, company):
    comp, ada = company
    ben = _contact(cw_sandbox, comp["id"], "Ben", defaultFlag=True)
    resp = cw_sandbox.api("PATCH", f"company/companies/{comp['id']}",
                          json=[{"op": "replace", "path": "defaultContact", "value": {"id": ada["id"]}}])
    assert resp.status_code == 200 and resp.json()["defaultContact"]["id"] == ada["id"]
    assert _flags(cw_sandbox, comp["id"]) == {"Ada": True, "Ben": False}
    assert cw_sandbox.api("GET", f"company/contacts/{ben['id']}").json()["defaultFlag"] is False


def test_exporting_customers_just_imported_from_a_generated_tenant_changes_nothing(connected):
    """A generated tenant imported into colcw and exported straight back: every company and contact is unchanged,
    and ConnectWise gets no write (before, each company was 'updated' with 'default contact set')."""
    member = next(m for m in _all(connected, "system/members") if m["identifier"] == "admin1")
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    made = connected.generate(60, contacts_per_company=2.5)
    assert _run("customer_import", {"mode": "all"}).counts == {"created": made["companies"] + made["contacts"]}
    before = {c["id"]: c for c in _all(connected, "company/companies")}
    connected.clear_requests()

    exported = _run("customer_export", {"all": True})

    assert exported.counts == {"unchanged": made["companies"] + made["contacts"]}, exported.message
    assert [r for r in connected.requests() if r["method"] in WRITES] == []
    assert {c["id"]: c for c in _all(connected, "company/companies")} == before


def _run(kind: str, params: dict):
    run = create_run(db.session, runtime().kinds, kind, params, trigger="manual")
    db.session.commit()
    result = runtime().execute(db.session, run.id)
    assert result.status == "succeeded", result.message
    return result
