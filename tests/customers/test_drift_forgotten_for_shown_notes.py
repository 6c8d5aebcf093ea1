"""The drift an import (or export) forgets is what the customer page shows: a note about a contact the rep has since
deleted in ChannelOnline is settled for that contact, so a customer whose only note is such one is not "drifted" (the
import's page no longer sends a delete for it: an unchanged re-import writes nothing for it), while a note about a
contact still there is forgotten as before."""

from __future__ import annotations

from sqlalchemy import select

from colcw_plugin.models import Link, RecordDrift, SyncItem
from colcw_plugin.sync.customers.link_batch import drifted_customers
from colcw_plugin.sync.jobs.runs import create_run
from helpers import recorded_statements, runtime
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Customer


def _import() -> tuple[dict[int, str], list[str]]:
    """An import of every company: each customer's action, by host id, and the statements that deleted drift."""
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    with recorded_statements(db.engine) as seen:
        run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    rows = db.session.execute(select(SyncItem.host_id, SyncItem.action).where(
        SyncItem.run_id == run.id, SyncItem.entity == "customer")).all()
    return dict(rows), [s for s in seen if s.lstrip().upper().startswith("DELETE") and "colcw_record_drift" in s]


def _cw_id(entity: str, host_id: int) -> int:
    return db.session.execute(select(Link.cw_id).where(Link.entity == entity, Link.host_id == host_id)).scalar_one()


def _note(customer: Customer, contact_id: int) -> None:
    db.session.add(RecordDrift(entity="contact", host_id=contact_id, customer_id=customer.id,
                               cw_id=_cw_id("contact", contact_id), field="title", label="Title", kind="conflict",
                               host_value="Host title", cw_value="ConnectWise title", kept="connectwise"))


def test_a_note_about_a_deleted_contact_is_no_drift_to_forget(connected):
    connected.generate(companies=1, contacts_per_company=2, age_minutes=60)
    _import()
    customer = db.session.execute(select(Customer)).scalar_one()
    gone, other = customer.contacts
    assert connected.api("PATCH", f"company/contacts/{_cw_id('contact', gone.id)}", json=[
        {"op": "replace", "path": "inactiveFlag", "value": True}]).status_code == 200
    _import()  # takes the change in
    _note(customer, gone.id)
    db.session.commit()
    assert drifted_customers(db.session, [customer.id]) == {customer.id}  # the contact is still there: a note shown
    host = UnitOfWork(db.session)  # the rep deletes the contact the note is about
    host.save_customer({}, [{"id": other.id, "first_name": other.first_name, "last_name": other.last_name}],
                       customer_id=customer.id, delete_missing_contacts=True)
    host.commit()

    assert drifted_customers(db.session, [customer.id]) == set()
    actions, deletes = _import()  # the full path (the rep's save is newer than the link)
    assert list(actions) == [customer.id]
    assert deletes == [], deletes


def test_a_note_about_a_contact_still_there_is_forgotten_by_the_import(connected):
    connected.generate(companies=1, contacts_per_company=2, age_minutes=60)
    _import()
    customer = db.session.execute(select(Customer)).scalar_one()
    _note(customer, customer.contacts[0].id)
    db.session.commit()
    assert drifted_customers(db.session, [customer.id]) == {customer.id}
    _, deletes = _import()
    assert len(deletes) == 1
    assert db.session.execute(select(RecordDrift)).first() is None
