"""The customer page names a live update as one: what live updates took from ConnectWise was shown as "updated
Import 2026-12-04 20:28 UTC: Prairie Dental (DEMO00013): took Company Name …", as if someone had run an import."""

from __future__ import annotations

import re

from htmx_loads import loaded
from inbound_support import enable, export_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.sync.inbound import LIVE_KIND, RECONCILE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub.extensions import db


def _run(kind: str, params: dict) -> None:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"


def _last_result(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    found = re.search(r'<p id="colcw-last-result">(.*?)</p>', page, re.S)
    assert found, "no latest result on the customer page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_what_live_updates_took_is_labelled_a_live_update_not_an_import(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="PD13", name="Prairie Dental")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")  # the runs below read it as a callback's would
    client = sign_in(app.test_client(), "riley@demo.example")

    sandbox.edit_company(company, {"name": "Prairie Dental Group"})
    _run(LIVE_KIND, {"records": {"company": [company]}})
    shown = _last_result(client, customer.id)
    assert re.match(r"updated Live update \d{4}-\d\d-\d\d \d\d:\d\d UTC: Prairie Dental \(PD13\): took Company "
                    r"Name “Prairie Dental Group”", shown), shown
    assert "Import" not in shown

    sandbox.edit_company(company, {"name": "Prairie Dental Care"})
    _run(RECONCILE_KIND, {"mode": "changes"})  # the safety net's pass (no callback came)
    shown = _last_result(client, customer.id)
    assert shown.startswith("updated Live update (safety net) ") and "Prairie Dental Care" in shown, shown

    sandbox.edit_company(company, {"name": "Prairie Dental Clinic"})
    _run("customer_import", {"company": "PD13"})  # an import run is still called one
    shown = _last_result(client, customer.id)
    assert shown.startswith("updated Import ") and "Prairie Dental Clinic" in shown, shown


def test_a_contact_a_live_update_took_is_the_customer_s_latest_result(app, fast_callbacks):
    """A live update that took only a contact (added in ConnectWise) left the panel showing the export before it as
    the customer's latest result; an export's own contact results stay part of its customer's result."""
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="PD14", name="Prairie Optics")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    client = sign_in(app.test_client(), "riley@demo.example")
    assert _last_result(client, customer.id).startswith("created Export ")

    grace = sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    _run(LIVE_KIND, {"records": {"contact": [grace["id"]]}})
    shown = _last_result(client, customer.id)
    assert re.match(r"created Live update \d{4}-\d\d-\d\d \d\d:\d\d UTC: Grace Hopper \(Prairie Optics\)", shown), shown

    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, export.id).status == "succeeded"
    shown = _last_result(client, customer.id)  # the export's customer result, not one of its contacts'
    assert shown.startswith(("unchanged Export ", "updated Export ")) and "Prairie Optics (PD14)" in shown, shown
