"""A bulk export or import meeting a record another export holds: it waits for it (up to a limit), and past
the limit exports the rest of its chunk and reports that record, never writing it twice."""

from __future__ import annotations

import threading

from customer_support import actions, companies, export, items, make_customer, run

from colcw_plugin.sync.customers import exclusive
from host_stub.extensions import db


def _held(app, key_fn, ident, release: threading.Event, taken: threading.Event):
    def hold():
        with app.app_context():
            with key_fn(db.session, ident):
                taken.set()
                release.wait(30)
            db.session.remove()
    t = threading.Thread(target=hold)
    t.start()
    taken.wait(10)
    return t


def test_a_bulk_export_exports_its_chunk_and_reports_the_customer_another_export_holds(sync_ready, app, monkeypatch):
    monkeypatch.setattr(exclusive, "BULK_WAIT_SECONDS", 0.5)
    first = make_customer()
    second = make_customer(account_number="ACME2", name="Beta Corp")
    release, taken = threading.Event(), threading.Event()
    holder = _held(app, exclusive.exporting_customer, first.id, release, taken)
    try:
        bulk = run("customer_export", {"customer_ids": [first.id, second.id]})
    finally:
        release.set()
        holder.join(10)
    by_host = {i.host_id: i for i in items(bulk, "customer")}
    assert by_host[second.id].action == "created"
    assert by_host[first.id].action == "failed"
    assert "Another export of this customer was still running" in by_host[first.id].message
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME2"]
    assert actions(export(first.id)) == ["created"]  # free again: exported once
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["ACME1", "ACME2"]


def test_a_bulk_import_reports_the_company_another_import_holds(sync_ready, app, monkeypatch):
    monkeypatch.setattr(exclusive, "BULK_WAIT_SECONDS", 0.5)
    a = sync_ready.api("POST", "company/companies", json={"identifier": "IMP1", "name": "Imp One", "city": "x"}).json()
    b = sync_ready.api("POST", "company/companies", json={"identifier": "IMP2", "name": "Imp Two", "city": "x"}).json()
    release, taken = threading.Event(), threading.Event()

    def hold_company(session, company_id):
        from colcw_plugin.sync.shared.locks import advisory_locks
        return advisory_locks(session.get_bind(), exclusive.company_keys([company_id]), "busy")

    holder = _held(app, hold_company, a["id"], release, taken)
    try:
        bulk = run("customer_import", {"company_ids": [a["id"], b["id"]]})
    finally:
        release.set()
        holder.join(10)
    by_cw = {i.cw_id: i for i in items(bulk, "customer")}
    assert by_cw[b["id"]].action == "created"
    assert by_cw[a["id"]].action == "failed" and "Another import of this company" in by_cw[a["id"]].message
