"""The export checklist's warnings (⚠) in a real browser. A ⚠ row is styled as what it is — a row to confirm, tinted
as the tick boxes below it are, its sign in its own colour, and named in words ("Needs confirmation") rather than by
colour or sign alone — where it had no style of its own. And the rep's ticks reach the run: ticked, Export now's run
log (the run's page the rep opens) says who confirmed which warning, where it said only what was overwritten."""

from __future__ import annotations

import re

import pytest
from quote_support import checklist_answered, line, make_world
from sqlalchemy import select

from colcw_plugin.models import DocumentDrift, DocumentLineExport
from colcw_plugin.sync.shared.product_drift import product_changes
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser

DRIFT = "Changes made in ConnectWise since the last export"
AMOUNTS = "Quantities and amounts"

# Each row's sign cell and label cell as the browser draws them: colours, and the contrast of the sign and of the
# label's words against the row's background (WCAG's ratio).
ROW_LOOK = """(id) => {
  const lum = (c) => { const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const row = document.getElementById(id), sign = row.cells[0], label = row.cells[1];
  const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const state = label.querySelector('.colcw-check-state');
  return {background: getComputedStyle(sign).backgroundColor, sign: getComputedStyle(sign).color,
          signContrast: ratio(getComputedStyle(sign).color, bg(sign)),
          state: state ? state.innerText : '', stateVisible: !!(state && state.offsetWidth && state.offsetHeight),
          stateContrast: state ? ratio(getComputedStyle(state).color, bg(state)) : 0};
}"""


def _edited_in_connectwise(world, doc, opp_id: int, quantity: int) -> None:
    """A colleague sets the product's quantity in ConnectWise; live updates record it (as they would)."""
    product = world.products(opp_id)[0]  # line 1's
    resp = world.sandbox.api("PATCH", f"procurement/products/{product['id']}",
                             json=[{"op": "replace", "path": "quantity", "value": quantity}])
    assert resp.status_code == 200, resp.text
    exports = list(db.session.execute(select(DocumentLineExport).where(DocumentLineExport.document_id == doc.id))
                   .scalars())
    db.session.add(DocumentDrift(document_id=doc.id, opportunity_id=opp_id,
                                 changes=product_changes(exports, world.products(opp_id), set())))
    db.session.commit()


def test_a_reps_ticks_are_recorded_in_the_run_log_of_the_export(app, connected, box, live_server, page,
                                                               worker_thread):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010", qty=10), line("LAT-5440", qty=-1, price=50)], name="Confirmed deal")
    assert world.export(quote.id).status == "succeeded"  # (an export nobody confirmed: it says nothing of who)
    [opp] = world.opportunities()
    _edited_in_connectwise(world, quote, opp["id"], 7)

    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    checklist_answered(page)
    page.screenshot(path="test-artifacts/checklist-warnings.png", full_page=True)

    # 1. Each ⚠ row looks like a row to confirm, legibly, and says so in words; a ✓ row does not.
    ok = page.evaluate(ROW_LOOK, "colcw-check-connection")
    for row_id, label in (("colcw-check-drift", DRIFT), ("colcw-check-amounts", AMOUNTS)):
        look = page.evaluate(ROW_LOOK, row_id)
        assert look["background"] != ok["background"] and look["sign"] != ok["sign"], (look, ok)
        assert look["signContrast"] >= 4.5 and look["stateContrast"] >= 4.5, look
        assert look["stateVisible"] and look["state"].startswith("Needs confirmation"), look
        # What assistive technology reads of the row: its label and "Needs confirmation" (the sign is decoration).
        row = page.locator(f"#{row_id}")
        assert row.get_by_text("Needs confirmation").is_visible()
        assert re.search(rf"{re.escape(label)}\s+Needs confirmation", row.aria_snapshot()), row.aria_snapshot()
    assert ok["state"] == ""

    # 2. Ticked and exported: the run's page says who confirmed which warning.
    page.check(f"[data-confirm-check='{DRIFT}'] input")
    page.check(f"[data-confirm-check='{AMOUNTS}'] input")
    page.click("#colcw-export-submit")
    page.wait_for_url(re.compile(r".*/export\?run=\d+$"))
    run_id = int(re.search(r"run=(\d+)", page.url).group(1))
    page.locator("#colcw-outcome[data-action=updated]").wait_for(timeout=20_000)
    assert [p["quantity"] for p in world.products(opp["id"])] == [10, -1]  # set back, credit line sent as it is

    page.goto(f"{live_server.url}/colcw/runs/{run_id}")
    log = re.sub(r"\s+", " ", page.locator("main").inner_text())
    assert (f"As riley@demo.example confirmed on its export checklist (⚠ {DRIFT}), it overwrote changes made in "
            "ConnectWise since the last export: it sets line 1 (OPT-7010) quantity back from 7.00 to 10.00.") in log, log
    assert (f"As riley@demo.example confirmed on its export checklist (⚠ {AMOUNTS}), its lines were sent as they are: "
            "line 2 (LAT-5440) is a credit line (-1 × $50.00 = -$50.00): it lowers the opportunity's total.") in log, log
