"""A rep links a customer to another company, or clears its link, while a live-update pass applying that customer (or
a dismissal of its notes) locks the same links: a contact's link older than its customer's (a lower id). Every colcw
writer of a customer's links now locks them all in one statement, by id (sync/shared/link_locks.py), so one waits for
the other. Before, Link to Company ID and Clear link locked the customer's link first (writing it) and its contacts'
after, while the pass and a dismissal lock by id: each held what the other wanted next, and PostgreSQL aborted one of
them after its deadlock timeout (the rep saw an error, or the pass failed). Against the sandbox and PostgreSQL."""

from __future__ import annotations

from inbound_support import contacts_linked_first, enable, export_customer
from lock_support import HeldRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import HOST_MASTER, SyncItem, get_link
from colcw_plugin.sync.customers import links as links_module
from colcw_plugin.sync.customers.link_batch import dismiss_notes
from colcw_plugin.sync.customers.links import clear_link, relink
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.inbound.reconcile import Reconciler
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer


def _race(monkeypatch, save) -> HeldRequest:
    """The rep's save in a thread of its own, held right after it wrote the customer's link (before its contacts'
    links go: ``_clear_contacts``) until the other side waits for a lock; then it goes on and commits."""
    return HeldRequest(monkeypatch, db.engine, save, links_module, "_clear_contacts")


def test_a_relink_while_a_pass_applies_the_customer(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="LOCK1", name="Lock Order Dental")
    contacts_linked_first(customer)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "LOCK1B", "name": "Lock Order Dental", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    # ConnectWise changes the company and a contact: the pass plans to write both links (notes: the host is master).
    sandbox.edit_company(company, {"city": "Round Rock"})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    record_hint(db.session, Hint("company", company, "updated"))
    record_hint(db.session, Hint("contact", contacts["Ada"], "updated"))
    rt, customer_id = runtime(), customer.id

    def rep_relinks(other: Session) -> str:
        answer = relink(other, rt.client(other), other.get(Customer, customer_id), "LOCK1B", confirmed=new["id"],
                        actor="riley@demo.example")
        assert answer.linked, answer
        return answer.message

    race = _race(monkeypatch, rep_relinks)
    monkeypatch.setattr(Reconciler, "_planned", lambda self: race.start())  # planned, nothing applied yet
    run = create_run(db.session, rt.kinds, "cw_live_update", {"wave": "raced"})
    db.session.commit()
    run = rt.execute(db.session, run.id)
    race.join()
    monkeypatch.undo()

    assert not race.failed, race.failed  # (before: psycopg.errors.DeadlockDetected in the rep's save, or the pass's)
    assert race.waited == [True]  # the two did meet on the links
    assert run.status == "succeeded", (run.status, run.message)
    assert race.answers and race.answers[0].startswith("Linked Lock Order Dental (LOCK1) to ConnectWise company LOCK1B")
    db.session.rollback()
    db.session.expire_all()
    link = get_link(db.session, "customer", customer_id)
    assert link.cw_id == new["id"]
    assert [get_link(db.session, "contact", c.id) for c in db.session.get(Customer, customer_id).contacts] == \
        [None, None]  # cleared with the old company's link, not written back by the pass
    result = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == "customer",
                                                       SyncItem.host_id == customer_id)).scalar_one()
    assert result.action == "skipped" and "not applied by this pass" in result.message, result.message


def test_a_link_cleared_while_the_notes_are_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, _, _ = export_customer(sandbox, account_number="LOCK2", name="Lock Clear Dental")
    contacts_linked_first(customer)
    customer_id = customer.id
    dismissed: list[BaseException | None] = []

    def rep_clears(other: Session) -> str:
        return clear_link(other, other.get(Customer, customer_id), actor="riley@demo.example")

    race = _race(monkeypatch, rep_clears)
    race.start()
    # Meanwhile another rep dismisses the customer's notes (another tab): it locks the links by id.
    try:
        with Session(db.engine) as other:
            dismiss_notes(other, other.get(Customer, customer_id), None, actor="casey@demo.example")
            other.commit()
        dismissed.append(None)
    except BaseException as e:  # noqa: BLE001 - reported by the test
        dismissed.append(e)
    race.join()
    monkeypatch.undo()

    assert dismissed == [None], dismissed  # (before: one of the two got psycopg.errors.DeadlockDetected)
    assert not race.failed, race.failed
    assert race.waited == [True]
    assert race.answers and race.answers[0].startswith("The ConnectWise link of Lock Clear Dental (LOCK2) was cleared")
    db.session.rollback()
    db.session.expire_all()
    contact_ids = [c.id for c in db.session.get(Customer, customer_id).contacts]
    assert get_link(db.session, "customer", customer_id) is None
    assert [get_link(db.session, "contact", i) for i in contact_ids] == [None, None]
