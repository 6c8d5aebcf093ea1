"""Link to Company ID pointed at another company ends what live updates had found in the old one: the notes
(changes not taken, conflicts, its Company ID changed there, a contact added there) go in the same save, each recorded
under the notes dismissed on the customer's page with who and why; All Customers and the panel speak of the new link
at once, and a pass reading the new company finds nothing of the old one left. Nothing of the old company's agreement
stays on the link (the site taken for the Location Code, a held deletion). Re-linked to the company it is linked to,
the notes and the agreement stay. ChannelOnline the master for customer data, against the sandbox."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer, shown
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, RecordDrift, SyncRun, get_link
from colcw_plugin.sync.customers.link_batch import dismissed_notes
from colcw_plugin.sync.inbound.reconcile import held_links
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db

NOT_SYNCED, SYNCED = "Linked, not synced yet", "Synced"
DIFFERS = "Synced — ConnectWise differs (not taken)"
SITE = {"code": "HQ", "site": "Main", "id": 1}  # (as an export that took the company's site records it)
HELD = {"state": "held", "at": "2026-12-06T10:00:00", "run": 1}  # (as the mass-delete guard marks a link)


def _pass() -> SyncRun:
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.entity, d.field, d.kind) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _text(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _relink(client, customer_id: int, ident: str):
    token = csrf_from(loaded(client, f"/customers/{customer_id}"))
    resp = client.post(f"/colcw/customers/{customer_id}/relink", data={"company": ident, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    return client.get(resp.headers["Location"]).get_data(as_text=True)  # the flash, once


def _noted(sandbox, account: str, *, rename: bool):
    """A customer exported to its company, then changed there (city, fax, a contact's title, a contact added, and its
    Company ID when ``rename``): ChannelOnline the master, a pass notes each as not taken."""
    customer, company, contacts = export_customer(sandbox, account_number=account, name=f"Relink Dental {account}",
                                                  fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")  # (no callbacks reach this test)
    _pass()
    sandbox.edit_company(company, {"faxNumber": "208-555-5555", "city": "Nampa",
                                   **({"identifier": f"{account}-OLD"} if rename else {})})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    sandbox.api("POST", "company/contacts", json={"firstName": "Grace", "lastName": "Hopper",
                                                  "company": {"id": company}})
    _pass()
    expected = [("contact", "title", "drift"), ("customer", "city", "drift"), ("customer", "fax", "drift")]
    if rename:
        expected.append(("customer", "account_number", "drift"))
    notes = _notes(customer.id)
    assert [n for n in notes if not n[1].startswith("contact:")] == sorted(expected), notes
    assert [n[2] for n in notes if n[1].startswith("contact:")] == ["new_contact"], notes
    return customer, company


def test_relinked_to_another_company_the_old_companys_notes_go_at_once(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, old = _noted(sandbox, "RLN1", rename=True)
    # What the old company's link had agreed beyond the values: a site taken for the code, a held deletion.
    link = get_link(db.session, "customer", customer.id)
    link.synced_values = {**link.synced_values, "colcw:site": SITE, "colcw:deletion": HELD}
    db.session.commit()
    assert shown(app, customer)[0] == DIFFERS
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "its Company ID was changed in ConnectWise to RLN1-OLD" in page and "Nampa" in page

    # The company that now has the customer's Company ID, holding the customer's values.
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "RLN1", "name": customer.name, "addressLine1": "1 Main St", "city": "Boise", "state": "TX",
        "zip": "73301", "country": {"name": "United States"}, "phoneNumber": "512-555-0100",
        "faxNumber": "208-555-1111"}).json()
    flashed = _text(_relink(rep_client, customer.id, "RLN1"))

    assert _notes(customer.id) == []
    link = get_link(db.session, "customer", customer.id)
    assert link.cw_id == new["id"] and old != new["id"]
    assert not [k for k in link.synced_values if k.startswith("colcw:")], link.synced_values
    assert link.id not in {held.id for held in held_links(db.session)}
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-drift"' not in page and 'id="colcw-id-changed"' not in page
    panel = _text(page)
    assert "Linked to company RLN1 " in panel and "Nampa" not in panel.split("Notes dismissed on this page")[0]
    history = [item.message for item in dismissed_notes(db.session, customer.id)]
    assert len(history) == 5 and all(f"note cleared: the customer was linked to ConnectWise company RLN1 (id "
                                     f"{new['id']}) instead of company RLN1-OLD (id {old}), which the note was about" in m
                                     for m in history), history
    assert any(m.startswith("Company City of Relink Dental RLN1 (RLN1): note cleared") and "“Nampa” in ConnectWise, “Boise” in "
               "ChannelOnline then" in m and m.endswith("(by riley@demo.example)") for m in history), history
    assert "Notes dismissed on this page" in panel and "note cleared" in panel
    assert f"5 notes of what live updates found in company RLN1-OLD (id {old}) were cleared" in flashed, flashed
    assert shown(app, customer)[0] == NOT_SYNCED

    _pass()  # reads the new company, which holds what the customer holds
    assert _notes(customer.id) == []
    assert shown(app, customer)[0] == SYNCED
    assert 'id="colcw-drift"' not in loaded(rep_client, f"/customers/{customer.id}")


def test_relinked_to_the_same_company_the_notes_and_the_agreement_stay(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company = _noted(sandbox, "RLN2", rename=False)
    link = get_link(db.session, "customer", customer.id)
    link.synced_values = {**link.synced_values, "colcw:site": SITE}
    db.session.commit()
    agreed, notes = dict(link.synced_values), _notes(customer.id)

    flashed = _text(_relink(rep_client, customer.id, "RLN2"))
    assert "cleared" not in flashed, flashed
    assert _notes(customer.id) == notes
    link = get_link(db.session, "customer", customer.id)
    assert (link.cw_id, link.synced_values) == (company, agreed)
    assert dismissed_notes(db.session, customer.id) == []
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-drift"' in page and "Nampa" in _text(page)
