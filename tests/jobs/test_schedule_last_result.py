"""A schedule's last run shows as it ended — Failed with ConnectWise's reason, not only "Started run #7." — on the
Scheduled jobs list and in ``colcw schedules list`` (walkthrough: scheduled imports failing every minute looked fine),
and a skipped due time after it is still said."""

from __future__ import annotations

import datetime as dt

import pytest
from quotes.quote_support import line, make_world
from sqlalchemy import select
from test_cli_schedules import colcw, page_row, schedules

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import scheduler
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def test_a_failed_scheduled_run_shows_failed_with_its_reason(connected, box, redis_conn, drain_queue, jobs_app,
                                                              admin_client):
    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010", qty=2)], name="Refused by ConnectWise")
    assert colcw(jobs_app, "add", "--name", "Hourly quote", "--job", "quote_export", "--document", doc.number,
                 "--frequency", "every", "--every-minutes", "60").exit_code == 0
    [s] = schedules()
    world.sandbox.deny(["sales/opportunities"])  # the API member may not create opportunities

    scheduler.tick(db.session, runtime().queue, runtime().kinds, now=s.next_run_at + dt.timedelta(seconds=1))
    drain_queue()
    db.session.expire_all()
    [run] = db.session.execute(select(SyncRun).where(SyncRun.schedule_id == s.id)).scalars().all()
    assert run.status == "failed" and run.message, (run.status, run.message)

    row = page_row(admin_client, "Hourly quote")
    assert 'class="badge result-failed">Failed</span>' in row, row
    assert run.message.split(":")[0] in row.replace("&#34;", '"').replace("&#39;", "'")
    assert "Started run #" not in row
    listed = colcw(jobs_app, "list").output
    assert f"Last run:  run #{run.id}, fired " in listed and f": Failed. {run.message}" in listed, listed

    # A due time skipped after it is said beside the last run's result.
    [s] = schedules()
    s.last_outcome = "Skipped the run due 2026-07-01 18:00 UTC: run #1 of the same job was still running."
    db.session.commit()
    row = page_row(admin_client, "Hourly quote")
    assert "Failed</span>" in row and "Skipped the run due" in row
