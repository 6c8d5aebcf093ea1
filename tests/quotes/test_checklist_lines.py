"""The rep's export checklist runs the export's own line checks (F6): a line whose product is not in the
ConnectWise catalog and cannot be created there (its manufacturer or its category not mapped) shows ✗ with the
line and the fix — for a rep, the admin's page with "ask an admin" — and Export now stays disabled, before any
export is tried. The check costs a handful of ConnectWise requests, however many lines the document has."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.views.support import ADMIN_ONLY
from helpers import csrf_from, sign_in
from host_stub.extensions import db

ADMIN_HINT = ADMIN_ONLY  # what a rep is told of an admin's page


def _unmapped(item: str, maker: str) -> dict:
    return line(item, manufacturer=maker, category="Cables & Adapters", subcategory="Fiber")


def _by_mapping() -> None:
    get_settings(db.session).category_mode = "mapping"  # as the demo: categories through the mapping table
    db.session.commit()


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _row(page: str, row_id: str) -> str:
    return page.split(f'id="{row_id}"', 1)[1].split("</tr>", 1)[0]


def test_lines_the_export_would_refuse_are_named_on_the_checklist_and_export_now_stays_disabled(world, rep_client):
    _by_mapping()
    doc = world.quote([line("OPT-7010"), _unmapped("AW-DOCK-1", "Acme Widgets"),
                       _unmapped("NP-FIB-2", "NorthPeak Cables")], name="Fiber refresh")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert re.search(r'<button type="submit" id="colcw-export-submit" disabled>', page)
    row = _row(page, "colcw-check-lines")
    text = _text(row)
    assert "✗" in text and "2 lines cannot be exported yet:" in text
    assert "Line 2 (AW-DOCK-1)" in text and "Line 3 (NP-FIB-2)" in text and "OPT-7010" not in text
    assert 'manufacturer "Acme Widgets" does not exist in ConnectWise' in text
    assert "category Cables & Adapters / Fiber is not mapped" in text
    assert ADMIN_HINT in text  # the fix is on an admin's page: a rep is told to ask an admin
    assert "Export now is unavailable until “Lines” is fixed" in _text(page)

    # A post anyway (a stale page) queues nothing.
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.location.endswith(f"/colcw/documents/{doc.id}/export")
    assert "Not exported: “Lines” must be fixed first" in _text(rep_client.get(resp.location).get_data(as_text=True))
    assert db.session.execute(select(SyncRun)).first() is None
    assert world.opportunities() == []

    # The checklist's lines are the export's: the same lines, the same words.
    run = world.export(doc.id)
    assert run.status == "failed"
    said = {i.message for i in items(run, "line")}
    assert len(said) == 2 and all(html_lib.escape(m, quote=False) in row or m in text for m in said)
    assert world.opportunities() == []


def test_each_admin_page_a_lines_fix_names_says_it_is_an_admins(world, rep_client):
    """A line with an unmapped category and a manufacturer ConnectWise lacks (the demo's NorthPeak "Fiber" line): its
    fix names two admin pages, and a rep reads at each that it is an admin's, as an admin gets each as a link."""
    _by_mapping()
    doc = world.quote([line("OPT-7010"), _unmapped("NP-FIB-2", "NorthPeak Cables")], name="Fiber run")
    text = _text(_row(rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True), "colcw-check-lines"))
    for page in ("Product integration mapping → Categories", "Product integration mapping → Manufacturers"):
        assert f"{page} {ADMIN_HINT}" in text, text
    assert text.count(ADMIN_HINT) == 2, text
    admin = sign_in(rep_client, "admin@demo.example")  # (the same client, signed in again: one client per test)
    row = _row(admin.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True), "colcw-check-lines")
    assert ADMIN_HINT not in _text(row) and re.search(r'#categories">', row) and re.search(r'#manufacturers">', row)


def test_lines_that_can_be_exported_are_ticked_and_an_admin_gets_the_fixs_page_as_a_link(world, rep_client, admin_client):
    doc = world.quote([line("OPT-7010"), line("NEW-ITEM-9", manufacturer="Dell")], name="Desk refresh")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert "✓" in _text(_row(page, "colcw-check-lines"))
    assert "Each of its 2 lines can be exported." in _text(page)
    assert re.search(r'<button type="submit" id="colcw-export-submit">', page)

    doc = world.quote([line("OPT-7010"), _unmapped("AW-DOCK-1", "Dell")], name="Fiber desk")
    _by_mapping()
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert "category Cables & Adapters / Fiber is not mapped" in _text(_row(page, "colcw-check-lines"))
    # An admin sees the page's link, not the hint.
    admin_page = admin_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert ADMIN_HINT not in _text(admin_page)
    assert re.search(r'<a href="[^"]+#categories">Product integration mapping → Categories</a>',
                     _row(admin_page, "colcw-check-lines"))


def test_the_line_check_costs_the_same_few_requests_for_two_lines_or_forty(world, rep_client):
    _by_mapping()

    def requests_for(n: int) -> int:
        doc = world.quote([line("OPT-7010")] + [_unmapped(f"AW-{k}", "Acme Widgets" if k % 2 else "NorthPeak Cables")
                                                for k in range(n)], name=f"Deal of {n}")
        world.sandbox.clear_requests()
        page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
        assert f"{n} lines cannot be exported yet" in _text(page)
        return len([r for r in world.sandbox.requests() if "apis/3.0/" in r["path"]])

    few, many = requests_for(2), requests_for(40)
    assert many == few and few <= 8, (few, many)
