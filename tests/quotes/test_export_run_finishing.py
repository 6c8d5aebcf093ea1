"""A rep's export page says a run whose document is done "Finishing… 1 of 1" with its bar full until the run closes
(SyncRun.finishing, as the run's progress bar): it said "Running… 1 of 1" with the bar at 99 %."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _section(client, doc_id: int, run_id: int) -> tuple[str, int]:
    """The export page's run section as it polls it: its progress text and its bar's value."""
    page = client.get(f"/colcw/documents/{doc_id}/export/run?run={run_id}").get_data(as_text=True)
    text = re.search(r'<span id="colcw-progress-text">(.*?)</span>', page, re.S)
    bar = re.search(r'<progress id="colcw-progress-bar" max="100" value="(\d+)"', page)
    assert text and bar, page
    return " ".join(html.unescape(text.group(1)).split()), int(bar.group(1))


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def test_a_document_export_whose_document_is_done_is_finishing_until_it_closes(world, rep_client, riley):
    doc = world.quote([line("OPT-7010")], name="Finishing deal")
    run = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id}, actor=riley)
    db.session.commit()
    _set(run.id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=1, done=0)
    assert _section(rep_client, doc.id, run.id) == ("Running… 0 of 1", 0)

    _set(run.id, done=1, counts={"created": 1})
    assert _section(rep_client, doc.id, run.id) == ("Finishing… 1 of 1", 100)
