"""The mass-delete guard: a pass that marks a single deletion is never held back, whatever the last ten minutes held
(the jobs page says "one deletion is never stopped"); a pass over the limit holds back only its deletions of that
kind and applies everything else (statuses, field edits), and later passes keep applying changes while the deletions
wait for Apply anyway (reported once, by the pass that held them)."""

from __future__ import annotations

from inbound_support import cw_status, enable, line
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, Link, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.hints import Hint, pending_count, record_hint
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import Customer

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _linked_companies(sandbox, prefix: str) -> list[dict]:
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"{prefix}{n}", "name": f"Guard {prefix} {n}", "addressLine1": "1 Way", "city": "Austin",
            "state": "TX", "phoneNumber": f"512-555-04{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    return [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
            if c["identifier"].startswith(prefix)]


def _broken() -> list[int]:
    db.session.expire_all()
    return sorted(db.session.execute(select(Link.cw_id).where(Link.status == "missing_in_cw")).scalars())


def _delete(sandbox, company: dict) -> None:
    sandbox.delete_company(company["id"])
    record_hint(db.session, Hint("company", company["id"], "deleted"))


def test_a_single_deletion_is_never_held_back_even_after_another_in_the_last_ten_minutes(app, fast_callbacks):
    sandbox = fast_callbacks
    companies = _linked_companies(sandbox, "ONE")  # 5 linked: 10 % allows 1
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    _delete(sandbox, companies[0])
    first = _run("cw_live_update", {"wave": "first"})
    assert first.status == "succeeded", first.message
    _delete(sandbox, companies[1])  # minutes later: the window still holds the first
    second = _run("cw_live_update", {"wave": "second"})
    assert second.status == "succeeded", second.message
    assert "mass-delete guard" not in (second.message or "")
    assert _broken() == sorted(c["id"] for c in companies[:2])
    assert get_live(db.session).alert == ""
    jobs = sign_in(app.test_client(), "admin@demo.example").get(BASE + "/jobs").get_data(as_text=True)
    assert "a pass that marks a single link of a kind is never held back" in jobs


def test_the_guard_holds_back_only_the_deletions_and_later_passes_keep_applying_changes(app, world):
    sandbox = world.sandbox
    quote = world.quote([line("OPT-7010")], name="Guarded deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    companies = _linked_companies(sandbox, "HLB")  # with the world's company, 6 linked: 10 % allows 1
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")

    _delete(sandbox, companies[0])
    _delete(sandbox, companies[1])
    assert sandbox.api("PATCH", f"company/companies/{companies[4]['id']}", json=[
        {"op": "replace", "path": "name", "value": "Renamed While Held"}]).status_code == 200
    record_hint(db.session, Hint("company", companies[4]["id"], "updated"))
    sandbox.set_opportunity_status(opp["id"], "Won")
    record_hint(db.session, Hint("opportunity", opp["id"], "updated"))
    held = _run("cw_live_update", {"wave": "held"})
    assert held.status == "partial", (held.status, held.message)
    assert "Deletions held back by the mass-delete guard" in held.message, held.message
    assert "2 of 6 customer links (at most 1 allowed)" in held.message
    assert "every other change of the pass was applied" in held.message
    assert _broken() == []  # the deletions wait
    renamed = db.session.execute(select(Customer).where(Customer.account_number == companies[4]["identifier"])).scalar()
    assert renamed.name == "Renamed While Held"
    assert cw_status(quote.id).status == "won"
    assert pending_count(db.session) == 2  # the held deletions stay announced
    client = sign_in(app.test_client(), "admin@demo.example")
    jobs = client.get(BASE + "/jobs").get_data(as_text=True)
    assert 'id="jobs-live-alert"' in jobs and "Deletions held back" in jobs

    # Later: more changes in ConnectWise. The next live update and the scheduled pass apply them; the deletions wait.
    sandbox.set_opportunity_status(opp["id"], "Lost")
    record_hint(db.session, Hint("opportunity", opp["id"], "updated"))
    later = _run("cw_live_update", {"wave": "later"})
    # (the held deletions were reported by the pass that held them: later passes leave them waiting, unsaid)
    assert later.status == "succeeded", (later.status, later.message)
    db.session.expire_all()
    assert cw_status(quote.id).status == "lost"
    sandbox.edit_company(companies[3]["id"], {"city": "Dallas"})
    net = _run("cw_reconcile", {"mode": "changes"})
    assert net.status == "succeeded", (net.status, net.message)
    db.session.expire_all()
    city = db.session.execute(select(Customer.city).where(Customer.account_number == companies[3]["identifier"]))
    assert city.scalar() == "Dallas"
    assert _broken() == [] and "Deletions held back" in get_live(db.session).alert

    page = client.get(BASE + "/").get_data(as_text=True)
    assert client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"}
                       ).status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    done = runtime().execute(db.session, forced.id)
    assert done.status == "succeeded", done.message
    assert _broken() == sorted(c["id"] for c in companies[:2])
    assert get_live(db.session).alert == "" and pending_count(db.session) == 0
