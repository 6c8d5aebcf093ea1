"""Times colcw writes into stored texts in UTC — a scheduled run started late ("it was due …"), a skipped period
("Skipped the run due …"), an import of what changed since a time (its description and its message) — are shown on
the pages in the reader's zone, as the run's other times; the stored text (what the command line shows) keeps them
in UTC, saying so."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import update
from test_jobs_list_cancel import _row
from test_stop_request_zone import JOBS, _show_times_in

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import scheduler
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

DUE = dt.datetime(2026, 7, 1, 18, 0)  # naive UTC: 14:00 in New York (EDT)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _schedule() -> Schedule:
    """A daily test job due at DUE."""
    schedule = create_schedule(db.session, name="Daily count", kind="test_count", params={"n": 2},
                               timing=parse_timing({"frequency": "daily", "time": "14:00",
                                                    "timezone": "America/New_York"}),
                               actor="admin@demo.example", now=DUE - dt.timedelta(hours=1))
    db.session.commit()
    assert schedule.next_run_at == DUE
    return schedule


def _fresh(model, row_id: int):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_a_scheduled_run_started_late_says_when_it_was_due_in_the_pages_zone(admin_client, jobs_app):
    schedule = _schedule()
    [fired] = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=DUE + dt.timedelta(hours=2))
    run = _fresh(SyncRun, fired.run_id)
    runtime().queue.withdraw(run)  # it stays queued, its message shown
    assert run.message == "Started late: it was due 2026-07-01 18:00 UTC (no scheduler was running)."  # the CLI's

    assert run.schedule_id == schedule.id

    _show_times_in(admin_client, "America/New_York")  # the history's row says it while the run is queued
    history = _text(_row(admin_client.get(f"{JOBS}?tab=history&start=2026-07-01").get_data(as_text=True), run.id))
    assert "Started late: it was due 2026-07-01 14:00 EDT (no scheduler was running)." in history, history
    assert "UTC" not in history


def test_a_skipped_period_says_when_it_was_due_in_the_pages_zone(admin_client, jobs_app):
    schedule = _schedule()
    queued = runtime().submit(db.session, "test_count", {"n": 2}).run
    scheduler.tick(db.session, runtime().queue, runtime().kinds, now=DUE)
    stored = f"Skipped the run due 2026-07-01 18:00 UTC: run #{queued.id} of the same job was still queued."
    assert _fresh(Schedule, schedule.id).last_outcome == stored

    _show_times_in(admin_client, "America/New_York")
    page = _text(admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True))
    assert f"Skipped the run due 2026-07-01 14:00 EDT: run #{queued.id} of the same job was still queued." in page
    _show_times_in(admin_client, "UTC")
    assert stored in _text(admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True))


def test_an_import_of_what_changed_since_a_time_says_it_in_the_pages_zone(admin_client, jobs_app, drain_queue):
    since = runtime().submit(db.session, "customer_import", {"mode": "changed", "since": DUE.isoformat()}).run
    assert since.description == "Import companies changed in ConnectWise since 2026-07-01 18:00 UTC"
    drain_queue()
    run = _fresh(SyncRun, since.id)
    assert run.status == "succeeded" and run.message.startswith("Companies changed since 2026-07-01 18:00 UTC"), \
        run.message
    # Without a time given, the import reads from its previous one's start (less an overlap), named in its description.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(  # (its start by ConnectWise's clock too)
        started_at=DUE + dt.timedelta(minutes=10), cw_started_at=DUE + dt.timedelta(minutes=10)))
    db.session.commit()
    following = runtime().submit(db.session, "customer_import", {"mode": "changed"}).run
    runtime().queue.withdraw(following)
    assert re.fullmatch(r"Import companies changed in ConnectWise since 2026-07-01 18:\d\d UTC", following.description)

    _show_times_in(admin_client, "America/New_York")
    page = _text(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True))
    assert "Job Import companies changed in ConnectWise since 2026-07-01 14:00 EDT" in page, page
    assert "Companies changed since 2026-07-01 14:00 EDT" in page
    history = admin_client.get(f"{JOBS}?tab=history&start=2026-07-01").get_data(as_text=True)
    assert "Import companies changed in ConnectWise since 2026-07-01 14:00 EDT" in _text(_row(history, run.id))
    assert re.search(r"Import companies changed in ConnectWise since 2026-07-01 14:\d\d EDT",
                     _text(_row(history, following.id)))
    assert "UTC" not in _text(_row(history, run.id)) + _text(_row(history, following.id))
