"""The mass-delete guard's alert on the jobs page (the safety net's section, and its copy in the last runs' poll) says
how many of the links its pass held back still wait, as the Connection page does (held_deletions.shown_alert). Before,
it showed the stored "Those 3 links were not marked" after a rep linked one of those customers to another company and
cleared another's link, while the Connection page said one still waits. Against the sandbox, the guard holding for
real."""

from __future__ import annotations

import html

from htmx_loads import loaded
from inbound_support import enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Link, SyncRun
from colcw_plugin.sync.inbound import RECONCILE_KIND
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


def _said(page: str, ident: str) -> str:
    if f'id="{ident}"' not in page:
        return ""
    start = page.index(f'id="{ident}"')
    return " ".join(html.unescape(page[start:page.index("</div>", start)]).split())


def _get(app, url: str) -> str:
    db.session.rollback()
    with app.app_context():  # a request context of its own for the sign-in (Flask-Login keeps the user in g)
        return sign_in(app.test_client(), "admin@demo.example").get(url).get_data(as_text=True)


def _jobs_alert(app) -> str:
    """The alert's text on the jobs page's Run tab ("" when none shows)."""
    return _said(_get(app, BASE + "/jobs"), "jobs-live-alert")


def _polled_alert(app, run_id: int) -> str:
    """The alert's text in the last runs' poll of the safety net's run ``run_id`` (its copy swapped in out of band)."""
    return _said(_get(app, f"{BASE}/jobs/last-runs-rows?run={run_id}"), "jobs-live-alert")


def _connection_alert(app) -> str:
    return _said(_get(app, BASE + "/"), "live-alert")


def _words(said: str) -> str:
    """The alert's own words (from "Deletions held back" to its fix's last sentence), without the page's buttons."""
    end = "The limit is on the jobs page."
    return said[said.index("Deletions held back"):said.index(end) + len(end)] if end in said else ""


def test_the_jobs_page_counts_the_links_still_held(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    for n in range(10):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"JHC{n}", "name": f"Jobs Count JHC{n}", "addressLine1": "1 Way", "city": "Austin",
            "state": "TX", "phoneNumber": f"512-555-08{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
                 if c["identifier"].startswith("JHC")]
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for c in companies[:3]:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    held = _run("cw_live_update", {"wave": "first"})
    assert "Deletions held back by the mass-delete guard" in held.message, held.message
    first, second, third = [db.session.execute(select(Link.host_id).where(
        Link.entity == "customer", Link.cw_id == c["id"])).scalar_one() for c in companies[:3]]
    assert "Those 3 links were not marked; every other change" in _jobs_alert(app)

    # A rep links one of them to another company and clears another's link: one waits.
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "JHC0B", "name": "Jobs Count JHC0", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    token = csrf_from(loaded(rep_client, f"/customers/{first}"))
    assert rep_client.post(f"/colcw/customers/{first}/relink", data={
        "company": "JHC0B", "confirm": str(new["id"]), "csrf_token": token}).status_code == 302
    token = csrf_from(loaded(rep_client, f"/customers/{second}"))
    assert rep_client.post(f"/colcw/customers/{second}/clear-link", data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    assert [ln.host_id for ln in held_links(db.session)] == [third]

    said = _jobs_alert(app)
    assert "Those 3 links were not marked" not in said, said
    assert "Of those 3 links, 1 is still held back, not marked (the others were linked to another company, cleared, " \
           "restored in ConnectWise or deleted in ChannelOnline since); every other change" in said, said
    # The same words as the Connection page's, and the poll's copy of the alert says them too.
    words = _words(said)
    assert words and words == _words(_connection_alert(app)), (said, _connection_alert(app))
    net = create_run(db.session, runtime().kinds, RECONCILE_KIND, {})  # a safety-net run the Run tab polls
    db.session.commit()
    polled = _polled_alert(app, net.id)
    assert "Of those 3 links, 1 is still held back, not marked" in polled, polled
