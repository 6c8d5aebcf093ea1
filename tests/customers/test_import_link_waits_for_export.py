"""The Import popup's "link it to the existing customer" takes turns with an export of that customer (its export lock,
which every export holds while it reads and writes the customer's links). A rep who confirmed "Create a new company
anyway" exports the customer, linked to no company: the export creates the company and links it. The popup's link
saved in between made the export's link fail to save, leaving the company it had just created in ConnectWise linked
to nothing (a duplicate). Now the popup's link waits for the export, then links nothing and says the customer was
linked meanwhile. Against the sandbox and PostgreSQL, both through the pages' services."""

from __future__ import annotations

import pytest
from customer_support import link_of, make_customer, run
from lock_support import sent_while_an_export_reads

from helpers import csrf_from
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


def test_the_popups_link_during_an_export_of_the_customer_waits_for_it(sync_ready, rep_client, monkeypatch, app):
    customer = make_customer(name="Popup Turn Dental", account_number="POPT1")
    like = sync_ready.api("POST", "company/companies", json={
        "identifier": "POPT1B", "name": "Popup Turn Dental", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    # Once the export has read that the customer is linked to no company, the rep links it in the popup.
    answers, threads = sent_while_an_export_reads(monkeypatch, db.engine, lambda: rep_client.post(
        "/colcw/import", data={"company": "POPT1B", "choice": "link", "customer": str(customer.id),
                               "cw_id": str(like["id"]), "csrf_token": token}))
    done = run("customer_export", {"customer_id": customer.id, "confirmed": f"new:{like['id']}"})
    threads[0].join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    made = [c for c in sync_ready.api("GET", "company/companies").json() if c["identifier"] == "POPT1"]
    assert len(made) == 1
    # The company the export made is the customer's (before: linked to nothing, the customer linked to POPT1B).
    assert link_of("customer", customer.id).cw_id == made[0]["id"]
    assert answers, answers
    page = " ".join(answers[0].get_data(as_text=True).split())
    assert "Nothing was imported" in page and "was linked to ConnectWise company POPT1 meanwhile" in page, page
