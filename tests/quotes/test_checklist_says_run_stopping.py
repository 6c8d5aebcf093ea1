"""While a document's export is under way, its checklist says the run's state as it is, in the words every page uses
for it (queued, running, stopping, waiting to retry): the same for the document's own run as for a run of several
documents. Before, the document's own run being cancelled (stopping) was said to be "running"."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line

from colcw_plugin.models import RunStatus, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _run(params: dict, actor: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, "quote_export", params, actor=actor)
    db.session.commit()
    return run


def _blocked(client, doc) -> str:
    page = client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    found = re.search(r'<p class="colcw-disabled-why" id="colcw-export-blocked">(.*?)</p>', page, re.S)
    assert found is not None and re.search(r'id="colcw-export-submit"\s+disabled', page)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def _set(run: SyncRun, status: RunStatus) -> None:
    run.status = status
    db.session.commit()


WORDS = {RunStatus.QUEUED: "queued", RunStatus.RUNNING: "running", RunStatus.CANCELLING: "stopping",
         RunStatus.WAITING: "waiting to retry"}


@pytest.mark.parametrize("alone", [True, False], ids=["its own run", "a run of several documents"])
def test_the_checklist_says_the_runs_state_as_it_is(world, rep_client, riley, alone):
    doc = world.quote([line("OPT-7010")], name="Stopping deal")
    other = world.quote([line("LAT-5440")], name="Other deal")
    run = _run({"document_id": doc.id} if alone else {"document_ids": [other.id, doc.id]}, riley)
    for status, word in WORDS.items():
        _set(run, status)
        if alone:
            expected = (f"Export now is unavailable while {doc.number} is being exported (run #{run.id}, {word}): its "
                        "progress is above, and this page shows the checklist again once it has ended.")
        else:
            expected = (f"Export now is unavailable while {doc.number} is being exported with other documents by run "
                        f"#{run.id} “{run.description}” ({word}): reload this page once that run has exported it.")
        assert _blocked(rep_client, doc) == expected
