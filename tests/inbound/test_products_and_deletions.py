"""Opportunity products changed in ConnectWise, deleted opportunities, the mass-delete guard, the safety net."""

from __future__ import annotations

import sys
from pathlib import Path

from htmx_loads import loaded
from inbound_support import enable, export_customer, line, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, DocumentDrift, Link, SyncRun, get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs import history
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import Customer, Document, DocumentExternalStatus


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _changes(doc_id: int) -> list[dict]:
    row = db.session.execute(select(DocumentDrift).where(DocumentDrift.document_id == doc_id)).scalar()
    return row.changes if row else []


def test_products_edited_in_connectwise_are_shown_never_written_and_the_next_export_says_it_overwrites_them(
        app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010", qty=3, price=100), line("LAT-5440", qty=1, price=50),
                         line("PWR-R550", qty=2, price=10)], name="Products deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    products = {p["catalogItem"]["identifier"]: p for p in world.products(opp["id"])}
    enable(live_server.url, HOST_MASTER)
    sandbox = world.sandbox
    sandbox.edit_product(products["OPT-7010"]["id"], {"quantity": 5, "price": 95})
    sandbox.delete_product(products["PWR-R550"]["id"])
    sandbox.add_product(opp["id"], {"catalogItem": {"identifier": "LAT-5440"}, "quantity": 7, "price": 12})
    wait_for(lambda: len(_changes(quote.id)) == 4)
    settle(sandbox)
    kinds = sorted((c["kind"], c["item"], c["field"], c["exported"], c["cw"]) for c in _changes(quote.id))
    assert kinds == [("added", "LAT-5440", "", "", "7 × 12.00"),
                     ("changed", "OPT-7010", "price", "100.00", "95.00"),
                     ("changed", "OPT-7010", "quantity", "3.00", "5.00"),
                     ("removed", "PWR-R550", "", "2 × 10.00", "")]
    doc = db.session.get(Document, quote.id)
    assert [(ln.item_number, ln.quantity) for ln in doc.lines] == [("OPT-7010", 3), ("LAT-5440", 1), ("PWR-R550", 2)]

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{quote.id}")
    assert "Changed in ConnectWise since export" in page
    assert "line 1 (OPT-7010) quantity 3.00 → 5.00 in ConnectWise" in page
    assert "line 3 (PWR-R550) removed in ConnectWise" in page and "LAT-5440 added by hand in ConnectWise" in page
    # (what colcw did with them, not whether the rep changed the document: it read "This document was not changed")
    assert f"colcw did not bring these changes into {quote.number}. Exporting it again puts its own lines" in page
    plan = client.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    assert "Changes made in ConnectWise since the last export" in plan
    assert "sets line 1 (OPT-7010) quantity back from 5.00 to 3.00" in plan and "adds line 3 (PWR-R550) again" in plan
    assert "leaves LAT-5440, added by hand in ConnectWise, as it is" in plan

    services_unlock_and_export(world, quote.id)
    settle(sandbox)
    assert _changes(quote.id) == []
    held = sorted((p["catalogItem"]["identifier"], p["quantity"]) for p in world.products(opp["id"]))
    assert held == [("LAT-5440", 1.0), ("LAT-5440", 7.0), ("OPT-7010", 3.0), ("PWR-R550", 2.0)]
    assert "Changed in ConnectWise since export" not in loaded(client, f"/documents/{quote.id}")


def services_unlock_and_export(world, doc_id: int) -> None:
    assert world.export(doc_id).status == "succeeded"


def test_an_opportunity_deleted_in_connectwise_breaks_the_link_and_the_page_says_what_to_do(app, world, live_server,
                                                                                            worker_thread):
    quote = world.quote([line("OPT-7010")], name="Gone deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    world.sandbox.delete_record("opportunities", opp["id"])
    wait_for(lambda: get_link(db.session, "document", quote.id).status == "missing_in_cw")
    status = db.session.execute(select(DocumentExternalStatus).where(DocumentExternalStatus.document_id == quote.id)
                                ).scalar_one()
    assert status.status == "deleted" and "Export the document again" in status.detail
    assert db.session.get(Document, quote.id) is not None
    page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/documents/{quote.id}")
    assert f"Deleted in ConnectWise: opportunity {opp['id']}" in page


def _five_linked_companies(sandbox) -> list[dict]:
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"GRD{n}", "name": f"Guarded {n}", "addressLine1": "1 Way", "city": "Austin", "state": "TX",
            "phoneNumber": f"512-555-02{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    return sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()


def test_the_mass_delete_guard_stops_a_pass_that_would_break_too_many_links_and_alerts(app, fast_callbacks):
    sandbox = fast_callbacks
    companies = _five_linked_companies(sandbox)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")  # no callbacks reach us: the safety net finds it
    for c in companies[:3]:
        sandbox.delete_company(c["id"])
    stopped = _run("cw_reconcile", {"mode": "deletions"})
    assert stopped.status == "failed" and "mass-delete guard" in stopped.message
    assert "3 of 5 customer links (at most 1 allowed)" in stopped.message
    assert not db.session.execute(select(Link).where(Link.status != "ok")).first()  # nothing marked
    failed = len(history.failed_items(db.session, stopped.id))
    assert failed > 1 and history.retry_label(db.session, runtime().kinds, stopped) == \
        f"Retry the {failed} failed records"  # counted, not "the failed record" (a pass names no ids)
    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get("/admin/integration/connectwise/").get_data(as_text=True)
    assert 'id="live-alert"' in page and "Apply anyway" in page
    assert 'id="jobs-live-alert"' in client.get("/admin/integration/connectwise/jobs").get_data(as_text=True)

    # A person checked ConnectWise: apply it anyway.
    resp = client.post("/admin/integration/connectwise/live-updates/alert",
                       data={"csrf_token": csrf_from(page), "action": "apply"})
    assert resp.status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    assert forced.params == {"mode": "deletions", "force": True}
    done = runtime().execute(db.session, forced.id)
    assert done.status == "succeeded", done.message
    broken = db.session.execute(select(Link.cw_id).where(Link.status == "missing_in_cw")).scalars().all()
    assert sorted(broken) == sorted(c["id"] for c in companies[:3])
    assert len(db.session.execute(select(Customer)).all()) == 5 and get_live(db.session).alert == ""


def test_a_raised_limit_lets_the_same_pass_through(app, fast_callbacks):
    sandbox = fast_callbacks
    companies = _five_linked_companies(sandbox)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    client = sign_in(app.test_client(), "admin@demo.example")
    jobs = client.get("/admin/integration/connectwise/jobs").get_data(as_text=True)
    resp = client.post("/admin/integration/connectwise/jobs/mass-delete-limit",
                       data={"csrf_token": csrf_from(jobs), "mass_delete_limit": "60%"}, follow_redirects=True)
    assert "more than 60% of the links" in resp.get_data(as_text=True)
    for c in companies[:3]:
        sandbox.delete_company(c["id"])
    assert _run("cw_reconcile", {"mode": "deletions"}).status == "succeeded"
    assert len(db.session.execute(select(Link).where(Link.status == "missing_in_cw")).all()) == 3


def test_the_safety_net_catches_what_no_callback_brought_in_pages_not_per_record(app, fast_callbacks, world):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="NET1", name="Net Co", phone="512-555-0900")
    quote = world.quote([line("OPT-7010", qty=3)], name="Net deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    first = _run("cw_reconcile", {"mode": "changes"})  # the first pass compares everything; sets the watermark
    assert first.status == "succeeded", first.message
    sandbox.add_callback_fault("drop")  # every callback lost
    sandbox.edit_company(company, {"city": "Dallas"})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    sandbox.set_opportunity_status(opp["id"], "Won")
    product = world.products(opp["id"])[0]
    sandbox.edit_product(product["id"], {"quantity": 4})
    sandbox.clear_requests()
    net = _run("cw_reconcile", {"mode": "changes"})
    assert net.status == "succeeded", net.message
    assert db.session.get(Customer, customer.id).city == "Dallas"
    assert {c.first_name: c.title for c in db.session.get(Customer, customer.id).contacts}["Ada"] == "CEO"
    assert db.session.execute(select(DocumentExternalStatus.status).where(
        DocumentExternalStatus.document_id == quote.id)).scalar() == "won"
    assert [(c["field"], c["cw"]) for c in _changes(quote.id)] == [("quantity", "4.00")]
    gets = [r for r in sandbox.requests() if r["method"] == "GET"]
    by_id = [r for r in gets if r["path"].rstrip("/").split("/")[-1].isdigit()]
    assert by_id == [] and len(gets) <= 12, [(r["path"], r["query"]) for r in gets]
    assert any("Company City “Dallas”" in i.message for i in run_items("cw_reconcile"))


def test_what_live_updates_read_asks_only_for_names_connectwise_keeps(world):
    """A name ConnectWise does not know in ``fields`` is dropped without a word: every name the safety net and a
    live-update run ask for, opportunities and their products alike, is one the official schemas hold."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
    from official import check_request, names_used, relative

    quote = world.quote([line("OPT-7010", qty=2)], name="Fields deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    world.sandbox.clear_requests()
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass: every linked record
    assert _run("cw_live_update", {"records": {"opportunity": [opp["id"]]}}).status == "succeeded"

    reads = [e for e in world.sandbox.requests() if e["method"] == "GET" and relative(e["path"]) in (
        "/sales/opportunities", "/procurement/products")]
    asked = {relative(e["path"]) for e in reads if any(p == "fields" for p, _ in names_used(e))}
    assert asked == {"/sales/opportunities", "/procurement/products"}, asked
    problems = [p for e in reads for p in check_request(e)]
    assert not problems, "\n".join(problems)


def test_apply_anyway_on_a_stopped_changes_pass_runs_the_changes_pass_again(app, fast_callbacks):
    """Apply anyway ran a deletions pass whatever the guard stopped: a changes pass's other changes (a company
    renamed in ConnectWise) waited for the next scheduled changes pass. It runs the stopped pass again, forced."""
    sandbox = fast_callbacks
    companies = _five_linked_companies(sandbox)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")  # ConnectWise's changes are taken
    first = _run("cw_reconcile", {"mode": "changes"})  # sets the watermark
    assert first.status == "succeeded", first.message
    for c in companies[:3]:
        sandbox.delete_company(c["id"])
    assert sandbox.api("PATCH", f"company/companies/{companies[4]['id']}", json=[
        {"op": "replace", "path": "name", "value": "Renamed In ConnectWise"}]).status_code == 200
    stopped = _run("cw_reconcile", {"mode": "changes"})
    assert "mass-delete guard" in (stopped.message or ""), stopped.message

    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get("/admin/integration/connectwise/").get_data(as_text=True)
    resp = client.post("/admin/integration/connectwise/live-updates/alert",
                       data={"csrf_token": csrf_from(page), "action": "apply"}, follow_redirects=True)
    assert "applies ConnectWise&#39;s changes and marks the deleted records" in resp.get_data(as_text=True)
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    assert forced.params == {"mode": "changes", "force": True}
    done = runtime().execute(db.session, forced.id)
    assert done.status == "succeeded", done.message
    db.session.expire_all()
    assert sorted(db.session.execute(select(Link.cw_id).where(Link.status == "missing_in_cw")).scalars()) == \
        sorted(c["id"] for c in companies[:3])
    renamed = db.session.execute(select(Customer).where(Customer.account_number == companies[4]["identifier"])).scalar()
    assert renamed.name == "Renamed In ConnectWise"
