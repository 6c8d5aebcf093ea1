"""Saving Map customers takes turns with an export of a customer chosen there (the customer's export lock, which every
export holds while it reads and writes the customer's links; and the import locks of the companies chosen). An export
of a customer linked to no company reads that it has none, creates the company with its account number as Company ID
and links it: a link saved on Map customers in between made the export's link fail to save, leaving the company it had
created in ConnectWise linked to nothing (a duplicate). Now the save waits for the export, then refuses the row: the
customer is linked by then. Against the sandbox and PostgreSQL, the admin's save through the page."""

from __future__ import annotations

import pytest
from admin_support import BASE
from lock_support import sent_while_an_export_reads
from sqlalchemy import select

from colcw_plugin.models import Link, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, map_default_rep, runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def _export(customer_id: int) -> SyncRun:
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer_id})
    db.session.commit()
    return runtime().execute(db.session, run.id)


def test_a_map_customers_save_during_an_export_of_the_customer_waits_for_it(admin_client, connected, cw_client,
                                                                           monkeypatch):
    map_default_rep(cw_client)
    other = connected.api("POST", "company/companies", json={
        "identifier": "CW-MAPB", "name": "Northside Freight", "addressLine1": "9 Dock Rd", "city": "Reno",
        "state": "NV"}).json()
    customer = Customer(account_number="H-MAP1", name="Harbor Map Co", address1="1 Pier St", city="Reno", state="NV",
                        zip="89501", country="United States")
    db.session.add(customer)
    db.session.commit()
    customer_id = customer.id
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": csrf_from(admin_client.get(BASE + "/")
                                                                              .get_data(as_text=True))})
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    # Once the export has read that the customer is linked to no company, the admin saves Map customers.
    answers, threads = sent_while_an_export_reads(monkeypatch, db.engine, lambda: admin_client.post(
        BASE + "/customers/map", data={"csrf_token": token, f"map-{other['id']}": str(customer_id), "confirm": "1"}))
    done = _export(customer_id)
    threads[0].join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    db.session.rollback()
    made = [c for c in connected.api("GET", "company/companies").json() if c["identifier"] == "H-MAP1"]
    assert len(made) == 1
    # The company the export made is the customer's (before: linked to nothing, the customer linked to CW-MAPB).
    assert get_link(db.session, "customer", customer_id).cw_id == made[0]["id"]
    assert db.session.execute(select(Link).where(Link.entity == "customer", Link.cw_id == other["id"])).first() is None
    # The admin is told the row was not saved, and why.
    assert answers and answers[0].status_code == 400, answers
    page = " ".join(answers[0].get_data(as_text=True).split())
    assert "Harbor Map Co is already linked to ConnectWise company" in page, page
