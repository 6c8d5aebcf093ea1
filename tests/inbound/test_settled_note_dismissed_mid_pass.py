"""A rep dismisses a note of a conflict ConnectWise's value settled (ConnectWise the master) while a pass is between
reading ConnectWise and applying what it read, and ConnectWise has changed that field again: what the rep sees
afterwards is the new conflict's note (ChannelOnline's overwritten value is shown nowhere else), never the dismissed
one back.

While a settled note shows, the link's agreement on its field is the note's ConnectWise value (the pass that wrote the
note agreed on it, later passes keep it, exports, imports and master changes clear the notes), so a pass can only plan
a note about another ConnectWise value for that field: no plan writes the dismissed note again. A link pointed at
another company (Link to Company ID) clears the old company's notes with its agreement; a new conflict there with the
old note's ConnectWise value is a new note (another ChannelOnline value was overwritten), which the rep must see."""

from __future__ import annotations

from inbound_support import edit_host, enable, export_customer
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import CW_MASTER, RecordDrift, SyncRun
from colcw_plugin.sync.customers.link_batch import NoteKey, dismiss_notes, dismissed_notes
from colcw_plugin.sync.inbound.reconcile import Reconciler
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import Customer

D, B, E, C = "512-555-0199", "512-555-0177", "512-555-0188", "512-555-0166"


def _pass() -> SyncRun:
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.field, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _phone(customer_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).phone


def _settled_conflict(sandbox, account: str):
    """The host changed the phone to D (not exported) and ConnectWise to B: the pass keeps B (the master) and notes
    that ChannelOnline had D."""
    customer, company, _ = export_customer(sandbox, account_number=account, name=f"Settle Dental {account}")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")  # (no callbacks reach this test)
    _pass()
    edit_host(customer.id, phone=D)
    sandbox.edit_company(company, {"phoneNumber": B})
    _pass()
    assert _notes(customer.id) == [("phone", D, B, "connectwise")] and _phone(customer.id) == B
    return customer, company


def _rep_dismisses_during_the_next_pass(monkeypatch, customer_id: int, seen: str) -> list[list[str]]:
    done: list[list[str]] = []

    def rep_dismisses(self) -> None:
        with Session(db.engine) as other:
            out = dismiss_notes(other, other.get(Customer, customer_id), [NoteKey("customer", customer_id, "phone", seen)],
                                actor="riley@demo.example")
            other.commit()
        done.append(out.done)

    monkeypatch.setattr(Reconciler, "_planned", rep_dismisses)
    return done


def test_connectwise_changes_the_field_again_while_the_rep_dismisses_its_settled_note(app, fast_callbacks,
                                                                                     monkeypatch):
    customer, company = _settled_conflict(fast_callbacks, "SETL1")
    edit_host(customer.id, phone=E)  # the rep types another phone (not exported)...
    fast_callbacks.edit_company(company, {"phoneNumber": C})  # ...and ConnectWise changes it again
    done = _rep_dismisses_during_the_next_pass(monkeypatch, customer.id, B)
    _pass()
    monkeypatch.undo()
    assert done and len(done[0]) == 1  # the settled note was dismissed, between the pass's reading and applying
    assert _notes(customer.id) == [("phone", E, C, "connectwise")]  # the new conflict, ChannelOnline's E shown
    assert _phone(customer.id) == C
    assert "both sides keep ConnectWise's “512-555-0177”" in dismissed_notes(db.session, customer.id)[0].message
    _pass()  # ConnectWise unchanged: the new note stays, the dismissed one does not come back
    assert _notes(customer.id) == [("phone", E, C, "connectwise")]


def test_connectwise_changes_the_field_back_to_the_settled_value_while_the_rep_dismisses_its_note(
        app, fast_callbacks, monkeypatch):
    customer, company = _settled_conflict(fast_callbacks, "SETL2")
    edit_host(customer.id, phone=E)
    fast_callbacks.edit_company(company, {"phoneNumber": C})
    fast_callbacks.edit_company(company, {"phoneNumber": B})  # and back, before any pass read it
    done = _rep_dismisses_during_the_next_pass(monkeypatch, customer.id, B)
    _pass()
    monkeypatch.undo()
    assert done and len(done[0]) == 1
    assert _notes(customer.id) == []  # ConnectWise holds what both sides agreed: nothing new, and the note stays gone
    assert _phone(customer.id) == E  # ChannelOnline's own change, for the next export
    _pass()
    assert _notes(customer.id) == []


def test_after_a_relink_a_new_conflict_with_the_old_notes_value_is_shown(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, _ = _settled_conflict(sandbox, "SETL3")
    # The rep links the customer to another company (its phone C: the new agreement); the old company's note goes.
    other = sandbox.api("POST", "company/companies", json={
        "identifier": "SETL3B", "name": "Settle Dental Annex", "addressLine1": "9 Side St", "city": "Austin",
        "state": "TX", "zip": "73301", "phoneNumber": C}).json()
    token = csrf_from(rep_client.get(f"/customers/{customer.id}").get_data(as_text=True))
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "SETL3B", "confirm": str(other["id"]), "csrf_token": token})
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:500]
    assert _notes(customer.id) == []
    assert f"note cleared: the customer was linked to ConnectWise company SETL3B (id {other['id']}) instead of " \
        "company SETL3 (id" in dismissed_notes(db.session, customer.id)[0].message
    edit_host(customer.id, phone=E)  # the rep types another phone...
    sandbox.edit_company(other["id"], {"phoneNumber": B})  # ...and the new company takes the old note's value
    _pass()
    assert _phone(customer.id) == B  # ConnectWise's, the master's
    assert _notes(customer.id) == [("phone", E, B, "connectwise")]  # ChannelOnline's E, overwritten, is shown
