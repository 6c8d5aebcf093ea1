"""Link to Company ID decides "already linked to this company?" on the customer's link as it holds once locked, not as
read before: two reps (or two tabs) linking the customer to the same company at once both read the old link, and the
second, waiting for the first's locks, then linked it again: a second "linked" result, the rep told "Linked …" when
nothing needed linking. Now the second says it is already linked and changes nothing. Against the sandbox and
PostgreSQL; the two saves meet on the links' row locks (a hook holds the first until the second waits)."""

from __future__ import annotations

import pytest
from inbound_support import export_customer
from lock_support import HeldRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncItem, get_link
from colcw_plugin.sync.customers import links as links_module
from colcw_plugin.sync.customers.links import relink
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def _first_rep_held(monkeypatch, save) -> HeldRequest:
    """The first rep's save, started in a thread of its own and held once its customer's link is written (before its
    contacts' links go: ``_clear_contacts``), holding the locks until the second rep's save waits for one."""
    first = HeldRequest(monkeypatch, db.engine, save, links_module, "_clear_contacts")
    first.start()
    return first


def test_two_relinks_to_the_same_company_at_once(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, old, _ = export_customer(sandbox, account_number="TWICE1", name="Twice Linked Dental")
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "TWICE1B", "name": "Twice Linked Dental", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    rt, customer_id = runtime(), customer.id

    def first_rep(other: Session):
        return relink(other, rt.client(other), other.get(Customer, customer_id), "TWICE1B", confirmed=new["id"],
                      actor="riley@demo.example")

    first = _first_rep_held(monkeypatch, first_rep)
    # The second rep's click: the link it reads is still the old company's (the first save is not committed).
    second = relink(db.session, rt.client(db.session), db.session.get(Customer, customer_id), "TWICE1B",
                    confirmed=new["id"], actor="casey@demo.example")
    db.session.commit()
    first.join()
    monkeypatch.undo()

    assert not first.failed, first.failed
    said = first.answers
    assert said and said[0].linked and said[0].message.startswith("Linked Twice Linked Dental"), said
    assert second.linked and "is already linked to ConnectWise company TWICE1B" in second.message, second.message
    db.session.expire_all()
    assert get_link(db.session, "customer", customer_id).cw_id == new["id"] != old
    results = db.session.execute(select(SyncItem.message).where(
        SyncItem.entity == "customer", SyncItem.host_id == customer_id, SyncItem.action == "linked")).scalars().all()
    assert len(results) == 1 and results[0].endswith("(by riley@demo.example)"), results


def test_a_relink_of_a_broken_link_while_it_is_cleared(app, fast_callbacks, monkeypatch):
    """The customer's link is broken (its company deleted, then restored in ConnectWise): relinking it to that company
    keeps its agreement and last sync. Cleared by another rep meanwhile, it is a new link: ConnectWise's values are
    agreed and it is "linked, not synced since" (before: no agreement at all, and the cleared link's last sync)."""
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="BROKE1", name="Broken Link Dental")
    link = get_link(db.session, "customer", customer.id)
    link.status = "missing_in_cw"
    db.session.commit()
    rt, customer_id = runtime(), customer.id
    first = _first_rep_held(monkeypatch, lambda other: links_module.clear_link(
        other, other.get(Customer, customer_id), actor="riley@demo.example"))
    second = relink(db.session, rt.client(db.session), db.session.get(Customer, customer_id), "BROKE1",
                    actor="casey@demo.example")
    db.session.commit()
    first.join()
    monkeypatch.undo()

    assert not first.failed, first.failed
    assert first.answers and isinstance(first.answers[0], str) and "was cleared" in first.answers[0], first.answers
    assert second.linked and second.message.startswith("Linked Broken Link Dental (BROKE1)"), second.message
    db.session.expire_all()
    now = get_link(db.session, "customer", customer_id)
    assert now.cw_id == company and now.status == "ok"
    assert (now.synced_values or {}).get("name") == "Broken Link Dental"  # ConnectWise's values, agreed now
    assert now.synced_at < now.linked_at  # linked on the page, not synced since
