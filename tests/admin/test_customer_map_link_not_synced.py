"""A link made without a sync is never "last synced": a company linked to a customer by hand on Map customers is
recorded as the customer's latest result, and its page says "linked on Map customers on …; not synced since"; and a
link Map customers' scan made by Company ID still says so after an export that failed right after it (not "last
synced" at the scan's time). Against the sandbox over HTTP."""

from __future__ import annotations

import re
from html import unescape

from admin_support import BASE
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import FINAL_RUN_STATUSES, SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, map_default_rep, runtime
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, **body) -> dict:
    resp = sandbox.api("POST", "company/companies", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _token(admin_client) -> str:
    return csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _part(html: str, element_id: str) -> str:
    part = html[html.index(f'id="{element_id}"'):]
    return _text(part[:part.index("</p>")])


def _export_fails(admin_client, sandbox, customer: Customer) -> None:
    """An export of the customer whose ConnectWise connection drops, run in the foreground (the command line's): it
    ends without going through. (A rep's click no longer ends so: it hands the export over to its run, which tries
    again by itself, d991453.)"""
    sandbox.add_fault(status="drop", path="company/companies")
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id}, trigger="manual")
    db.session.commit()
    runtime().execute(db.session, run.id, person_waiting=True)
    sandbox.clear_faults()
    db.session.expire_all()
    run = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")
                             .order_by(SyncRun.id.desc())).scalars().first()
    assert run.status in FINAL_RUN_STATUSES and run.status != "succeeded", run.status
    latest = db.session.execute(select(SyncItem).where(SyncItem.entity == "customer", SyncItem.host_id == customer.id)
                                .order_by(SyncItem.id.desc())).scalars().first()
    assert latest.direction == "export" and latest.action not in ("created", "updated", "unchanged"), latest.action


def test_a_company_linked_on_map_customers_says_so_not_last_synced_even_after_a_failed_export(
        admin_client, connected, cw_client):
    map_default_rep(cw_client)
    company = _company(connected, identifier="CW-HAR", name="Harbor Logistics Inc", city="Reno")
    customer = Customer(account_number="H-HAR", name="Harbor Logistics", city="Reno")
    db.session.add(customer)
    db.session.commit()
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": _token(admin_client)})
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    resp = admin_client.post(BASE + "/customers/map", data={"csrf_token": token, f"map-{company['id']}": str(customer.id),
                                                            "confirm": "1"})
    assert resp.status_code == 302
    assert get_link(db.session, "customer", customer.id).cw_id == company["id"]

    html = loaded(admin_client, f"/customers/{customer.id}")
    status = _part(html, "colcw-link-status")
    assert re.search(r"linked on Map customers on .+; not synced since\.", status), status
    assert "last synced" not in status
    last = _part(html, "colcw-last-result")
    assert "link linked On Map customers" in last, last
    assert "Linked to ConnectWise company CW-HAR (Harbor Logistics Inc) on Map customers." in last, last

    _export_fails(admin_client, connected, customer)
    status = _part(loaded(admin_client, f"/customers/{customer.id}"), "colcw-link-status")
    assert re.search(r"linked on Map customers on .+; not synced since\.", status), status
    assert "last synced" not in status


def test_a_scan_link_whose_first_export_failed_was_never_synced(admin_client, connected, cw_client):
    map_default_rep(cw_client)
    _company(connected, identifier="H-STER", name="Sterling Dental Associates", city="Boise")
    customer = Customer(account_number="H-STER", name="Sterling Dental", city="Boise")
    db.session.add(customer)
    db.session.commit()
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": _token(admin_client)})
    assert get_link(db.session, "customer", customer.id) is not None

    _export_fails(admin_client, connected, customer)
    status = _part(loaded(admin_client, f"/customers/{customer.id}"), "colcw-link-status")
    assert re.search(r"linked by Company ID on .+ \(Map customers' scan: its Company ID is this account number\); "
                     r"not synced since\.", status), status
    assert "last synced" not in status
