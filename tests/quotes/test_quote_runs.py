"""Bulk runs (ranges, concurrency, resume), the command line, and the rep's export pages."""

from __future__ import annotations

import datetime as dt
import re

from htmx_loads import loaded
from quote_support import items, line
from sqlalchemy import select, update

from colcw_plugin.models import SyncRun
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import Document


def test_bulk_range_export_runs_documents_concurrently_and_reports_each(world, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=4)
    good = [world.quote([line("OPT-7010"), line("LAT-5440")], name=f"Deal {n}") for n in range(6)]
    bad = world.quote([line("XX-1", manufacturer="Nobody Inc")], name="Broken")
    old = world.quote([line("OPT-7010")], name="Old deal")
    db.session.execute(update(Document).where(Document.id == old.id)
                       .values(updated_at=dt.datetime(2020, 1, 1), created_at=dt.datetime(2020, 1, 1)))
    db.session.commit()
    run = world.export({"range": {"field": "modified", "preset": "last7"}})
    assert run.status == "partial"
    assert run.total == 7 and run.done == 7
    by_doc = {i.host_id: i for i in items(run)}
    assert set(by_doc) == {d.id for d in good} | {bad.id}
    assert all(by_doc[d.id].action == "created" for d in good)
    assert by_doc[bad.id].action == "failed" and len(items(run, "line")) == 1
    assert sorted(o["name"] for o in world.opportunities()) == sorted(f"Deal {n}" for n in range(6))


def test_resumed_run_skips_documents_it_already_finished(world, connected, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=1, record_retry_intervals=())  # the dropped POST: the second document
    first = world.quote([line("OPT-7010")], name="First")
    second = world.quote([line("LAT-5440")], name="Second")
    connected.add_fault(status="drop", method="POST", path="sales/opportunities", nth=2)
    run = world.export({"document_ids": [first.id, second.id]})
    assert run.status == "partial"
    assert [i.action for i in items(run)] == ["created", "not_attempted"]  # the dropped one, in the foreground
    connected.clear_faults()
    connected.clear_requests()
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status="interrupted"))
    db.session.commit()
    again = runtime().execute(db.session, run.id)
    assert again.status == "succeeded"  # resumed: the record not attempted is, the other is not redone
    assert sorted(i.host_id for i in items(again) if i.action == "created") == [first.id, second.id]
    assert again.done == again.total == 2 and len(items(again)) == 2
    assert not any("First" in r["query"] for r in connected.requests())  # not looked at again
    assert sorted(o["name"] for o in world.opportunities()) == ["First", "Second"]


def test_command_exports_one_document_and_prints_its_summary(world, app):
    doc = world.quote([line("OPT-7010")], name="From the shell")
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "quotes", "--document", doc.number])
    assert result.exit_code == 0, result.output
    assert doc.number in result.output and "created" in result.output
    assert [o["name"] for o in world.opportunities()] == ["From the shell"]


def test_command_exits_non_zero_and_prints_the_fix_when_a_document_fails(world, app):
    world.quote([line("XX-1", manufacturer="Nobody Inc")], name="Broken")
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "quotes", "--created", "today"])
    assert result.exit_code == 1
    assert 'manufacturer "Nobody Inc" does not exist' in result.output and "Fix:" in result.output


def test_command_refuses_two_selections_and_bad_ranges(world, app):
    runner = app.test_cli_runner()
    both = runner.invoke(args=["colcw", "sync", "quotes", "--all", "--created", "today"])
    assert both.exit_code == 2 and "exactly one" in both.output
    bad = runner.invoke(args=["colcw", "sync", "quotes", "--modified", "yesterday-ish"])
    assert bad.exit_code == 2 and "YYYY-MM-DD..YYYY-MM-DD" in bad.output


def test_export_page_queues_the_export_and_shows_the_outcome(world, rep_client, drain_queue):
    doc = world.quote([line("OPT-7010")], name="From the page")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    # Asked of ConnectWise: no opportunity of that name yet, so the export creates it.
    assert "Creates a new opportunity “From the page” for Acme Dental." in page
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "run=" in resp.location
    queued = rep_client.get(resp.location).get_data(as_text=True)
    # Just requested: the page asks for the run again within a fifth of a second, and every second besides.
    assert "colcw-progress-bar" in queued and 'hx-trigger="load delay:200ms, every 1s"' in queued
    run_id = int(resp.location.rsplit("run=", 1)[1])
    # One document a rep waits for: colcw's worker runs it in its own process, warm (test_worker_in_process).
    assert runtime().queue.fetch(db.session.get(SyncRun, run_id).rq_job_id).meta["colcw_in_process"] is True
    fragment = resp.location.replace("/export?", "/export/run?")
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(created_at=SyncRun.created_at - dt.timedelta(seconds=3)))
    db.session.commit()
    assert 'hx-trigger="load delay:500ms, every 1s"' in rep_client.get(fragment).get_data(as_text=True)
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(created_at=SyncRun.created_at - dt.timedelta(seconds=60)))
    db.session.commit()
    assert 'hx-trigger="every 1s"' in rep_client.get(fragment).get_data(as_text=True)  # a run long queued: every second
    status_url = resp.location.replace("/export?", "/export/status?")
    assert rep_client.get(status_url).get_json()["status"] == "queued"
    drain_queue()
    assert rep_client.get(status_url).get_json()["final"] is True
    done = rep_client.get(resp.location).get_data(as_text=True)
    [opp] = world.opportunities()
    assert 'id="colcw-outcome" data-action="created"' in done
    assert f"recid={opp['id']}" in done


def test_export_now_is_disabled_while_a_check_fails_naming_it_and_offers_the_customer_export(world, rep_client,
                                                                                              drain_queue):
    from colcw_plugin import models as links

    links.remove_link(db.session, "customer", world.customer_id)
    db.session.commit()
    doc = world.quote([line("OPT-7010")])
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert 'id="colcw-export-customer-now"' in page
    assert re.search(r'<button type="submit" id="colcw-export-submit" disabled>', page)
    # The check is named beside Export now; its row says why and what to do (said once, there).
    assert "Export now is unavailable until “Customer Acme Dental in ConnectWise” is fixed: see its ✗ above." in page
    # (ConnectWise has its company ACME01, unlinked: the row says so, and that the customer's export links it.)
    said = ("ConnectWise already has company ACME01 “Acme Dental” (same Company ID), not linked to this customer yet: "
            "export the customer first.")
    assert page.count(said) == 1
    # A post anyway (a stale page, a script) is refused the same way, and nothing is queued.
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.location.endswith(f"/colcw/documents/{doc.id}/export")
    done = rep_client.get(resp.location).get_data(as_text=True)
    assert "Not exported: “Customer Acme Dental in ConnectWise” must be fixed first (see the checklist)." in done
    assert done.count(said) == 1
    assert db.session.execute(select(SyncRun)).first() is None
    # The one-click customer export comes back to the document's export page, ready to export.
    from host_stub.models import Customer

    db.session.get(Customer, world.customer_id).city = "Austin"  # ConnectWise needs some address
    db.session.commit()
    fix = re.search(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf_token" value="([^"]+)">'
                    r'\s*<input type="hidden" name="next" value="([^"]+)">', done)
    back = rep_client.post(fix.group(1), data={"csrf_token": fix.group(2), "next": fix.group(3)})
    assert back.status_code == 302 and back.location.endswith(f"/colcw/documents/{doc.id}/export")
    again = rep_client.get(back.location).get_data(as_text=True)
    assert "Updated in ConnectWise: Acme Dental (ACME01)" in again and 'id="colcw-export-customer-now"' not in again
    elsewhere = rep_client.post(fix.group(1), data={"csrf_token": fix.group(2), "next": "//evil.example/x"})
    assert elsewhere.location.endswith(f"/customers/{world.customer_id}")  # never an off-site redirect


def test_unlock_needs_csrf_and_unlocks(world, rep_client):
    doc = world.quote([line("OPT-7010")])
    world.export(doc.id)
    assert rep_client.post(f"/colcw/documents/{doc.id}/unlock").status_code == 400
    view = loaded(rep_client, f"/documents/{doc.id}")
    assert 'id="colcw-unlock"' in view and 'id="colcw-opportunity-link"' in view
    resp = rep_client.post(f"/colcw/documents/{doc.id}/unlock", data={"csrf_token": csrf_from(view)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Document, doc.id).locked


def test_another_documents_run_is_not_shown(world, rep_client):
    a = world.quote([line("OPT-7010")], name="A")
    b = world.quote([line("OPT-7010")], name="B")
    run = world.export(a.id)
    assert rep_client.get(f"/colcw/documents/{b.id}/export?run={run.id}").status_code == 404
    assert rep_client.get(f"/colcw/documents/{b.id}/export/status?run={run.id}").status_code == 404


def test_a_document_whose_customer_changed_after_export_is_stopped_on_the_checklist(world, rep_client, drain_queue):
    """Its opportunity belongs to the company of the customer it had: the checklist says what the export would
    refuse, with the fix, and keeps Export again disabled; a post anyway queues nothing."""
    from colcw_plugin import models as links

    doc = world.quote([line("OPT-7010")], name="Moved deal")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    other = world.sandbox.api("POST", "company/companies", json={"identifier": "OTHER1", "name": "Other Co",
                                                                 "addressLine1": "1 Side St"}).json()
    contact = world.sandbox.api("POST", "company/contacts", json={"firstName": "Kim", "company": {"id": other["id"]}}
                                ).json()
    links.set_link(db.session, "customer", world.customer_id, other["id"])  # the customer is now that company
    links.set_link(db.session, "contact", world.contact_id, contact["id"])
    db.session.commit()
    refusal = (f"{doc.number} is linked to opportunity {opp['id']} \"Moved deal\" of another ConnectWise company "
               "(Acme Dental); its customer changed after it was exported. Move the opportunity to the new company "
               "in ConnectWise, or create a new quote for this customer with the same lines (Quotes → New quote) and "
               "export that.")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    text = page.replace("&#34;", '"')
    assert re.search(r'<button type="submit" id="colcw-export-submit" disabled>', page)
    assert "Export now is unavailable until “Opportunity” is fixed: see its ✗ above." in text
    assert text.count(refusal) == 1  # on the Opportunity row, said once
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.location.endswith(f"/colcw/documents/{doc.id}/export")
    again = rep_client.get(resp.location).get_data(as_text=True).replace("&#34;", '"')
    assert "Not exported: “Opportunity” must be fixed first (see the checklist)." in again
    assert again.count(refusal) == 1
    assert drain_queue() == 0
    # What the export itself says, were it run: the same words.
    [item] = items(world.export(doc.id))
    assert item.action == "failed" and f"{item.message} {item.resolution}" == f"{doc.number} was not exported: {refusal}"


def test_a_converted_quotes_checklist_points_to_its_order_and_offers_no_export(world, rep_client, drain_queue):
    """Nothing is wrong with a converted quote and nothing is to be fixed: the page says its sales order carries its
    lines and links to it, with no ✗, no "unavailable until … is fixed" and no Export again."""
    from host_stub import services

    quote = world.quote([line("OPT-7010")], name="Converted deal")
    assert world.export(quote.id).status == "succeeded"
    order = services.convert_quote(quote.id)
    drain_queue()
    page = rep_client.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "colcw-export-submit" not in page and "Export again" not in page and "Export now" not in page
    assert "is fixed" not in text and "✗" not in text
    row = page.split('id="colcw-check-converted"', 1)[1].split("</tr>", 1)[0]
    assert "→" in row and f"{quote.number} was converted to {order.number}, which carries its lines." in row
    assert (f"There is nothing to export here: {quote.number} became sales order {order.number}, and its lines now go "
            "to ConnectWise with that order's export.") in text
    assert f'<a href="/documents/{order.id}" id="colcw-converted-order">{order.number}</a>' in page
    go = re.search(r'<a class="button" href="([^"]+)" id="colcw-export-order">Go to ([^<]+) export</a>', page)
    assert go and go.group(2) == f"{order.number}’s"
    # The link leads to the order's own export page, where Export again is offered.
    order_page = rep_client.get(go.group(1)).get_data(as_text=True)
    assert f"Export sales order {order.number} to ConnectWise" in order_page
    assert re.search(r'<button type="submit" id="colcw-export-submit">Export again</button>', order_page)
