"""An import of a company and an export of its customer take turns (the customer's export lock), as a live-update pass
and an export do (test_live_update_waits_for_export). An export reads the customer, then its link's agreement and
ConnectWise's company, and sends what the customer changed since the agreement. An import of the company (it held the
company's import lock only) writing ConnectWise's values and the new agreement between the export's two reads made
the export read the customer as it was before (the old value) and the agreement as it is after (the new one): the old
value looked like an edit made in ChannelOnline, and the export sent it back over the colleague's change, with
ConnectWise the master. Now the import leaves a company whose customer is being exported to a later pass of its run.
Against the sandbox and PostgreSQL, the import in a thread (and session) of its own."""

from __future__ import annotations

import threading

import pytest
from inbound_support import enable, export_customer
from sqlalchemy import select
from test_live_update_waits_for_export import _colleague_sets_phone, _exported_then_changed_in_cw, _run

from colcw_plugin.models import CW_MASTER, SyncItem, SyncRun, get_link
from colcw_plugin.sync.customers import exporter as exporter_module
from colcw_plugin.sync.customers.importer import CompanyImporter
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def test_an_import_during_an_export_of_its_customer_waits_for_it(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    # A colleague changes the phone in ConnectWise; a rep imports the company while the customer is being exported.
    customer_id, company = _exported_then_changed_in_cw(sandbox, "IMPX1", "Import Turn Clinic")
    imports: list[SyncRun] = []
    threads: list[threading.Thread] = []
    waits, deferred = threading.Event(), threading.Event()
    real_read, real_deferred = exporter_module.read_chunk, CompanyImporter._exported_meanwhile

    def an_import() -> None:
        try:
            with app.app_context():
                imports.append(_run("customer_import", {"company": "IMPX1"}))
                db.session.remove()
        finally:
            waits.set()

    def exported_meanwhile(self, records):
        real_deferred(self, records)
        deferred.set()
        waits.set()

    def read_chunk(*args, **kwargs):  # the export has read the customer, not its links yet
        if not threads:
            threads.append(threading.Thread(target=an_import))
            threads[0].start()
            assert waits.wait(30)  # the import has finished (before the fix), or left the company to a later pass
        return real_read(*args, **kwargs)

    monkeypatch.setattr(exporter_module, "read_chunk", read_chunk)
    monkeypatch.setattr(CompanyImporter, "_exported_meanwhile", exported_meanwhile)
    done = _run("customer_export", {"customer_id": customer_id})
    threads[0].join(60)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    # The colleague's change stays in ConnectWise (before: the export sent 512-555-0100 back over it).
    assert sandbox.api("GET", f"company/companies/{company}").json()["phoneNumber"] == "512-555-0188"
    assert deferred.is_set()
    assert len(imports) == 1 and imports[0].status == "succeeded", imports and imports[0].message
    # The import's later pass, after the export, brought ConnectWise's phone in.
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Customer, customer_id).phone == "512-555-0188"
    assert get_link(db.session, "customer", customer_id).cw_id == company
    said = db.session.execute(select(SyncItem.action).where(SyncItem.run_id == imports[0].id,
                                                            SyncItem.entity == "customer")).scalars().all()
    assert said == ["updated"], said


def test_a_page_saves_the_companies_whose_customers_no_export_holds(app, fast_callbacks, monkeypatch):
    from sqlalchemy.orm import Session

    from colcw_plugin.sync.customers import exclusive

    sandbox = fast_callbacks
    held_customer, held_company, _ = export_customer(sandbox, account_number="IMPX2", name="Import Held Clinic")
    free_customer, free_company, _ = export_customer(sandbox, account_number="IMPX3", name="Import Free Clinic")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    held_id, free_id, engine = held_customer.id, free_customer.id, db.engine
    for company, phone in ((held_company, "512-555-0191"), (free_company, "512-555-0192")):
        _colleague_sets_phone(sandbox, company, phone)
    holding, release = threading.Event(), threading.Event()
    deferred: list[list[int]] = []
    real_deferred = CompanyImporter._exported_meanwhile

    def an_export_holds_one() -> None:  # as an export of it does while it reads and writes
        with Session(engine) as other, exclusive.customers_locked(other, [held_id], wait_seconds=5):
            holding.set()
            release.wait(30)

    def exported_meanwhile(self, records):
        real_deferred(self, records)
        deferred.append([r["id"] for r in records])
        release.set()

    thread = threading.Thread(target=an_export_holds_one)
    thread.start()
    assert holding.wait(10)
    monkeypatch.setattr(CompanyImporter, "_exported_meanwhile", exported_meanwhile)
    try:
        done = _run("customer_import", {"company_ids": [held_company, free_company]})
    finally:
        release.set()
        thread.join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    # Only the company whose customer was held waited (for the run's next pass); the page's other one was saved.
    assert deferred == [[held_company]], deferred
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Customer, held_id).phone == "512-555-0191"
    assert db.session.get(Customer, free_id).phone == "512-555-0192"


def test_an_import_takes_the_link_an_export_made_just_before_as_the_companys(app, fast_callbacks, monkeypatch):
    from sqlalchemy.orm import Session

    from colcw_plugin.models import set_link

    sandbox = fast_callbacks
    company = sandbox.api("POST", "company/companies", json={
        "identifier": "IMPX4", "name": "Import After Export Clinic", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX", "phoneNumber": "512-555-0194"}).json()
    customer = Customer(account_number="IMPX4", name="Import After Export Clinic", address1="1 Way", city="Austin",
                        state="TX", zip="73301", country="United States", phone="512-555-0100")
    db.session.add(customer)
    db.session.commit()
    customer_id, engine = customer.id, db.engine
    real_take = CompanyImporter._take_exports

    def take_exports(self, *args, **kwargs):  # an export of the customer links it and ends as the import reads
        with Session(engine) as other:
            set_link(other, "customer", customer_id, company["id"], cw_identifier="IMPX4")
            other.commit()
        return real_take(self, *args, **kwargs)

    monkeypatch.setattr(CompanyImporter, "_take_exports", take_exports)
    done = _run("customer_import", {"company": "IMPX4"})
    monkeypatch.undo()
    db.session.rollback()
    items = db.session.execute(select(SyncItem).where(SyncItem.run_id == done.id, SyncItem.entity == "customer")) \
        .scalars().all()
    # Imported into the customer by the link the export made (before: the company 'could not be saved', its link
    # written a second time).
    assert done.status == "succeeded" and [i.action for i in items] == ["updated"], [i.message for i in items]
    db.session.expire_all()
    assert get_link(db.session, "customer", customer_id).cw_id == company["id"]
    assert db.session.get(Customer, customer_id).phone == "512-555-0194"
