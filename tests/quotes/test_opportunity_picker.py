"""The opportunity picker's services against the sandbox: a company's opportunities with status, stage,
expected close and amount in two requests; linking a document by id feeds the export; where an export
goes and what needs confirming (a closed, Won or Lost opportunity; a name that differs only by case)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from lock_support import held_elsewhere
from quote_support import items, line, make_opportunity
from sqlalchemy import update
from sqlalchemy.orm import Session

from colcw_plugin.models import DocumentExport, get_link
from colcw_plugin.setup.connection import build_client, get_settings
from colcw_plugin.sync.quotes import picker
from colcw_plugin.sync.quotes.locks import document_lock
from colcw_plugin.sync.quotes.opportunities import OpportunitySetup
from colcw_plugin.sync.quotes.state import get_state
from helpers import runtime, sign_in
from host_stub.extensions import db
from host_stub.models import utcnow
from host_stub.snapshots import document_snapshot


@pytest.fixture()
def client(world, box):
    with build_client(db.session, box) as c:
        yield c


def test_lists_the_customers_open_opportunities_with_stage_close_and_amount_in_two_requests(world, client):
    make_opportunity(world, "Backup project", close="2026-11-30", lines=(("OPT-7010", 2, 100.5), ("LAT-5440", 1, 50)))
    make_opportunity(world, "Network refresh", close="2026-10-01")
    make_opportunity(world, "Old deal", status="wonFlag")
    setup = OpportunitySetup(client)
    setup.statuses()  # the shared reference list (cached across runs in production)
    before = client.stats.total
    found = picker.company_opportunities(client, setup, world.company_id)
    assert client.stats.total - before == 2
    assert [(c.name, c.state, c.expected_close, c.amount) for c in found] == [
        ("Network refresh", "Open", dt.date(2026, 10, 1), Decimal(0)),
        ("Backup project", "Open", dt.date(2026, 11, 30), Decimal("251.0"))]
    assert all(c.status for c in found)
    closed_too = picker.company_opportunities(client, setup, world.company_id, include_closed=True)
    assert [c.name for c in closed_too][-1] == "Old deal" and closed_too[-1].won
    assert [c.name for c in picker.company_opportunities(client, setup, world.company_id, search="refr")] == [
        "Network refresh"]
    # A search is text, never a condition: quotes and wildcards are matched as typed.
    assert picker.company_opportunities(client, setup, world.company_id, search='" OR name like "%') == []


def test_linking_by_id_fills_the_name_field_and_the_export_goes_there(app, world, client):
    opp = make_opportunity(world, "Backup project 2026")
    doc = world.quote([line("OPT-7010")], name="something else entirely")
    settings = get_settings(db.session)
    message = picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client), settings,
                                   doc, opp["id"])
    assert message.startswith(f"{doc.number} is linked to opportunity {opp['id']} “Backup project 2026”")
    db.session.expire_all()
    assert document_snapshot(doc)["field_values"][world.field_id] == "Backup project 2026"
    assert get_link(db.session, "document", doc.id).cw_id == opp["id"]
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert [o["name"] for o in world.opportunities()] == ["Backup project 2026"]  # no new opportunity
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]
    assert items(run)[0].action == "updated"


def test_an_exported_document_cannot_be_pointed_elsewhere(world, client):
    doc = world.quote([line("OPT-7010")], name="First home")
    world.export(doc.id)
    other = make_opportunity(world, "Elsewhere")
    with pytest.raises(picker.PickRefused) as refused:
        picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client),
                             get_settings(db.session), doc, other["id"])
    [first] = [o for o in world.opportunities() if o["name"] == "First home"]
    # What it says a person can do in the host, which has New quote but no Copy.
    assert str(refused.value) == (
        f"{doc.number} is already exported to opportunity {first['id']} “First home” and stays linked to it. To export "
        "its lines to another opportunity, create a new quote with the same lines (Quotes → New quote) and export "
        "that.")
    db.session.rollback()
    assert get_link(db.session, "document", doc.id).cw_id == first["id"]


def _link(client, doc, opportunity_id: int) -> str:
    return picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client),
                                get_settings(db.session), doc, opportunity_id)


def test_choosing_or_forgetting_the_opportunity_while_the_document_is_being_exported_is_refused(world, client):
    chosen, other = make_opportunity(world, "Chosen deal"), make_opportunity(world, "Other deal")
    doc = world.quote([line("OPT-7010")], name="Chosen deal")
    _link(client, doc, chosen["id"])
    busy = f"{doc.number} is being exported to ConnectWise right now."
    # An export of it runs (its lock held on another connection, as by another process).
    engine = db.engine
    release, holder = held_elsewhere(lambda: document_lock(engine, doc.id))
    try:
        with pytest.raises(picker.PickRefused, match=busy):
            _link(client, doc, other["id"])
        db.session.rollback()
        with pytest.raises(picker.PickRefused, match=busy):
            picker.unlink_document(db.session, doc)
        db.session.rollback()
    finally:
        release.set()
        holder.join(10)
    assert get_link(db.session, "document", doc.id).cw_id == chosen["id"]
    # Once it has ended, the choice can be changed again.
    _link(client, doc, other["id"])
    assert get_link(db.session, "document", doc.id).cw_id == other["id"]


def test_choosing_the_opportunity_under_the_export_lock_holds_one_database_connection(world, client, monkeypatch):
    opp = make_opportunity(world, "Backup project 2026")
    doc = world.quote([line("OPT-7010")], name="Backup project 2026")
    db.session.rollback()
    real, seen = picker.get_opportunity, []

    def reading(*args, **kwargs):  # the opportunity is read from ConnectWise while the lock is held
        seen.append(db.engine.pool.checkedout())
        return real(*args, **kwargs)

    monkeypatch.setattr(picker, "get_opportunity", reading)
    _link(client, doc, opp["id"])
    assert seen == [1]  # the request's own (the lock is in its transaction): twenty clicks cannot take forty


def test_a_choice_made_after_the_export_ended_sees_its_state_though_the_request_read_it_before(world, client):
    doc = world.quote([line("OPT-7010")], name="First home")
    world.export(doc.id)

    def exported_at(value) -> None:  # written by another process (the export's worker)
        with Session(bind=db.engine) as theirs:
            theirs.execute(update(DocumentExport).where(DocumentExport.document_id == doc.id).values(exported_at=value))
            theirs.commit()

    exported_at(None)  # as it was while the export ran
    db.session.rollback()
    held = get_state(db.session, doc.id)  # this request reads it then, and holds it
    assert held.exported_at is None
    exported_at(utcnow())  # the export ends
    other = make_opportunity(world, "Elsewhere")
    with pytest.raises(picker.PickRefused, match="is already exported"):
        _link(client, doc, other["id"])
    db.session.rollback()
    assert get_link(db.session, "document", doc.id).cw_id != other["id"]


def test_another_companys_opportunity_is_refused(world, client):
    company = world.sandbox.api("POST", "company/companies", json={"identifier": "OTHER1", "name": "Other Co",
                                                                   "addressLine1": "1 Side St"}).json()
    contact = world.sandbox.api("POST", "company/contacts", json={"firstName": "O", "lastName": "T",
                                                                  "company": {"id": company["id"]}}).json()
    foreign = world.sandbox.api("POST", "sales/opportunities", json={
        "name": "Theirs", "company": {"id": company["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"id": world.member_id}}).json()
    doc = world.quote([line("OPT-7010")])
    with pytest.raises(picker.PickRefused, match="belongs to another ConnectWise company; choose one of Acme Dental’s"):
        picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client),
                             get_settings(db.session), doc, foreign["id"])


@pytest.mark.parametrize("flag,state", [("wonFlag", "Won"), ("lostFlag", "Lost")])
def test_exporting_into_a_closed_opportunity_needs_confirming_and_says_what_it_does(world, client, flag, state):
    opp = make_opportunity(world, "Closed deal", status=flag)
    doc = world.quote([line("OPT-7010")], name="Closed deal")
    target = picker.export_target(db.session, client, OpportunitySetup(client), get_settings(db.session), doc,
                                  document_snapshot(doc))
    assert target.opportunity.id == opp["id"] and target.how == "name"
    assert target.confirm == (f"Opportunity {opp['id']} “Closed deal” is {state} in ConnectWise (status "
                              f"“{target.opportunity.status}”). Exporting quote {doc.number} adds its lines to it; "
                              f"its status stays {state}. Reopen it in ConnectWise first if the deal is live again, "
                              "or choose an open opportunity.")


def test_a_name_that_differs_only_by_case_is_flagged_before_anything_is_created(world, client):
    opp = make_opportunity(world, "Network Refresh")
    doc = world.quote([line("OPT-7010")], name="network refresh")
    target = picker.export_target(db.session, client, OpportunitySetup(client), get_settings(db.session), doc,
                                  document_snapshot(doc))
    assert target.how == "new" and [c.id for c in target.case_slips] == [opp["id"]]
    assert target.confirm == (f"Acme Dental already has opportunity {opp['id']} “Network Refresh” in ConnectWise, "
                              "named like “network refresh” but for upper and lower case. Exporting creates a second "
                              "opportunity “network refresh”. Link the document to the existing one instead, or "
                              "correct the name — or confirm that you want a new one.")
    assert [o["name"] for o in world.opportunities()] == ["Network Refresh"]  # nothing created by checking


def test_an_open_exact_match_and_a_new_name_need_no_confirmation(world, client):
    make_opportunity(world, "Open deal")
    same = world.quote([line("OPT-7010")], name="Open deal")
    new = world.quote([line("OPT-7010")], name="Brand new deal")
    setup = OpportunitySetup(client)
    settings = get_settings(db.session)
    assert picker.export_target(db.session, client, setup, settings, same, document_snapshot(same)).confirm is None
    target = picker.export_target(db.session, client, setup, settings, new, document_snapshot(new))
    assert (target.how, target.confirm, target.detail) == ("new", None, "Creates a new opportunity “Brand new deal” "
                                                                       "for Acme Dental.")


def test_a_converted_quote_keeps_the_opportunity_its_sales_order_exports_to(world, client, drain_queue):
    """A quote linked by id, then converted before any export: its order takes over that opportunity. Unlinking the
    quote would send the order to a new opportunity by name: refused, and not offered on its panel."""
    from host_stub import services
    from host_stub.models import Document

    opp = make_opportunity(world, "Chosen for the deal")
    quote = world.quote([line("OPT-7010")], name="Chosen for the deal")
    picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client),
                         get_settings(db.session), quote, opp["id"])
    order = services.convert_quote(quote.id)
    drain_queue()
    db.session.expire_all()
    with pytest.raises(picker.PickRefused) as refused:
        picker.unlink_document(db.session, db.session.get(Document, quote.id))
    assert "converted to a sales order" in str(refused.value) and "stays linked" in str(refused.value)
    db.session.rollback()
    assert get_link(db.session, "document", quote.id).cw_id == opp["id"]
    run = world.export(order.id)
    assert run.status == "succeeded", run.message
    assert [o["name"] for o in world.opportunities()] == ["Chosen for the deal"]  # the order went there


def test_the_picker_names_a_closed_opportunitys_state_once(app, world):
    """A status named as its flag ("Won") read "Won Won"; one named otherwise keeps its flag beside it."""
    won = make_opportunity(world, "Won deal", status="wonFlag")
    lost = make_opportunity(world, "Lost deal", status="lostFlag")
    doc = world.quote([line("OPT-7010")], name="Something new")
    rep = sign_in(app.test_client(), "riley@demo.example")  # (this module's ``client`` is ConnectWise's)
    page = rep.get(f"/colcw/documents/{doc.id}/opportunities?closed=1").get_data(as_text=True)

    def status_cell(opp: dict) -> str:
        row = re.search(rf'<tr data-opportunity="{opp["id"]}".*?</tr>', page, re.S).group(0)
        return " ".join(re.sub(r"<[^>]+>", " ", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1]).split())

    for opp, state in ((won, "Won"), (lost, "Lost")):
        name = opp["status"]["name"]
        assert status_cell(opp) == (name if name.lower() == state.lower() else f"{name} {state}")
    assert "Won Won" not in page
