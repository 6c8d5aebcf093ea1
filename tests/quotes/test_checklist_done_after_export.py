"""The export page's buttons read as what they do. After a run that exported the document, the way back to it is
"Done", beside Export again (which exports it once more): it said "Cancel", with nothing left to cancel. Before an
export, and after one that failed, it stays "Cancel" — in the whole page and in the checklist htmx loads after it."""

from __future__ import annotations

import re

import pytest
from quote_support import line

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

HTMX = {"HX-Request": "true"}


def _buttons(page: str) -> tuple[str, str]:
    """The export's button and the way back to the document, as their words read."""
    submit = re.search(r'<button type="submit" id="colcw-export-submit"[^>]*>(.*?)</button>', page, re.S).group(1)
    toolbar = re.search(r'<div class="toolbar">(.*?)</div>', page, re.S).group(1)
    leave = re.search(r'<a href="/documents/\d+"[^>]*>(.*?)</a>', toolbar, re.S).group(1)
    return submit.strip(), leave.strip()


def test_after_a_successful_export_the_way_back_reads_done(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Done deal")
    assert _buttons(rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)) == (
        "Export now", "Cancel")
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    page = rep_client.get(f"/colcw/documents/{doc.id}/export?run={run.id}").get_data(as_text=True)
    assert 'id="colcw-outcome" data-action="created"' in page
    assert _buttons(page) == ("Export again", "Done")
    # The checklist htmx loads after a browser's page: the same words.
    fragment = rep_client.get(f"/colcw/documents/{doc.id}/export/checklist?run={run.id}", headers=HTMX)
    assert _buttons(fragment.get_data(as_text=True)) == ("Export again", "Done")
    # Opened again later, without the run: exporting again is what the page is for, so it can be cancelled.
    assert _buttons(rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)) == (
        "Export again", "Cancel")


def test_after_a_failed_export_it_stays_cancel(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Refused deal")
    world.sandbox.deny(["sales/opportunities"])
    run = world.export(doc.id)
    world.sandbox.deny([])
    assert run.status == "failed"
    page = rep_client.get(f"/colcw/documents/{doc.id}/export?run={run.id}").get_data(as_text=True)
    assert _buttons(page) == ("Export now", "Cancel")
    fragment = rep_client.get(f"/colcw/documents/{doc.id}/export/checklist?run={run.id}", headers=HTMX)
    assert _buttons(fragment.get_data(as_text=True)) == ("Export now", "Cancel")
