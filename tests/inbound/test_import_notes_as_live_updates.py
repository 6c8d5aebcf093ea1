"""An import notes what it meets on the customer page as live updates do (one definition: sync/shared/notes.py), and
leaves the notes it does not settle. With ConnectWise the master, a field changed on both sides was said only in the
run log and the import forgot every note the customer page had (a conflict a live update had noted, ChannelOnline's
overwritten value shown nowhere else); with ChannelOnline the master, a bulk import said nothing of a default contact
ConnectWise changed ("Default contact … not taken", as live updates say since c95f702). Against the sandbox over HTTP,
the customer page as a rep sees it."""

from __future__ import annotations

import html as html_lib

import pytest
from htmx_loads import loaded
from inbound_support import edit_host, export_customer
from sqlalchemy import select
from test_conflict_note_outlives_unchanged_pass import _no_callbacks, _notes, _run

from colcw_plugin.models import CW_MASTER, HOST_MASTER, SyncItem, SyncRun
from helpers import csrf_from, sign_in
from host_stub.extensions import db
from host_stub.models import Contact


def _page(app, customer_id: int) -> str:
    with app.app_context():
        return html_lib.unescape(loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer_id}"))


def _said(run: SyncRun, entity: str) -> list[str]:
    return list(db.session.execute(select(SyncItem.message).where(SyncItem.run_id == run.id,
                                                                  SyncItem.entity == entity)).scalars())


@pytest.mark.parametrize("scope", [{"mode": "all"}, {"company": "IMPN1"}], ids=["all", "by-company-id"])
def test_connectwise_master_an_import_notes_a_field_changed_on_both_sides_and_keeps_the_notes_it_does_not_settle(
        app, fast_callbacks, scope):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="IMPN1", name="Import Note Dental",
                                                  website="https://old.example")
    _no_callbacks(CW_MASTER)  # live updates on, the first pass sets the watermark
    edit_host(customer.id, city="Boise")  # not exported
    sandbox.edit_company(company, {"city": "Nampa"})
    _run("cw_reconcile", {"mode": "changes"})  # a live update notes the conflict
    city = ("customer", "city", "conflict", "Boise", "Nampa", "connectwise")
    assert _notes(customer.id) == [city]

    edit_host(customer.id, {"Ada": {"title": "COO"}}, website="https://rep.example")  # not exported either
    sandbox.edit_company(company, {"website": "https://cw.example"})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    done = _run("customer_import", scope)

    # The import takes ConnectWise's values (the master) and notes each field changed on both sides as a live
    # update does; the live update's note of the city, which the import did not settle, stays.
    assert _notes(customer.id) == [("contact", "title", "conflict", "COO", "CEO", "connectwise"), city,
                                   ("customer", "website", "conflict", "https://rep.example", "https://cw.example",
                                    "connectwise")]
    page = _page(app, customer.id)
    assert "Changed on both sides" in page, page
    for had in ("ChannelOnline had “https://rep.example”", "ChannelOnline had “COO”", "ChannelOnline had “Boise”"):
        assert had in page, had
    assert any("Website changed on both sides: kept ConnectWise's “https://cw.example” (the master)" in m
               for m in _said(done, "customer"))

    # An import that finds nothing new leaves them; exporting the customer resolves them.
    _run("customer_import", scope)
    assert len(_notes(customer.id)) == 3
    _run("customer_export", {"customer_id": customer.id})
    assert _notes(customer.id) == []


def test_channelonline_master_a_bulk_import_notes_a_differing_default_contact_as_live_updates_do(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="IMPN2", name="Import Default Co")
    _no_callbacks(HOST_MASTER)
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})

    done = _run("customer_import", {"mode": "all"})
    db.session.expire_all()
    assert [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == customer.id, Contact.is_default.is_(True))).scalars()] == ["Ada"]  # kept
    noted = [("customer", "default_contact", "drift", "Ada Lovelace", "Charles Babbage", "host")]
    assert _notes(customer.id) == noted
    said = _said(done, "customer")
    assert any("changed in ConnectWise, not taken (ChannelOnline is the master for customer data): Default contact "
               "“Charles Babbage” (ChannelOnline: “Ada Lovelace”)" in m for m in said), said
    page = _page(app, customer.id)
    assert "Default contact" in page and "Charles Babbage" in page and "not taken" in page, page

    # Another import, and a live update reading the company, still find it (the agreement on it stays).
    _run("customer_import", {"mode": "all"})
    assert _notes(customer.id) == noted
    sandbox.edit_company(company, {"city": "Dallas"})
    _run("cw_reconcile", {"mode": "changes"})
    assert ("customer", "default_contact", "drift", "Ada Lovelace", "Charles Babbage", "host") in _notes(customer.id)
    # The export sends ChannelOnline's default back: nothing left to note.
    _run("customer_export", {"customer_id": customer.id})
    assert _notes(customer.id) == []
    assert (sandbox.api("GET", f"company/companies/{company}").json().get("defaultContact") or {}).get("id") == \
        contacts["Ada"]


def test_channelonline_master_a_bulk_import_leaves_a_default_contact_kept_on_the_customer_page(app, fast_callbacks):
    """The note's Keep (ChannelOnline's default) settles it until ConnectWise picks another default contact: a bulk
    import does not raise it again."""
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="IMPN3", name="Import Keep Co")
    _no_callbacks(HOST_MASTER)
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})
    _run("cw_reconcile", {"mode": "changes"})
    assert [n[1] for n in _notes(customer.id)] == ["default_contact"]
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        page = html_lib.unescape(loaded(client, f"/customers/{customer.id}"))
        resp = client.post(f"/colcw/customers/{customer.id}/notes/dismiss", data={
            "note": [f"customer:{customer.id}:default_contact"], "seen": ["Charles Babbage"],
            "csrf_token": csrf_from(page)})
        assert resp.status_code == 302
    assert _notes(customer.id) == []

    sandbox.edit_company(company, {"city": "Dallas"})  # (read again: the import compares the company)
    _run("customer_import", {"mode": "all"})
    assert [n[1] for n in _notes(customer.id)] == ["city"]  # the kept default not noted again
    sandbox.edit_company(company, {"city": "Plano"})  # nor by the readings after the import
    _run("customer_import", {"mode": "all"})
    _run("cw_reconcile", {"mode": "changes"})
    assert [n[1] for n in _notes(customer.id)] == ["city"]
