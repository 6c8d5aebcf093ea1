"""The Scheduled jobs table in a real browser: each row's borders run unbroken across it, its actions cell (Edit,
Disable, Delete) included — the cell stays a table cell, as tall as its row, its buttons side by side in it."""

from __future__ import annotations

import pytest

from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"

# Each cell of a row: its box and its bottom border, as the browser lays them out.
CELLS = """row => [...row.cells].map(c => {
  const r = c.getBoundingClientRect(), s = getComputedStyle(c);
  return {display: s.display, top: Math.round(r.top), bottom: Math.round(r.bottom),
          border: s.borderBottomStyle + ' ' + s.borderBottomWidth};
})"""


def test_every_cell_of_a_schedule_row_shares_its_top_and_bottom_borders(app, live_server, page):
    for name, timing in (("Nightly import", {"frequency": "daily", "time": "02:30", "timezone": "America/New_York"}),
                         ("Safety net", {"frequency": "every", "every_minutes": "15", "timezone": "UTC"})):
        create_schedule(db.session, name=name, kind="customer_import", params={"mode": "all"},
                        timing=parse_timing(timing), actor="admin@demo.example")
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}?tab=schedules")

    for name in ("Nightly import", "Safety net"):
        row = page.locator(f'tr[data-schedule="{name}"]')
        cells = row.evaluate(CELLS)
        assert len(cells) == 7
        assert {c["display"] for c in cells} == {"table-cell"}, cells
        assert {(c["top"], c["bottom"]) for c in cells} == {(cells[0]["top"], cells[0]["bottom"])}, cells
        assert {c["border"] for c in cells} == {"solid 1px"}, cells
        actions = row.locator("td").last
        buttons = [actions.get_by_role("link", name="Edit"), actions.get_by_role("button", name="Disable"),
                   actions.get_by_role("button", name="Delete")]
        tops = {round(b.bounding_box()["y"]) for b in buttons}
        assert max(tops) - min(tops) <= 4, tops  # side by side, on one line
