"""Switching the master to ConnectWise after a rep dismissed a customer's notes, with a note left about a contact the
rep had deleted in ChannelOnline (no longer shown, so not dismissed): the switch reads again only what the pages
showed. The deleted contact's note is settled with the rest, no hint is left for it, and the live-update run does
not bring the contact back into ChannelOnline. Against the sandbox over HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from colcw_plugin.models import CW_MASTER, InboundHint, Link, RecordDrift, SyncRun
from colcw_plugin.sync.customers.link_batch import dismiss_notes
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.inbound.master import redecide
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer


def _import() -> None:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"


def _cw_id(entity: str, host_id: int) -> int:
    return db.session.execute(select(Link.cw_id).where(Link.entity == entity, Link.host_id == host_id)).scalar_one()


def _note(customer: Customer, entity: str, host_id: int, field: str) -> None:
    db.session.add(RecordDrift(entity=entity, host_id=host_id, customer_id=customer.id, cw_id=_cw_id(entity, host_id),
                               field=field, label=field.title(), kind="drift", host_value="Host value",
                               cw_value="ConnectWise value", kept="host"))


def test_a_switch_after_dismissing_leaves_no_hint_for_a_contact_deleted_in_the_host(connected):
    connected.generate(companies=1, contacts_per_company=2, age_minutes=60)
    _import()
    customer = db.session.execute(select(Customer)).scalar_one()
    gone, other = customer.contacts[0], customer.contacts[1]
    gone_cw, gone_name = _cw_id("contact", gone.id), (gone.first_name, gone.last_name)
    _note(customer, "contact", gone.id, "title")
    _note(customer, "contact", other.id, "title")
    db.session.commit()
    host = UnitOfWork(db.session)  # the rep deletes the contact (the edit page sends the contacts it keeps)
    host.save_customer({}, [{"id": other.id, "first_name": other.first_name, "last_name": other.last_name}],
                       customer_id=customer.id, delete_missing_contacts=True)
    host.commit()
    customer = db.session.get(Customer, customer.id)
    assert len(dismiss_notes(db.session, customer, None, actor="riley@demo.example").done) == 1  # the one shown
    db.session.commit()

    done = redecide(db.session, CW_MASTER)
    db.session.commit()

    assert done.rows == 0  # nothing the pages showed was left to decide again
    assert db.session.execute(select(func.count()).select_from(RecordDrift)).scalar_one() == 0
    assert db.session.execute(select(InboundHint).where(InboundHint.entity == "contact", InboundHint.cw_id == gone_cw,
                                                        InboundHint.pending)).scalar() is None
    live = create_run(db.session, runtime().kinds, LIVE_KIND, {})
    db.session.commit()
    live = runtime().execute(db.session, live.id)
    assert live.status in ("succeeded", "skipped"), live.message
    assert db.session.execute(select(Contact).where(Contact.customer_id == customer.id, Contact.first_name ==
                                                    gone_name[0], Contact.last_name == gone_name[1])).scalar() is None
    assert db.session.execute(select(func.count()).select_from(InboundHint).where(InboundHint.pending)).scalar() == 0
    assert db.session.execute(select(SyncRun.status).order_by(SyncRun.id.desc()).limit(1)).scalar() != "failed"
