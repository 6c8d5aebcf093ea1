"""A customer whose export left a contact failed stays Failed on All Customers (and in its Failed filter) after a
safety-net pass of live updates that found its company unchanged: the contact is still not in ConnectWise, and the
customer page still lists its error. Only what settles the contact (an export that creates it, or the contact gone)
clears it; a pass that changed nothing does not hide it."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, SyncItem, SyncRun
from colcw_plugin.sync.customers.list_status import row_states
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer

LONG_NAME = "L" * 55  # the host allows 60 characters; ConnectWise refuses the contact


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _add_bad_contact(customer_id: int) -> None:
    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}} for c in customer.contacts]
    rows.append({"first_name": "Quinn", "last_name": LONG_NAME, "email": "not-an-email"})
    services.save_customer(data, rows, customer_id=customer_id)


def _listed(app, customer: Customer, query: str = "") -> str | None:
    """All Customers' ConnectWise cell for the customer (None when the list, filtered by ``query``, omits it)."""
    with app.app_context():
        listing = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{query}")
    row = re.search(rf'<tr data-row="{customer.id}">(.*?)</tr>', listing, re.S)
    if row is None:
        return None
    cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="[^"]*">([^<]*)</span>', row.group(1))
    return html_lib.unescape(cell.group(1))


def test_a_safety_net_pass_that_finds_the_company_unchanged_keeps_the_failed_contact_shown(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="AURO1", name="Aurora Dental")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark

    _add_bad_contact(customer.id)
    export = _run("customer_export", {"customer_id": customer.id})
    assert export.status != "succeeded", export.message
    quinn = next(c for c in db.session.get(Customer, customer.id).contacts if c.first_name == "Quinn")
    failed = db.session.execute(select(SyncItem).where(SyncItem.entity == "contact", SyncItem.host_id == quinn.id)
                                ).scalars().one()
    assert failed.action == "failed" and failed.run_id == export.id
    assert _listed(app, customer) == "Failed"

    # The export touched the company: the next pass reads it back and finds it unchanged.
    passed = _run("cw_reconcile", {"mode": "changes"})
    assert passed.status == "succeeded", passed.message
    latest = db.session.execute(select(SyncItem).where(SyncItem.entity == "customer", SyncItem.host_id == customer.id)
                                .order_by(SyncItem.id.desc()).limit(1)).scalar_one()
    assert (latest.run_id, latest.action) == (passed.id, "unchanged")

    state = row_states(db.session, [customer.id])[customer.id]
    assert state.label == "Failed", state
    assert state.reason.startswith(failed.message), state.reason
    assert _listed(app, customer) == "Failed"
    assert _listed(app, customer, "?cw=failed") == "Failed"
    assert _listed(app, customer, "?cw=synced") is None


def test_an_import_of_the_company_does_not_clear_the_failed_contact_either_but_deleting_the_contact_does(
        app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="AURO2", name="Aurora Dental Two")
    _add_bad_contact(customer.id)
    assert _run("customer_export", {"customer_id": customer.id}).status != "succeeded"
    assert _run("customer_import", {"company": str(company)}).status == "succeeded"
    assert row_states(db.session, [customer.id])[customer.id].label == "Failed"

    # The contact gone from the host: nothing of the customer is left out of ConnectWise.
    customer = db.session.get(Customer, customer.id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}}
            for c in customer.contacts if c.first_name != "Quinn"]
    services.save_customer(data, rows, customer_id=customer.id, delete_missing_contacts=True)
    assert row_states(db.session, [customer.id])[customer.id].label != "Failed"


def test_an_export_that_creates_the_contact_clears_it(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="AURO3", name="Aurora Dental Three")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    _add_bad_contact(customer.id)
    assert _run("customer_export", {"customer_id": customer.id}).status != "succeeded"
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert row_states(db.session, [customer.id])[customer.id].label == "Failed"

    customer = db.session.get(Customer, customer.id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE},
             **({"last_name": "Lee", "email": "quinn@acme.example"} if c.first_name == "Quinn" else {})}
            for c in customer.contacts]
    services.save_customer(data, rows, customer_id=customer.id)
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    assert row_states(db.session, [customer.id])[customer.id].label == "Synced"
