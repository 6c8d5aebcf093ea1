"""Opportunity resolution, new opportunities, preconditions and locking (against the sandbox)."""

from __future__ import annotations

from htmx_loads import loaded
from quote_support import items, line, lines_of
from sqlalchemy import select

from colcw_plugin import models as links
from colcw_plugin.models import DocumentExport, RepMapping
from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db
from host_stub.models import Document


def test_new_name_creates_an_open_opportunity_with_the_lines(world):
    doc = world.quote([line("OPT-7010", qty=2, price=919, cost=720), line("LAT-5440", qty=1, price=1489, cost=1190)],
                      name="Network refresh", follow_up="2026-12-15")
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["name"] == "Network refresh"
    assert opp["contact"]["id"] == world.cw_contact_id
    assert opp["primarySalesRep"]["id"] == world.member_id
    assert opp["expectedCloseDate"].startswith("2026-12-15")
    status = world.status_of(opp["id"])
    assert not status["closedFlag"] and status["defaultFlag"]
    products = world.products(opp["id"])
    assert [(p["catalogItem"]["identifier"], p["quantity"], p["price"], p["cost"]) for p in products] == [
        ("OPT-7010", 2.0, 919.0, 720.0), ("LAT-5440", 1.0, 1489.0, 1190.0)]
    assert products[0]["description"] == "OPT-7010 description"
    [item] = items(run)
    assert item.action == "created" and item.cw_id == opp["id"]
    assert links.get_link(db.session, "document", doc.id).cw_id == opp["id"]


def test_exact_name_match_adds_lines_to_the_existing_opportunity(world):
    first = world.quote([line("OPT-7010")], name="Shared deal")
    world.export(first.id)
    second = world.quote([line("LAT-5440")], name="Shared deal")
    run = world.export(second.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]
    assert items(run)[0].action == "updated"


def test_name_match_is_case_sensitive(world):
    """A name like another but for case makes a second opportunity only once a person confirmed it (its checklist
    asks; Export now passes the confirmation to its run): a run nobody confirmed refuses it and sends nothing."""
    first = world.quote([line("OPT-7010")], name="Network Refresh")
    world.export(first.id)
    second = world.quote([line("LAT-5440")], name="network refresh")
    refused = world.export(second.id)
    [item] = items(refused)
    assert item.action == "failed"
    assert "its checklist asks to confirm this first." in item.message and "upper and lower case" in item.message
    assert [o["name"] for o in world.opportunities()] == ["Network Refresh"]
    assert [p["catalogItem"]["identifier"] for p in world.products(world.opportunities()[0]["id"])] == ["OPT-7010"]

    world.export({"document_id": second.id, "confirmed": "new:new"})
    names = sorted(o["name"] for o in world.opportunities())
    assert names == ["Network Refresh", "network refresh"]


def test_blank_name_is_refused_unless_allowed(world):
    doc = world.quote([line("OPT-7010")], name="")
    run = world.export(doc.id)
    assert run.status == "failed"
    [item] = items(run)
    assert "has no opportunity name" in item.message
    assert "Opportunity Name" in item.resolution and "allow empty" in item.resolution
    assert world.opportunities() == []


def test_blank_opportunity_name_uses_document_number(world):
    get_settings(db.session).allow_empty_opportunity_name = True
    db.session.commit()
    doc = world.quote([line("OPT-7010")], name="")
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert [o["name"] for o in world.opportunities()] == [doc.number]


def test_linked_document_keeps_its_opportunity_when_the_name_changes(world, client):
    doc = world.quote([line("OPT-7010")], name="Original name")
    world.export(doc.id)
    [opp] = world.opportunities()
    doc = world.edit(doc, [line("OPT-7010")])
    from host_stub import services

    services.set_locked(doc.id, False)
    services.save_document({}, None, document_id=doc.id, custom_fields={world.field_id: "Renamed"})
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert [o["id"] for o in world.opportunities()] == [opp["id"]]
    assert "stays linked to opportunity" in items(run)[0].message


def test_unlinked_customer_is_refused_with_appendix_c_message(world):
    links.remove_link(db.session, "contact", world.contact_id)
    db.session.commit()
    doc = world.quote([line("OPT-7010")])
    run = world.export(doc.id)
    assert run.status == "failed"
    [item] = items(run)
    assert ("Both the customer and the contact need to exist in ConnectWise to export the document: the contact "
            "Maria Smith is not linked to ConnectWise yet.") in item.message
    assert "it links the company by its Company ID, or creates it" in item.resolution
    assert "Manually sync the specific customer" in item.resolution
    assert world.opportunities() == []
    assert not db.session.get(Document, doc.id).locked


def test_unmapped_rep_is_refused(world):
    db.session.execute(RepMapping.__table__.delete())
    db.session.commit()
    doc = world.quote([line("OPT-7010")])
    run = world.export(doc.id)
    [item] = items(run)
    assert item.action == "failed"
    assert "not mapped to a ConnectWise member" in item.message
    assert "Make sure that the Sales Rep is mapped" in item.resolution
    assert world.opportunities() == []


def test_logged_in_rep_option_uses_the_requesters_member(world, riley, connected):
    member = connected.api("POST", "system/members", json={
        "identifier": "riley", "firstName": "Riley", "lastName": "Rep", "licenseClass": "F",
        "hireDate": "2020-01-06T00:00:00Z", "defaultEmail": "Office", "defaultPhone": "Office",
        "securityRole": {"id": 1}}).json()
    db.session.add(RepMapping(user_id=riley["id"], member_id=member["id"], member_identifier="riley"))
    get_settings(db.session).use_logged_in_rep = True
    db.session.commit()
    doc = world.quote([line("OPT-7010")])
    world.export(doc.id, actor=riley)
    [opp] = world.opportunities()
    assert opp["primarySalesRep"]["id"] == member["id"]


def test_export_locks_the_document_and_records_its_state(world):
    doc = world.quote([line("OPT-7010"), line("LAT-5440")])
    world.export(doc.id)
    db.session.expire_all()
    assert db.session.get(Document, doc.id).locked
    state = db.session.execute(select(DocumentExport).where(DocumentExport.document_id == doc.id)).scalar_one()
    assert state.status == "exported" and state.created_opportunity and not state.changed_since_export
    assert state.opportunity_id == world.opportunities()[0]["id"]


def test_saving_a_changed_exported_document_marks_it_changed_since_export(world):
    doc = world.quote([line("OPT-7010")])
    world.export(doc.id)


    db.session.expire_all()
    doc = db.session.get(Document, doc.id)
    same = lines_of(doc)
    world.edit(doc, same)  # saved without changes
    state = db.session.execute(select(DocumentExport).where(DocumentExport.document_id == doc.id)).scalar_one()
    assert not state.changed_since_export
    changed = [{**same[0], "quantity": 5}]
    world.edit(doc, changed)
    db.session.refresh(state)
    assert state.changed_since_export
    world.export(doc.id)
    db.session.refresh(state)
    assert not state.changed_since_export


def test_document_linked_to_another_companys_opportunity_is_refused(world, connected):
    doc = world.quote([line("OPT-7010")])
    world.export(doc.id)
    other = connected.api("POST", "company/companies", json={"identifier": "OTHER1", "name": "Other Co",
                                                              "city": "Austin"}).json()
    contact = connected.api("POST", "company/contacts", json={"firstName": "Kim", "company": {"id": other["id"]}}).json()
    links.set_link(db.session, "customer", world.customer_id, other["id"])
    links.set_link(db.session, "contact", world.contact_id, contact["id"])
    db.session.commit()
    run = world.export(doc.id)
    [item] = items(run)
    assert item.action == "failed" and "of another ConnectWise company" in item.message
    assert len(world.products(world.opportunities()[0]["id"])) == 1


def test_names_with_quotes_and_backslashes_are_matched_exactly_never_pasted_into_conditions(world):
    name = 'Bob\'s "Big" deal \\ phase (2) or name="x"'
    first = world.quote([line("OPT-7010")], name=name)
    second = world.quote([line("LAT-5440")], name=name)
    assert world.export(first.id).status == "succeeded"
    run = world.export(second.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["name"] == name
    assert len(world.products(opp["id"])) == 2


def test_document_page_says_when_it_changed_since_export_and_when_its_name_changed(world, rep_client):
    from host_stub import services

    doc = world.quote([line("OPT-7010")], name="Before")
    world.export(doc.id)
    page = loaded(rep_client, f"/documents/{doc.id}")
    assert 'id="colcw-changed"' not in page and 'id="colcw-name-changed"' not in page
    services.set_locked(doc.id, False)
    services.save_document({}, None, document_id=doc.id, custom_fields={world.field_id: "After"})
    page = loaded(rep_client, f"/documents/{doc.id}")
    assert 'id="colcw-changed"' in page and "Changed since export" in page
    assert "The opportunity name on the document is now “After”" in page
    assert "Export it again to update ConnectWise." in page
    assert page.count(">Export to ConnectWise<") == 1  # one control: the action link to the checklist


def test_blank_name_is_reported_with_the_lines_at_fault_before_any_catalog_item_is_created(world):
    doc = world.quote([line("BRAND-NEW-1", manufacturer="Lenovo"), line("AW-DOCK-1", manufacturer="Acme Widgets")],
                      name="")
    run = world.export(doc.id)
    [item] = items(run)
    assert "has no opportunity name" in item.message and "1 line cannot be exported" in item.message
    assert "Opportunity Name" in item.resolution and "Fix what each line below names" in item.resolution
    assert [i.label.split(" ", 1)[1] for i in items(run, "line")] == ["Line 2 (AW-DOCK-1)"]
    blank_only = world.quote([line("BRAND-NEW-1", manufacturer="Lenovo")], name="")
    assert "has no opportunity name" in items(world.export(blank_only.id))[0].message
    assert world.api("procurement/catalog", conditions='identifier="BRAND-NEW-1"') == []  # nothing written
    assert world.opportunities() == []


def test_preflight_names_the_opportunity_name_field_when_it_is_blank(world):
    from colcw_plugin.sync.quotes.preflight import preflight
    from host_stub.snapshots import document_snapshot

    doc = world.quote([line("OPT-7010")], name="")
    [check] = [c for c in preflight(db.session, doc, None, document_snapshot(doc)) if c.label == "Opportunity"]
    assert not check.ok and 'Enter it in the “Opportunity Name” field' in check.detail
