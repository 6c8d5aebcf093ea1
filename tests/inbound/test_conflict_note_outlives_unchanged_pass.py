"""With ConnectWise as the master, a field changed on both sides takes ConnectWise's value, and the customer page's
"Changed on both sides" note is the only place (besides the admin's run log) the rep's overwritten value shows. A
safety-net pass that reads the company (or contact) again and finds it unchanged used to delete every drift row of it:
the note vanished. It stays until it is resolved: ConnectWise changes that field again (the note is then about the new
change), or the customer is exported."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import edit_host, enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub.extensions import db


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _pass() -> SyncRun:
    """A safety-net pass ("What changed")."""
    return _run("cw_reconcile", {"mode": "changes"})


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.entity, d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _latest(entity: str, host_id: int) -> SyncItem:
    return db.session.execute(select(SyncItem).where(SyncItem.entity == entity, SyncItem.host_id == host_id)
                              .order_by(SyncItem.id.desc()).limit(1)).scalar_one()


def _page(app, customer_id: int) -> str:
    with app.app_context():
        return loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer_id}")


def _no_callbacks(master: str) -> None:
    """Live updates on with no callback delivered (the passes below are the only readings), and the first pass's
    watermark set."""
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    _pass()


def test_a_pass_that_finds_the_company_and_contact_unchanged_keeps_their_conflict_notes(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="FAXN1", name="Fax Note Dental",
                                                  fax="208-555-1111", website="https://old.example")
    _no_callbacks(CW_MASTER)
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    edit_host(customer.id, {"Ada": {"title": "COO"}}, fax="208-555-4444", city="Boise",
              website="https://rep.example")  # not exported
    sandbox.edit_company(company, {"faxNumber": "208-555-5555", "city": "Nampa", "website": "https://cw.example"})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    _pass()
    conflicts = [("contact", "title", "conflict", "COO", "CEO", "connectwise"),
                 ("customer", "city", "conflict", "Boise", "Nampa", "connectwise"),
                 ("customer", "fax", "conflict", "208-555-4444", "208-555-5555", "connectwise"),
                 ("customer", "website", "conflict", "https://rep.example", "https://cw.example", "connectwise")]
    assert _notes(customer.id) == conflicts

    # The next pass reads both records again (the two-minute overlap) and finds them unchanged.
    again = _pass()
    assert (_latest("customer", customer.id).run_id, _latest("customer", customer.id).action) == (again.id, "unchanged")
    assert (_latest("contact", ada.id).run_id, _latest("contact", ada.id).action) == (again.id, "unchanged")
    assert _notes(customer.id) == conflicts
    page = _page(app, customer.id)
    assert "Changed on both sides" in page and "ChannelOnline had “208-555-4444”" in page
    assert "ChannelOnline had “COO”" in page and "ChannelOnline had “Boise”" in page

    # ConnectWise changes the fax again: the fax note is about that change (taken, nothing to show); the rest stay.
    sandbox.edit_company(company, {"faxNumber": "208-555-6666"})
    _pass()
    assert _notes(customer.id) == [n for n in conflicts if n[1] != "fax"]
    assert "ChannelOnline had “208-555-4444”" not in _page(app, customer.id)

    # Exporting the customer resolves the rest.
    _run("customer_export", {"customer_id": customer.id})
    assert _notes(customer.id) == []


def test_a_conflict_the_host_master_keeps_stays_until_both_sides_agree(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="FAXN2", name="Fax Note Dental Two",
                                           fax="208-555-1111")
    _no_callbacks(HOST_MASTER)
    edit_host(customer.id, fax="208-555-4444")
    sandbox.edit_company(company, {"faxNumber": "208-555-5555"})
    _pass()
    note = [("customer", "fax", "conflict", "208-555-4444", "208-555-5555", "host")]
    assert _notes(customer.id) == note
    _pass()
    assert _notes(customer.id) == note
    sandbox.edit_company(company, {"faxNumber": "208-555-4444"})  # ConnectWise now agrees with the host
    _pass()
    assert _notes(customer.id) == []
