"""The mass-delete guard's alert on the Connection page says how many of the links its pass held back still wait:
"Those 3 links were not marked" stood unchanged after a rep linked one of those customers to another company and
cleared another's link (each takes its hold with it), while Apply anyway and Dismiss would take one. Deletions an
earlier pass holds back, which those buttons take too, are said with a later pass's. Against the sandbox, the guard
holding for real."""

from __future__ import annotations

import html

from htmx_loads import loaded
from inbound_support import enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Link, SyncRun, get_link
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.inbound.reconcile import held_links
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _alert(app) -> str:
    """The alert's text on the Connection page ("" when none shows)."""
    db.session.rollback()
    with app.app_context():  # a request context of its own for the sign-in (Flask-Login keeps the user in g)
        page = sign_in(app.test_client(), "admin@demo.example").get(BASE + "/").get_data(as_text=True)
    if 'id="live-alert"' not in page:
        return ""
    start = page.index('id="live-alert"')
    return " ".join(html.unescape(page[start:page.index("</div>", start)]).split())


def _hold(sandbox, companies: list[dict], wave: str) -> list[int]:
    """Delete ``companies`` in ConnectWise and run a live update whose guard holds their deletions back; their
    customers' ids."""
    for c in companies:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    run = _run("cw_live_update", {"wave": wave})
    assert "Deletions held back by the mass-delete guard" in run.message, run.message
    return [db.session.execute(select(Link.host_id).where(Link.entity == "customer", Link.cw_id == c["id"]))
            .scalar_one() for c in companies]


def test_the_alert_counts_the_links_still_held(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    for n in range(10):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"HAC{n}", "name": f"Count Dental HAC{n}", "addressLine1": "1 Way", "city": "Austin",
            "state": "TX", "phoneNumber": f"512-555-06{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
                 if c["identifier"].startswith("HAC")]
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    first, second, third = _hold(sandbox, companies[:3], "first")
    said = _alert(app)
    assert "Those 3 links were not marked; every other change of the pass was applied" in said, said

    # A rep links one of them to another company: two still wait.
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "HAC0B", "name": "Count Dental HAC0", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    token = csrf_from(loaded(rep_client, f"/customers/{first}"))
    assert rep_client.post(f"/colcw/customers/{first}/relink", data={
        "company": "HAC0B", "confirm": str(new["id"]), "csrf_token": token}).status_code == 302
    db.session.rollback()
    assert get_link(db.session, "customer", first).cw_id == new["id"]
    said = _alert(app)
    assert "Those 3 links were not marked" not in said, said
    assert "Of those 3 links, 2 are still held back, not marked (the others were linked to another company, " \
           "cleared, restored in ConnectWise or deleted in ChannelOnline since); every other change" in said, said

    # Another's link cleared: one waits.
    token = csrf_from(loaded(rep_client, f"/customers/{second}"))
    assert rep_client.post(f"/colcw/customers/{second}/clear-link", data={"csrf_token": token}).status_code == 302
    assert [ln.host_id for ln in held_links(db.session)] == [third]
    assert "Of those 3 links, 1 is still held back, not marked" in _alert(app)

    # A later pass holds two more back: its alert counts its own, and says the earlier one waits with them (Apply
    # anyway and Dismiss take all three).
    _hold(sandbox, companies[3:5], "second")
    assert len(held_links(db.session)) == 3
    said = _alert(app)
    assert "Those 2 links were not marked, and 1 held back by earlier passes waits with them; every other change" \
        in said, said
