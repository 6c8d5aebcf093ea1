"""After Apply anyway on the mass-delete guard, the Connection page no longer says the records the stopped run held
are "waiting to be read": the run past the guard reads them (it is named and linked while it is queued or running),
and once it is done nothing is waiting."""

from __future__ import annotations

import html
import re

from inbound_support import enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Link, SyncRun
from colcw_plugin.sync.inbound.hints import Hint, pending_count, record_hint
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _last_line(page: str) -> str:
    """The section's "Last change received" paragraph, as text."""
    found = re.search(r'<p id="live-last">(.*?)</p>', page, re.S)
    assert found, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_after_apply_anyway_the_held_records_are_not_waiting_to_be_read(app, fast_callbacks):
    sandbox = fast_callbacks
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"HLD{n}", "name": f"Held {n}", "addressLine1": "1 Way", "city": "Austin", "state": "TX",
            "phoneNumber": f"512-555-03{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for c in companies[:2]:  # two deletions announced by callbacks: more than the guard lets through (1 of 5)
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    stopped = _run("cw_live_update", {"wave": "held"})
    assert "mass-delete guard" in (stopped.message or ""), stopped.message
    assert pending_count(db.session) == 2  # held, not lost

    admin = sign_in(app.test_client(), "admin@demo.example")
    page = admin.get(BASE + "/").get_data(as_text=True)
    assert "2 waiting to be read." in _last_line(page)

    resp = admin.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"})
    assert resp.status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile")
                                .order_by(SyncRun.id.desc())).scalars().first()
    assert forced.params.get("force") is True
    page = admin.get(BASE + "/").get_data(as_text=True)
    line = _last_line(page)
    assert "waiting to be read" not in line, line
    assert f"2 being read by run #{forced.id} (Apply anyway)." in line, line
    assert f'href="{BASE}/jobs/runs/{forced.id}"' in page or f"/runs/{forced.id}\"" in page

    done = runtime().execute(db.session, forced.id)
    assert done.status == "succeeded", done.message
    assert sorted(db.session.execute(select(Link.cw_id).where(Link.status == "missing_in_cw")).scalars()) == \
        sorted(c["id"] for c in companies[:2])
    assert pending_count(db.session) == 0  # read by the run past the guard, not left for the next safety-net pass
    assert "Also read the 2 records ConnectWise announced that were waiting." in done.message, done.message
    line = _last_line(admin.get(BASE + "/").get_data(as_text=True))
    assert "waiting to be read" not in line and "being read" not in line, line
