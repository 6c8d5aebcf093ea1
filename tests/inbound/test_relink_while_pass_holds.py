"""A rep links a customer to another company, or clears its link, while a live-update pass that will hold back its
company's deletion (the mass-delete guard) is between reading and marking: the pass marks the held deletions on the
links as they are then, locked, and leaves alone a link that changed meanwhile. Before, it marked whatever the link
had become: the new company's link was marked held (a deletion of the old company, waiting on the new one, which
Dismiss then silenced), and a link cleared meanwhile failed the whole pass. Against the sandbox and PostgreSQL, the
guard holding for real. A relink still saving when the pass marks is waited for: the pass does not write the old
company's agreement, marked held, over the one the relink saved."""

from __future__ import annotations

import threading

from inbound_support import enable
from lock_support import a_lock_waited_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import HOST_MASTER, Link, SyncItem, SyncRun, get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers.links import clear_link, relink
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.inbound.reconcile import Reconciler, held_links
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.shared.held_deletions import DELETION
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _five(sandbox, prefix: str) -> list[dict]:
    """Five companies imported as customers (ChannelOnline the master, no callbacks reach the test)."""
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"{prefix}{n}", "name": f"Race Held {prefix}{n}", "addressLine1": "1 Way",
            "city": "Austin", "state": "TX", "phoneNumber": f"512-555-07{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    return [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
            if c["identifier"].startswith(prefix)]


def _host_of(cw_id: int) -> int:
    return db.session.execute(select(Link.host_id).where(Link.entity == "customer", Link.cw_id == cw_id)).scalar_one()


def _delete_two(sandbox, companies: list[dict]) -> None:
    for c in companies[:2]:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))


def _between_guard_and_marking(monkeypatch, rep) -> list[str]:
    """Run ``rep(session)`` in a session of its own, committed, right after the pass's guard raised the alert and
    before it marks the links it holds."""
    guard, engine, done = Reconciler.guard, db.engine, []

    def raced(self, breaks):
        held = guard(self, breaks)
        if held is not None and not done:
            with Session(engine) as other:
                done.append(rep(other))
                other.commit()
        return held

    monkeypatch.setattr(Reconciler, "guard", raced)
    return done


def _result(run_id: int, customer_id: int) -> SyncItem:
    return db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id, SyncItem.entity == "customer",
                                                     SyncItem.host_id == customer_id)).scalar_one()


def test_a_customer_linked_elsewhere_meanwhile_keeps_its_new_link_unheld(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    companies = _five(sandbox, "RWA")
    first, second = _host_of(companies[0]["id"]), _host_of(companies[1]["id"])
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "RWA0B", "name": "Race Held RWA0", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    _delete_two(sandbox, companies)
    rt = runtime()

    def rep_relinks(other: Session) -> str:
        answer = relink(other, rt.client(other), other.get(Customer, first), "RWA0B", confirmed=new["id"],
                        actor="riley@demo.example")
        assert answer.linked, answer
        return answer.message

    done = _between_guard_and_marking(monkeypatch, rep_relinks)
    held = _run("cw_live_update", {"wave": "raced"})
    monkeypatch.undo()
    assert done, "the rep's relink did not run between the guard and the marking"
    assert held.message.startswith("Deletions held back by the mass-delete guard"), held.message

    db.session.rollback()
    db.session.expire_all()
    assert [ln.host_id for ln in held_links(db.session)] == [second]  # the old company's deletion left with it
    link = get_link(db.session, "customer", first)
    assert link.cw_id == new["id"] and link.status == "ok"
    assert DELETION not in (link.synced_values or {})  # the new company's link is not marked held
    assert link.synced_values.get("name") == "Race Held RWA0"  # the relink's agreement, as it wrote it
    item = _result(held.id, first)
    assert item.action == "skipped" and item.cw_id == companies[0]["id"], (item.action, item.cw_id, item.message)
    assert "linked to another company or cleared" in item.message, item.message
    assert _result(held.id, second).action == "failed"  # held back, reported once

    # The new company deleted later is a deletion of its own (one: applied), not one "held by an earlier pass".
    sandbox.delete_company(new["id"])
    record_hint(db.session, Hint("company", new["id"], "deleted"))
    later = _run("cw_live_update", {"wave": "later"})
    assert later.status == "succeeded", later.message
    db.session.expire_all()
    assert get_link(db.session, "customer", first).status == "missing_in_cw"


def test_a_link_cleared_meanwhile_does_not_fail_the_pass(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    companies = _five(sandbox, "RWB")
    first, second = _host_of(companies[0]["id"]), _host_of(companies[1]["id"])
    _delete_two(sandbox, companies)

    def rep_clears(other: Session) -> str:
        return clear_link(other, other.get(Customer, second), actor="riley@demo.example")

    done = _between_guard_and_marking(monkeypatch, rep_clears)
    held = _run("cw_live_update", {"wave": "raced"})
    monkeypatch.undo()
    assert done, "the rep's clear did not run between the guard and the marking"
    assert held.message.startswith("Deletions held back by the mass-delete guard"), held.message

    db.session.rollback()
    db.session.expire_all()
    assert [ln.host_id for ln in held_links(db.session)] == [first]
    assert get_link(db.session, "customer", second) is None  # not written back by the pass
    item = _result(held.id, second)
    assert item.action == "skipped" and "linked to another company or cleared" in item.message
    assert get_live(db.session).alert  # the other deletion still waits


def test_a_relink_saving_while_the_pass_marks_is_waited_for(app, fast_callbacks, monkeypatch):
    """The rep's relink has written the link but not committed when the pass marks the held deletions: the pass waits
    for it, then leaves that link as the relink saved it. Before, it marked the agreement it had read (the old
    company's) and wrote it over the new one once the relink committed."""
    sandbox = fast_callbacks
    companies = _five(sandbox, "RWC")
    first, second = _host_of(companies[0]["id"]), _host_of(companies[1]["id"])
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "RWC0B", "name": "Race Held Renamed", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    _delete_two(sandbox, companies)
    rt, engine, guard = runtime(), db.engine, Reconciler.guard  # (the engine taken here: threads have no app context)
    written, commit, threads, failed, waited = threading.Event(), threading.Event(), [], [], []

    def rep_relinks() -> None:
        try:
            with Session(engine) as other:
                answer = relink(other, rt.client(other), other.get(Customer, first), "RWC0B", confirmed=new["id"],
                                actor="riley@demo.example")  # (flushed: the link's row is written, and locked)
                assert answer.linked, answer
                written.set()
                commit.wait(15)
                other.commit()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            failed.append(e)
            written.set()

    def commit_once_the_pass_waits() -> None:
        waited.append(a_lock_waited_for(engine))
        commit.set()

    def raced(self, breaks):
        held = guard(self, breaks)
        if held is not None and not threads:
            threads.append(threading.Thread(target=rep_relinks))
            threads[0].start()
            assert written.wait(15)
            threads.append(threading.Thread(target=commit_once_the_pass_waits))
            threads[1].start()
        return held

    monkeypatch.setattr(Reconciler, "guard", raced)
    held = _run("cw_live_update", {"wave": "raced"})
    monkeypatch.undo()
    for t in threads:
        t.join(15)
    assert not failed, failed
    assert len(threads) == 2 and waited == [True]  # the pass waited for the relink's lock
    assert held.message.startswith("Deletions held back by the mass-delete guard"), held.message

    db.session.rollback()
    db.session.expire_all()
    link = get_link(db.session, "customer", first)
    assert link.cw_id == new["id"]
    assert link.synced_values.get("name") == "Race Held Renamed"  # the relink's agreement, not the old company's
    assert DELETION not in (link.synced_values or {})
    assert [ln.host_id for ln in held_links(db.session)] == [second]
    assert _result(held.id, first).action == "skipped"
