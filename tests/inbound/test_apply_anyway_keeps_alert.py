"""Apply anyway (the mass-delete guard's alert) leaves the alert up until the run it queues has marked the held
deletions: while that run is queued or waits for ConnectWise the alert says so, with a link to the run (and offers no
second Apply anyway); a run that fails (ConnectWise unreachable) leaves the alert with the reason and the deletions
held; Apply anyway again, once ConnectWise answers, marks them and takes the alert down."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from test_held_deletions_once import BASE, _held_pass, _statuses

from colcw_plugin.models import SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.reconcile import held_links
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db


def _alert(client) -> str:
    page = client.get(BASE + "/").get_data(as_text=True)
    found = re.search(r'<div class="flash error" id="live-alert">(.*?)</div>', page, re.S)
    return html.unescape(re.sub(r"\s+", " ", found.group(1))) if found else ""


def _apply(client) -> SyncRun:
    page = client.get(BASE + "/").get_data(as_text=True)
    resp = client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"})
    assert resp.status_code == 302
    db.session.expire_all()
    return db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                              ).scalars().first()


def test_an_apply_anyway_whose_run_fails_leaves_the_alert_with_the_reason(app, fast_callbacks):
    sandbox = fast_callbacks
    companies, held = _held_pass(sandbox, "APF")
    gone = [c["id"] for c in companies[:2]]
    admin = sign_in(app.test_client(), "admin@demo.example")

    forced = _apply(admin)
    assert forced.params.get("force") and forced.status == "queued"
    db.session.expire_all()
    assert "Deletions held back" in get_live(db.session).alert  # not cleared by the click
    alert = _alert(admin)
    assert f"Apply anyway: run #{forced.id} is queued to mark the held deletions as deleted" in alert, alert
    assert f'/jobs/runs/{forced.id}"' in alert and 'value="apply"' not in alert  # its run, and no second click
    # A second click while it is queued queues nothing more.
    assert _apply(admin).id == forced.id

    # ConnectWise is unreachable: the run waits, then gives up. The alert stays, saying why.
    sandbox.add_fault(status="drop")
    try:
        assert runtime().execute(db.session, forced.id, queued=True).status == "waiting"
        alert = _alert(admin)
        assert f"Apply anyway: run #{forced.id} has not marked the held deletions yet: it waits for ConnectWise" in \
            alert, alert
        failed = runtime().execute(db.session, forced.id)
        assert failed.status == "failed", (failed.status, failed.message)
    finally:
        sandbox.clear_faults()
    db.session.expire_all()
    assert "Deletions held back" in get_live(db.session).alert
    assert len(held_links(db.session)) == 2 and _statuses(gone) == ["ok", "ok"]
    alert = _alert(admin)
    assert "Deletions held back" in alert
    reason = failed.message.rstrip(".")
    assert f"Apply anyway: run #{forced.id} failed before marking them, so 2 deletions are still held back. Why: " \
        f"{reason}. Once the cause is fixed (ConnectWise answers again, for one), use Apply anyway again, or " \
        "Dismiss." in alert, alert
    assert "the connection to ConnectWise failed" in reason, reason
    assert 'value="apply"' in alert  # offered again

    # Apply anyway again, ConnectWise answering: the deletions are marked and the alert goes.
    again = _apply(admin)
    assert again.id != forced.id
    assert runtime().execute(db.session, again.id).status == "succeeded"
    assert _statuses(gone) == ["missing_in_cw", "missing_in_cw"]
    db.session.expire_all()
    assert get_live(db.session).alert == "" and _alert(admin) == ""
