"""Export now clicked on a page whose checklist ConnectWise just answered all clear queues the export without asking
ConnectWise the same questions again (one round trip less for the rep against a real tenant): the export itself asks
again under its locks. What ConnectWise changed in between is refused by the export, as the checklist would refuse it
now; a document changed in colcw since its page, or a target to confirm left unticked, is asked about again and the
click says what to fix or confirm (or that ConnectWise cannot be reached right now), queuing nothing; settings or
a mapping saved since the page are asked about again. What
ConnectWise holds is checked after the export has run."""

from __future__ import annotations

import re

import pytest
from quote_support import items, line, make_opportunity

from colcw_plugin.models import CategoryMapping, SyncRun
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from, sign_in
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

PRODUCTS = "/admin/integration/connectwise/products"


def _page(client, doc_id: int) -> str:
    resp = client.get(f"/colcw/documents/{doc_id}/export")  # (no browser: the page asks ConnectWise at once)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _export_now(client, doc_id: int, page: str, **form) -> str:
    """Click Export now on ``page``; the page it leads to."""
    resp = client.post(f"/colcw/documents/{doc_id}/export", data={"csrf_token": csrf_from(page), **form})
    assert resp.status_code == 302
    return resp.location


def _run(location: str) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, int(re.search(r"run=(\d+)", location).group(1)))


def test_export_now_after_a_clear_checklist_sends_connectwise_nothing_before_the_export(
        world, connected, rep_client, drain_queue):
    doc = world.quote([line("OPT-7010"), line("LAT-5440")], name="Asked once")
    page = _page(rep_client, doc.id)
    assert "Each of its 2 lines can be exported." in page
    connected.clear_requests()

    location = _export_now(rep_client, doc.id, page)
    assert connected.requests() == []  # the click itself asked ConnectWise nothing
    assert _run(location).status == "queued"
    assert drain_queue() == 1
    [opp] = world.opportunities()
    assert opp["name"] == "Asked once"
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]


def test_an_opportunity_lost_in_connectwise_after_the_clear_page_is_not_exported_into(
        world, connected, rep_client, drain_queue):
    doc = world.quote([line("OPT-7010")], name="Changed meanwhile")
    page = _page(rep_client, doc.id)
    assert "Yes, export into this" not in page  # all clear: a new opportunity
    lost = make_opportunity(world, "Changed meanwhile", status="lostFlag")  # a colleague, between page and click

    location = _export_now(rep_client, doc.id, page)
    assert drain_queue() == 1
    [item] = items(_run(location))
    assert item.action == "failed"
    assert "its checklist asks to confirm this first" in item.message and "Lost" in item.message
    # (The rep clicked Export now on this page: told where to confirm it, not that a Retry never confirms it.)
    assert item.resolution.startswith(f"On {doc.number}'s export page (Export to ConnectWise) its checklist asks this "
                                      "now: tick the box below the checklist and click Export now"), item.resolution
    assert [o["id"] for o in world.opportunities()] == [lost["id"]]
    assert world.products(lost["id"]) == []  # nothing written into the opportunity nobody confirmed
    # The page asks now, and the export goes ahead once it is confirmed.
    again = _page(rep_client, doc.id)
    assert f'value="name:{lost["id"]}" id="colcw-confirm-box"' in again
    _export_now(rep_client, doc.id, again, confirm=f"name:{lost['id']}")
    assert drain_queue() == 1
    assert [p["catalogItem"]["identifier"] for p in world.products(lost["id"])] == ["OPT-7010"]


def test_a_document_changed_since_its_page_is_asked_about_again(world, connected, rep_client):
    lost = make_opportunity(world, "Renamed deal", status="lostFlag")
    doc = world.quote([line("OPT-7010")], name="First name")
    page = _page(rep_client, doc.id)
    assert "Yes, export into this" not in page
    services.save_document({"customer_id": world.customer_id, "contact_id": world.contact_id}, [line("OPT-7010")],
                           document_id=doc.id, custom_fields={world.field_id: "Renamed deal"})  # names the Lost one
    connected.clear_requests()

    location = _export_now(rep_client, doc.id, page)
    assert connected.requests() != []  # asked again: the answer was for the document as it was
    assert "run=" not in location
    said = rep_client.get(location).get_data(as_text=True)
    assert "Not exported yet: confirm it first." in said
    assert db.session.execute(db.select(SyncRun)).first() is None
    assert world.products(lost["id"]) == []


def test_a_target_to_confirm_goes_ahead_at_once_when_ticked_and_is_asked_again_when_not(
        world, connected, rep_client, drain_queue):
    won = make_opportunity(world, "Won deal", status="wonFlag")
    doc = world.quote([line("OPT-7010")], name="Won deal")
    page = _page(rep_client, doc.id)
    token = f"name:{won['id']}"
    assert f'value="{token}" id="colcw-confirm-box"' in page

    connected.clear_requests()
    unticked = _export_now(rep_client, doc.id, page)
    assert connected.requests() != []  # asked again, and the click says what to confirm
    assert "Not exported yet: confirm it first." in rep_client.get(unticked).get_data(as_text=True)
    assert db.session.execute(db.select(SyncRun)).first() is None

    page = _page(rep_client, doc.id)
    connected.clear_requests()
    location = _export_now(rep_client, doc.id, page, confirm=token)
    assert connected.requests() == []
    assert _run(location).params["confirmed"] == token
    assert drain_queue() == 1
    assert [p["catalogItem"]["identifier"] for p in world.products(won["id"])] == ["OPT-7010"]


def test_a_click_asked_again_while_connectwise_is_away_queues_nothing_and_says_why(world, connected, rep_client):
    doc = world.quote([line("OPT-7010")], name="Before the outage")
    page = _page(rep_client, doc.id)
    assert "Its line can be exported." in page
    services.save_document({"customer_id": world.customer_id, "contact_id": world.contact_id},
                           [line("OPT-7010", qty=2)], document_id=doc.id,
                           custom_fields={world.field_id: "Before the outage"})  # changed: its answer no longer stands
    connected.add_fault(status=503)  # ConnectWise fails every request from now on

    location = _export_now(rep_client, doc.id, page)
    said = rep_client.get(location).get_data(as_text=True)
    connected.clear_faults()
    assert "Not exported: ConnectWise cannot be reached right now, so nothing was checked or sent to it." in said
    assert "must be fixed first" not in said
    assert db.session.execute(db.select(SyncRun)).first() is None
    assert world.opportunities() == []


def test_settings_saved_since_the_page_are_asked_about_again(world, connected, rep_client, drain_queue):
    doc = world.quote([line("OPT-7010")], name="Staged deal")
    page = _page(rep_client, doc.id)
    assert "Its line can be exported." in page
    # An admin picks the stage of new opportunities between the rep's page and the click (as the New opportunities
    # section saves it): the page's answer was given for the settings as they were.
    proposal = next(s for s in connected.api("GET", "sales/stages", params={"pageSize": 1000}).json()
                    if s["name"] == "3.Proposal")
    settings = get_settings(db.session)
    settings.opportunity_stage_id, settings.opportunity_stage_name = proposal["id"], proposal["name"]
    db.session.commit()
    connected.clear_requests()

    location = _export_now(rep_client, doc.id, page)
    assert connected.requests() != []  # asked again on the settings as they are now
    assert _run(location).status == "queued"
    assert drain_queue() == 1
    [opp] = world.opportunities()
    assert (opp["name"], opp["stage"]["name"]) == ("Staged deal", "3.Proposal")


def test_a_mapping_saved_since_the_page_is_asked_about_again(app, world, connected, rep_client):
    # A line whose item ConnectWise lacks is created with its category as the mapping says: the page's answer ("can be
    # exported") was given for the mapping as it was. An admin then unmaps its category, on the mapping page.
    # (Its requests in an app context of their own: the test's holds the rep's CSRF token in its ``g``.)
    with app.app_context():
        admin = sign_in(app.test_client(), "admin@demo.example")
    storage = next(s["id"] for s in world.api("procurement/subcategories/") if s["name"] == "Storage")

    def save_categories(target: str):
        with app.app_context():
            token = csrf_from(admin.get(PRODUCTS).get_data(as_text=True))
            resp = admin.post(PRODUCTS, data={"csrf_token": token, "section": "categories", "category_mode": "mapping",
                                              "hostcat-0": "Hardware", "hostsub-0": "PDUs", "target-0": target})
        assert resp.status_code == 302 and resp.location.endswith("#categories")

    save_categories(str(storage))
    doc = world.quote([line("PDU-8", category="Hardware", subcategory="PDUs")], name="Rack power")
    page = _page(rep_client, doc.id)
    assert "Its line can be exported." in page
    save_categories("")
    db.session.expire_all()
    assert db.session.execute(db.select(CategoryMapping)).first() is None
    connected.clear_requests()

    location = _export_now(rep_client, doc.id, page)
    assert connected.requests() != []  # asked again, on the mapping as it is now
    assert "run=" not in location
    said = rep_client.get(location).get_data(as_text=True)
    assert "Hardware / PDUs" in said and "must be fixed first" in said
    assert db.session.execute(db.select(SyncRun)).first() is None
    assert world.opportunities() == []
