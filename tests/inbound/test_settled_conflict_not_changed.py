"""A field the host changed without exporting, then changed in ConnectWise too (to another value, or to the same one):
once a live update has settled both sides on the same values, the customer is no longer "Changed since export" on
All Customers and its page (the panel said "both sides agree now, on ConnectWise's values" while the header still
said to export, and the export answered that it was already up to date). What the host changed and live updates did
not settle still shows."""

from __future__ import annotations

from inbound_support import edit_host, enable, export_customer, settle, shown, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _phone(customer_id: int) -> str:
    return db.session.get(Customer, customer_id).phone


def _exported_again(customer_id: int) -> str:
    """The customer's result of a new export of it."""
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer_id})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    return db.session.execute(select(SyncItem.action).where(SyncItem.run_id == run.id, SyncItem.entity == "customer",
                                                            SyncItem.host_id == customer_id)).scalar_one()


def test_a_conflict_settled_on_connectwises_value_is_no_change_since_export(app, fast_callbacks, live_server,
                                                                            worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="GRAN1", name="Granite Dental")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, phone="512-555-0199")  # not exported
    assert shown(app, customer) == ("Changed since export", True)
    sandbox.edit_company(company, {"phoneNumber": "512-555-0177"})
    wait_for(lambda: _phone(customer.id) == "512-555-0177")
    settle(sandbox)
    assert shown(app, customer) == ("Synced", False)
    assert _exported_again(customer.id) == "unchanged"


def test_the_same_value_entered_on_both_sides_is_no_change_since_export(app, fast_callbacks, live_server,
                                                                        worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="GRAN2", name="Granite Dental Two")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, {"Ada": {"title": "COO"}}, phone="512-555-0199")
    sandbox.edit_company(company, {"phoneNumber": "512-555-0199"})
    settle(sandbox)
    assert shown(app, customer) == ("Changed since export", True)  # Ada's title is the host's still
    runs = db.session.execute(select(SyncRun.id)).all()
    sandbox.edit_contact(contacts["Ada"], {"title": "COO"})
    wait_for(lambda: len(db.session.execute(select(SyncRun.id)).all()) > len(runs), what="a live update of Ada")
    settle(sandbox)
    assert shown(app, customer) == ("Synced", False)


def test_what_the_host_changed_and_live_updates_did_not_settle_still_shows(app, fast_callbacks, live_server,
                                                                           worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="GRAN3", name="Granite Dental Three")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, phone="512-555-0199", zip="75001")  # the zip: ConnectWise keeps its own
    sandbox.edit_company(company, {"phoneNumber": "512-555-0177"})
    wait_for(lambda: _phone(customer.id) == "512-555-0177")
    settle(sandbox)
    assert shown(app, customer) == ("Changed since export", True)


def test_a_conflict_the_host_master_keeps_still_shows(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="GRAN4", name="Granite Dental Four")
    enable(live_server.url, HOST_MASTER)
    edit_host(customer.id, phone="512-555-0199")
    sandbox.edit_company(company, {"phoneNumber": "512-555-0177"})
    settle(sandbox)
    assert _phone(customer.id) == "512-555-0199"
    assert shown(app, customer) == ("Changed since export", True)


def test_a_contact_conflict_settled_on_connectwises_value_is_no_change_since_export(app, fast_callbacks, live_server,
                                                                                   worker_thread):
    sandbox = fast_callbacks
    customer, _, contacts = export_customer(sandbox, account_number="GRAN5", name="Granite Dental Five")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, {"Ada": {"title": "COO"}})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    wait_for(lambda: db.session.execute(select(Contact.title).where(Contact.customer_id == customer.id,
                                                                    Contact.first_name == "Ada")).scalar() == "CEO")
    settle(sandbox)
    assert shown(app, customer) == ("Synced", False)
