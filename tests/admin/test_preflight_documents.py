"""The pre-flight check says what it found, not more: the documents an export would refuse for want of an
opportunity name are listed by number (not ticked as fine), and the areas it could not check because ConnectWise
could not be read show as not checked, never ✓ with a claim that everything matches."""

from __future__ import annotations

import html
import re

import pytest
from admin_support import BASE, add_document_lines, name_documents
from sqlalchemy import select

from colcw_plugin.models import DOCUMENT, set_link
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.lookups import load_lookups
from colcw_plugin.setup.preflight import run_preflight
from helpers import connection_unreachable
from host_stub.extensions import db
from host_stub.models import CustomField, Document, DocumentFieldValue

pytestmark = [pytest.mark.postgres]

LINE = [("Belkin", "Peripherals", "Monitors", "Product")]


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _card(page: str, area: str) -> str:
    found = re.search(rf'<section class="card" data-area="{re.escape(area)}".*?</section>', page, re.S)
    assert found, page
    return found.group(0)


def _name_field() -> int:
    settings = get_settings(db.session)
    settings.opportunity_field_id = db.session.execute(select(CustomField.id).order_by(CustomField.id)).scalar()
    settings.allow_empty_opportunity_name = False
    name_documents(settings.opportunity_field_id)
    return settings.opportunity_field_id


def test_documents_without_an_opportunity_name_are_listed_not_ticked(admin_client, connected_demo, demo_client):
    field_id = _name_field()
    add_document_lines(LINE, number="QNONAME")  # no value at all
    blank = add_document_lines(LINE, number="QBLANK")
    db.session.add(DocumentFieldValue(document_id=blank.id, field_id=field_id, value="   "))
    linked = add_document_lines(LINE, number="QLINKED")  # exported before: its opportunity is linked
    set_link(db.session, DOCUMENT, linked.id, 4242, cw_identifier="Linked deal")
    converted = add_document_lines(LINE, number="QCONV")  # converted: its order carries its lines
    converted.status = "converted"
    set_link(db.session, DOCUMENT, converted.id, 4343, cw_identifier="Converted deal")
    db.session.add(Document(doc_type="order", number="SOCONV", customer_id=converted.customer_id,
                            source_quote_id=converted.id))  # takes over its quote's opportunity
    db.session.commit()

    check = {c.area: c for c in run_preflight(db.session, load_lookups(demo_client)).checks}["Opportunity name field"]
    assert not check.ok
    assert check.items == ["QNONAME", "QBLANK"]
    assert "2 documents have none: their export would be refused" in check.summary

    card = _card(admin_client.get(BASE + "/preflight").get_data(as_text=True), "Opportunity name field")
    assert 'data-ok="no"' in card and "✗" in card
    text = _text(card)
    assert "QNONAME" in text and "QBLANK" in text and "QLINKED" not in text and "SOCONV" not in text
    assert "or allow empty opportunity names under Admin → Integration → ConnectWise → Options" in text

    get_settings(db.session).allow_empty_opportunity_name = True
    db.session.commit()
    check = {c.area: c for c in run_preflight(db.session, load_lookups(demo_client)).checks}["Opportunity name field"]
    assert check.ok and "blank names use the document number" in check.summary


def test_a_long_list_of_unnamed_documents_is_cut_and_counted(app, connected_demo, demo_client):
    _name_field()
    for n in range(23):
        add_document_lines(LINE, number=f"QN{n:02d}")
    check = {c.area: c for c in run_preflight(db.session, load_lookups(demo_client)).checks}["Opportunity name field"]
    assert len(check.items) == 21 and check.items[0] == "QN00" and check.items[-1] == "and 3 more"
    assert "23 documents have none" in check.summary


def test_areas_it_could_not_check_are_not_ticked_nor_said_to_match(app, admin_client, connected_demo):
    _name_field()
    connection_unreachable()
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    for area in ("Categories", "Manufacturers", "Canadian provinces"):
        card = _card(page, area)
        assert 'data-checked="no"' in card and "✓" not in card, card
        assert "Not checked: ConnectWise could not be reached." in _text(card)
    assert "every ChannelOnline category has a ConnectWise match" not in _text(page)
    assert "✗ Connection" in _text(page)
    # The command line says the same: neither ok nor a failure.
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 1
    assert "--   Categories: Using ChannelOnline's names. Not checked: ConnectWise could not be reached." in result.output
    assert "ok   Manufacturers" not in result.output and "--   Manufacturers" in result.output


def test_a_tenant_without_a_won_status_is_named_before_a_sales_order_is_refused(app, admin_client, connected_demo):
    """A sales order's opportunity is Won: with no status marked Won in ConnectWise every order's export is refused
    ("ConnectWise has no opportunity status marked Won"); the pre-flight check says so first."""
    statuses = connected_demo.api("GET", "sales/opportunities/statuses", params={"pageSize": 100}).json()
    won = [s for s in statuses if s.get("wonFlag")]
    assert won
    card = _card(admin_client.get(BASE + "/preflight").get_data(as_text=True), "Won status")
    assert 'data-ok="yes"' in card and f"set to “{won[0]['name']}”" in _text(card)

    for s in won:
        resp = connected_demo.api("PATCH", f"sales/opportunities/statuses/{s['id']}",
                                  json=[{"op": "replace", "path": "wonFlag", "value": False}])
        assert resp.status_code == 200, resp.text
    card = _card(admin_client.get(BASE + "/preflight").get_data(as_text=True), "Won status")
    assert 'data-ok="no"' in card and "✗" in card
    text = _text(card)
    assert "ConnectWise has no opportunity status marked Won: every sales order's export" in text
    assert "Tick the Won flag on your won status in ConnectWise: System → Setup Tables → Opportunity Status." in text
