"""The export page's outcome says why an export failed. Opened by a browser, the checklist's ConnectWise rows are
still being checked when the page is drawn; a failed export whose reason no check names was blamed on the first of
them: “ConnectWise connection” must be fixed first: see its ✗ — beside a ✓. And an opportunity name longer than
ConnectWise holds is a ✗ on the checklist before any export, as the export refuses it."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

BROWSER = {"Sec-Fetch-Dest": "document"}  # (a browser's page load: ConnectWise's part loads after it)


def _outcome(page: str) -> str:
    found = re.search(r'<div class="flash error" id="colcw-outcome"[^>]*>(.*?)</div>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else ""


def test_a_failed_exports_outcome_names_its_reason_not_a_check_still_being_asked(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Refused deal")
    world.sandbox.deny(["sales/opportunities"])  # (a reason no check of the checklist names)
    run = world.export(doc.id)
    world.sandbox.deny([])
    assert run.status == "failed"
    page = rep_client.get(f"/colcw/documents/{doc.id}/export?run={run.id}", headers=BROWSER).get_data(as_text=True)
    said = _outcome(page)
    assert said.startswith(f"Not exported. {doc.number} was not exported"), said
    assert "must be fixed first" not in said


def test_an_opportunity_name_too_long_is_a_cross_on_the_checklist(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="N" * 170)
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = next(r for r in re.findall(r'<tr class="[^"]*".*?</tr>', page, re.S) if 'id="colcw-check-opportunity"' in r)
    assert row.startswith('<tr class="error"')
    assert f"The opportunity name \"{'N' * 40}…\" is 170 characters long; ConnectWise allows at most 100." in html.unescape(row)
    assert re.search(r'id="colcw-export-submit"\s+disabled', page)


def test_the_answered_checklist_says_the_outcome_again(world, rep_client):
    """The checklist's answer (htmx, after the page) brings the outcome as it explains it now, in place of the one
    drawn before: here no check fails, so the run's own reason."""
    doc = world.quote([line("OPT-7010")], name="Refused again")
    world.sandbox.deny(["sales/opportunities"])
    run = world.export(doc.id)
    world.sandbox.deny([])
    answer = rep_client.get(f"/colcw/documents/{doc.id}/export/checklist?run={run.id}",
                            headers={"HX-Request": "true"}).get_data(as_text=True)
    again = re.search(r'<div id="colcw-run-body" hx-swap-oob="true">(.*?)</div>\s*$', answer, re.S)
    assert again, answer[-500:]
    assert _outcome(again.group(1)).startswith(f"Not exported. {doc.number} was not exported")
    # Without a run: no outcome in the answer.
    plain = rep_client.get(f"/colcw/documents/{doc.id}/export/checklist", headers={"HX-Request": "true"})
    assert "hx-swap-oob" not in plain.get_data(as_text=True)
