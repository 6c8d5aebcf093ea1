"""A conflict note about a contact the rep then deletes in ChannelOnline is settled for that contact: the import's
untouched check (sync/customers/settled.py) passes the company over once nothing else differs (it kept sending it
down the full path for a note about a record no longer there), and the customer page no longer shows the note.
A note about a contact the host still holds keeps the company on the full path."""

from __future__ import annotations

from sqlalchemy import select, text

from colcw_plugin.models import Link, RecordDrift, SyncItem, SyncRun
from colcw_plugin.sync.inbound.status import customer_drift
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Customer


def _import() -> dict[int, str]:
    """An import of every company; each customer's message, by host id."""
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    rows = db.session.execute(select(SyncItem.host_id, SyncItem.message).where(
        SyncItem.run_id == run.id, SyncItem.entity == "customer")).all()
    return dict(rows)


def _cw_id(entity: str, host_id: int) -> int:
    return db.session.execute(select(Link.cw_id).where(Link.entity == entity, Link.host_id == host_id)).scalar_one()


def _note(customer: Customer, contact_id: int) -> None:
    """A conflict live updates found on the contact (its title changed on both sides)."""
    db.session.add(RecordDrift(entity="contact", host_id=contact_id, customer_id=customer.id,
                               cw_id=_cw_id("contact", contact_id), field="title", label="Title", kind="conflict",
                               host_value="Host title", cw_value="ConnectWise title", kept="connectwise"))


def test_a_note_about_a_contact_deleted_in_the_host_is_settled(connected):
    connected.generate(companies=2, contacts_per_company=2, age_minutes=60)
    assert len(_import()) == 2
    gone_customer, kept_customer = db.session.execute(select(Customer).order_by(Customer.id)).scalars().all()
    # ConnectWise made one contact of each company inactive (the rep's deleted one; the other a control).
    gone, kept = gone_customer.contacts[0], kept_customer.contacts[0]
    for contact in (gone, kept):
        assert connected.api("PATCH", f"company/contacts/{_cw_id('contact', contact.id)}", json=[
            {"op": "replace", "path": "inactiveFlag", "value": True}]).status_code == 200
    _import()  # takes the change in
    _note(gone_customer, gone.id)
    _note(kept_customer, kept.id)
    db.session.commit()
    # The rep deletes the contact the note is about (the edit page sends the contacts it keeps).
    other = gone_customer.contacts[1]
    host = UnitOfWork(db.session)
    host.save_customer({}, [{"id": other.id, "first_name": other.first_name, "last_name": other.last_name}],
                       customer_id=gone_customer.id, delete_missing_contacts=True)
    host.commit()
    # Every link was written well after the records it vouches for changed (as if the import had run later).
    db.session.execute(text("UPDATE colcw_links SET synced_at = synced_at + interval '10 minutes'"))
    db.session.commit()
    assert [r.field for r in customer_drift(db.session, gone_customer.id)] == []  # the page shows no note
    assert [r.field for r in customer_drift(db.session, kept_customer.id)] == ["title"]

    said = _import()
    assert said[gone_customer.id].endswith("unchanged, with its 1 contact."), said
    assert not said[kept_customer.id].endswith("contact."), said  # its note is about a contact still there
    assert db.session.execute(select(SyncRun.status).order_by(SyncRun.id.desc()).limit(1)).scalar() == "succeeded"
