"""Link to Company ID warns when the link cannot work: another ConnectWise company already has the customer's account
number as its Company ID, so the export cannot rename the company linked to it (ConnectWise answered "identifier
'DEMO00002' is already in use" to an export the confirmation had promised would "change its Company ID"). And after
a link made by hand that never synced (its export failed), the panel says it was linked, not "last synced" at the
link's time."""

from __future__ import annotations

import datetime as dt
import html

from customer_support import export, link_of, make_customer
from htmx_loads import loaded
from sqlalchemy import update

from colcw_plugin.models import Link
from helpers import csrf_from
from host_stub.extensions import db


def _company(sandbox, identifier: str, name: str, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json={
        "identifier": identifier, "name": name, "addressLine1": "43 Pier Rd", "city": "Boston", "state": "MA",
        "zip": "02110", "phoneNumber": "617-555-0143", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _relink(client, customer_id: int, company: str, confirm: int | None = None):
    data = {"company": company, "csrf_token": csrf_from(client.get("/customers/").get_data(as_text=True))}
    if confirm is not None:
        data["confirm"] = str(confirm)
    return client.post(f"/colcw/customers/{customer_id}/relink", data=data)


def _status(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    status = page[page.index('id="colcw-link-status"'):]
    return html.unescape(status[:status.index("</p>")])


def test_the_confirmation_says_another_company_has_the_customers_account_number(sync_ready, rep_client):
    customer = make_customer(name="Blue Ridge Dental", account_number="DEMO00002", contacts=[])
    _company(sync_ready, "DEMO00002", "Blue Ridge Dental Care")  # holds the account number, not linked here
    harbor = _company(sync_ready, "DEMO00043", "Harbor Law Group")
    page = html.unescape(_relink(rep_client, customer.id, "DEMO00043").get_data(as_text=True))
    question = page[page.index('id="colcw-relink-question"'):]
    question = question[:question.index("</p>")]
    assert "Its Company ID cannot be changed to DEMO00002: ConnectWise company DEMO00002 (“Blue Ridge Dental Care”) " \
           "already has it, so the next export of Blue Ridge Dental would fail." in question, question
    assert "link this customer to DEMO00002 instead" in question and "change Blue Ridge Dental's account number" \
        in question, question
    assert "change its Company ID to DEMO00002" not in question, question
    assert link_of("customer", customer.id) is None  # nothing linked yet

    # Linked anyway, the message says the export cannot rename it; the export fails; the panel says linked.
    resp = _relink(rep_client, customer.id, "DEMO00043", harbor["id"])
    assert resp.status_code == 302
    assert link_of("customer", customer.id).cw_id == harbor["id"]
    status = _status(rep_client, customer.id)
    assert "linked on this page" in status and "last synced" not in status, status
    run = export(customer.id)
    assert run.status != "succeeded"
    status = _status(rep_client, customer.id)
    assert "linked on this page" in status and "not synced since" in status, status
    assert "last synced" not in status, status
    # The time it says is the link's, not the failed export's.
    db.session.execute(update(Link).where(Link.entity == "customer", Link.host_id == customer.id).values(
        linked_at=dt.datetime(2026, 1, 2, 3, 4), synced_at=dt.datetime(2026, 1, 2, 3, 3, 59)))
    db.session.commit()
    status = _status(rep_client, customer.id)
    assert "2026-01-02" in status and "not synced since" in status, status


def test_a_deleted_company_keeping_the_account_number_is_named_too(sync_ready, rep_client):
    customer = make_customer(name="Blue Ridge Dental", account_number="DEMO00002", contacts=[])
    old = _company(sync_ready, "DEMO00002", "Blue Ridge Dental Care")
    assert sync_ready.api("DELETE", f"company/companies/{old['id']}").status_code in (200, 204)
    _company(sync_ready, "DEMO00043", "Harbor Law Group")
    page = html.unescape(_relink(rep_client, customer.id, "DEMO00043").get_data(as_text=True))
    question = page[page.index('id="colcw-relink-question"'):]
    question = question[:question.index("</p>")]
    assert "deleted there, which keeps its Company ID, already has it" in question, question
    assert "restore DEMO00002 in ConnectWise and link this customer to it" in question, question


def test_a_plausible_company_is_still_linked_at_once_and_the_panel_says_synced_after_an_export(sync_ready,
                                                                                               rep_client):
    customer = make_customer(name="Harbor Law Group", account_number="HLG1", contacts=[])
    _company(sync_ready, "HLG1", "Harbor Law Group")
    resp = _relink(rep_client, customer.id, "HLG1")
    assert resp.status_code == 302
    assert "linked on this page" in _status(rep_client, customer.id)
    assert export(customer.id).status == "succeeded"
    status = _status(rep_client, customer.id)
    assert "last synced" in status and "linked on this page" not in status, status
