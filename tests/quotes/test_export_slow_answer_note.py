"""A quote's export page says "ConnectWise is slow to answer" below its "Running… 0 of 1" while the export of its one
document waits for nothing but ConnectWise's answer, as a customer's page says of its export under way (one definition,
SyncRun.slow_answer): under a 40 s hang it said only "Running… 0 of 1 … This page updates by itself." for 30 s."""

from __future__ import annotations

import html
import re

import pytest
from htmx_loads import loaded
from quote_support import line
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def _running(kind: str, params: dict, actor) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params, actor=actor)
    db.session.commit()
    _set(run.id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=1, done=0)
    return run


def test_the_quote_page_says_connectwise_is_slow_as_the_customer_page_does(world, rep_client, riley):
    doc = world.quote([line("OPT-7010")], name="Slow deal")
    run = _running("quote_export", {"document_id": doc.id}, riley)
    section = _text(rep_client.get(f"/colcw/documents/{doc.id}/export/run?run={run.id}").get_data(as_text=True))
    assert "Running… 0 of 1 ConnectWise is slow to answer: the export goes on by itself." in section, section
    whole = _text(rep_client.get(f"/colcw/documents/{doc.id}/export?run={run.id}").get_data(as_text=True))
    assert "ConnectWise is slow to answer" in whole

    _running("customer_export", {"customer_id": doc.customer_id}, riley)
    assert "An export to ConnectWise is under way (running: ConnectWise is slow to answer)" in _text(
        loaded(rep_client, f"/customers/{doc.customer_id}"))

    # Not while it notes what it waits for (its wait says it), nor once its document is done (finishing).
    _set(run.id, waiting_reason="Waiting for another export of Q1 to finish")
    section = _text(rep_client.get(f"/colcw/documents/{doc.id}/export/run?run={run.id}").get_data(as_text=True))
    assert "Waiting for another export of Q1 to finish" in section and "slow to answer" not in section
    _set(run.id, waiting_reason="", done=1, counts={"created": 1})
    section = _text(rep_client.get(f"/colcw/documents/{doc.id}/export/run?run={run.id}").get_data(as_text=True))
    assert "Finishing… 1 of 1" in section and "slow to answer" not in section
