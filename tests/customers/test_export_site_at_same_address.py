"""Exporting a customer with a Location Code ("HQ") into a company that ConnectWise already holds with one site at the
customer's address (the default "Main" ConnectWise made with it) takes that site for the code instead of creating a
second site "HQ" beside it; the link remembers it, so a re-export writes nothing to the sites, and the customer reads
synced, also after a live update, whichever side is the master. With two sites at that address colcw does not guess:
the code's site is created, as before, and said so. Against the sandbox, over HTTP."""

from __future__ import annotations

import html as html_lib

import pytest
from customer_support import CUSTOMER, company, export, items, link_of, make_customer, run
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import list_states
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres

TAKEN = "Location Code HQ is the company's site Main, which has the customer's address, so no site HQ was created " \
    "in ConnectWise"
OLD_WORDING = "created site HQ in ConnectWise; the company's site is now HQ"
ADDRESS = {"addressLine1": CUSTOMER["address1"], "city": CUSTOMER["city"], "state": CUSTOMER["state"],
           "zip": CUSTOMER["zip"], "country": {"name": CUSTOMER["country"]}}


def _company_at_the_customers_address(sandbox) -> dict:
    """ACME1 as a rep made it in ConnectWise: ConnectWise gave it its site "Main" at its address."""
    resp = sandbox.api("POST", "company/companies", json={"identifier": "ACME1", "name": "Acme Corp", **ADDRESS})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _sites(sandbox, company_id: int) -> list[str]:
    return sorted(s["name"] for s in sandbox.api("GET", f"company/companies/{company_id}/sites").json())


def _site_writes(sandbox) -> list[dict]:
    """Requests since the last clear that wrote a site or moved a company to one."""
    out = []
    for r in sandbox.requests():
        if r["method"] == "GET" or "apis/3.0/" not in r["path"]:
            continue
        body = r.get("request_json") or []
        if "/sites" in r["path"] or any(isinstance(op, dict) and op.get("path") == "site" for op in body):
            out.append(r)
    return out


def _panel_status(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    return " ".join(html_lib.unescape(page.split('id="colcw-link-status">')[1].split("</p>")[0]).split())


def _master(name: str) -> None:
    get_live(db.session).customer_master = name
    db.session.commit()


def _live_update(cw_id: int) -> None:
    run(LIVE_KIND, {"records": {"company": [cw_id]}})
    db.session.expire_all()


def test_the_one_site_at_the_customers_address_is_taken_for_its_location_code(sync_ready, rep_client):
    _master(HOST_MASTER)
    made = _company_at_the_customers_address(sync_ready)
    assert _sites(sync_ready, made["id"]) == ["Main"]
    customer = make_customer(location_code="HQ")

    first = export(customer.id)
    item = items(first, "customer")[0]
    assert item.action == "updated", item.message
    assert TAKEN in item.message and "created site" not in item.message, item.message
    assert _sites(sync_ready, made["id"]) == ["Main"]  # no second site at the same address
    assert company(sync_ready, made["id"])["site"]["name"] == "Main"  # the rep's site, not renamed

    sync_ready.set_options(record_bodies=True)
    sync_ready.clear_requests()
    again = export(customer.id)
    assert [i.action for i in items(again, "customer")] == ["unchanged"], items(again)[0].message
    assert _site_writes(sync_ready) == []
    assert _sites(sync_ready, made["id"]) == ["Main"]

    # Read back by live updates: nothing ConnectWise changed, so nothing differs.
    _live_update(made["id"])
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert list_states(loaded(rep_client, "/customers/"))["ACME1"][0] == "Synced"
    status = _panel_status(rep_client, customer.id)
    assert "last synced" in status and "differs" not in status and "Changed since export" not in status, status


def test_with_connectwise_the_master_a_live_update_keeps_the_code_and_the_next_export_writes_nothing(sync_ready):
    _master(CW_MASTER)
    made = _company_at_the_customers_address(sync_ready)
    customer = make_customer(location_code="HQ")
    assert items(export(customer.id), "customer")[0].action == "updated"

    _live_update(made["id"])  # "Main" is the customer's HQ: not ConnectWise's change of the code to blank
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert link_of("customer", customer.id).synced_values["location_code"] == "HQ"
    # Passes that take ConnectWise's other changes (and so write the link's agreement again) keep it so.
    for phone in ("512-555-0198", "512-555-0197"):
        sync_ready.edit_company(made["id"], {"phoneNumber": phone})
        _live_update(made["id"])
        taken = db.session.get(Customer, customer.id)
        assert (taken.phone, taken.location_code) == (phone, "HQ")

    sync_ready.set_options(record_bodies=True)
    sync_ready.clear_requests()
    item = items(export(customer.id), "customer")[0]
    assert item.action == "unchanged", item.message
    assert _site_writes(sync_ready) == []
    assert company(sync_ready, made["id"])["site"]["name"] == "Main"
    assert _sites(sync_ready, made["id"]) == ["Main"]


def test_the_reps_export_click_says_which_site_was_taken(sync_ready, rep_client):
    from test_export_click_in_bulk import _export, _text

    made = _company_at_the_customers_address(sync_ready)
    customer = make_customer(location_code="HQ")

    assert _export(rep_client, customer.id).status_code == 302
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert f"Updated in ConnectWise: Acme Corp (ACME1); {TAKEN}." in page, page
    assert _sites(sync_ready, made["id"]) == ["Main"]


def test_with_two_sites_at_the_customers_address_the_codes_site_is_created_as_before(sync_ready, rep_client):
    from test_export_click_in_bulk import _export, _text

    made = _company_at_the_customers_address(sync_ready)
    resp = sync_ready.api("POST", f"company/companies/{made['id']}/sites",
                          json={"name": "Office", "addressLine1": ADDRESS["addressLine1"], "city": ADDRESS["city"],
                                "stateReference": {"identifier": ADDRESS["state"]}, "zip": ADDRESS["zip"],
                                "country": ADDRESS["country"]})
    assert resp.status_code == 201, resp.text
    customer = make_customer(location_code="HQ")

    assert _export(rep_client, customer.id).status_code == 302
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert f"Updated in ConnectWise: Acme Corp (ACME1); {OLD_WORDING}." in page, page
    assert _sites(sync_ready, made["id"]) == ["HQ", "Main", "Office"]
    assert company(sync_ready, made["id"])["site"]["name"] == "HQ"
    db.session.expire_all()
    last = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")
                              .order_by(SyncRun.id.desc()).limit(1)).scalar_one()
    message = items(last, "customer")[0].message  # the run log
    assert OLD_WORDING in message, message
    assert "2 of the company's sites (Main and Office) have the customer's address, so none of them was taken for " \
        "Location Code HQ" in message, message


def test_an_import_of_the_company_keeps_the_code_and_the_site_it_took(sync_ready):
    _master(CW_MASTER)  # (ConnectWise's values replace the customer's, a blank one too)
    made = _company_at_the_customers_address(sync_ready)
    customer = make_customer(location_code="HQ")
    assert items(export(customer.id), "customer")[0].action == "updated"

    item = items(run("customer_import", {"company": "ACME1"}), "customer")[0]
    assert item.action == "unchanged", item.message
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).location_code == "HQ"

    sync_ready.set_options(record_bodies=True)
    sync_ready.clear_requests()
    assert items(export(customer.id), "customer")[0].action == "unchanged"
    assert _site_writes(sync_ready) == []
    assert _sites(sync_ready, made["id"]) == ["Main"]
