"""The job history's From and To are days of the zone the page shows its times in ("Show times in"), as the
Started column: a run started late in the evening in New York is on that evening's day there, not on the next UTC
day."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import update
from test_stop_request_zone import JOBS, OPS, _show_times_in

from colcw_plugin.models import SyncRun
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

EVENING_BEFORE = dt.datetime(2026, 7, 1, 2, 0)  # naive UTC: 2026-06-30 22:00 EDT
AFTERNOON = dt.datetime(2026, 7, 1, 18, 0)  # 2026-07-01 14:00 EDT
LATE_EVENING = dt.datetime(2026, 7, 2, 3, 0)  # 2026-07-01 23:00 EDT


def _run(at: dt.datetime) -> int:
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor=OPS).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="succeeded", created_at=at, started_at=at, finished_at=at))
    db.session.commit()
    return run.id


def _listed(client, **days) -> tuple[list[int], str]:
    page = client.get(JOBS, query_string={"tab": "history", **days}).get_data(as_text=True)
    hint = html.unescape(re.search(r'<p class="hint" id="history-days">(.*?)</p>', page).group(1))
    return [int(i) for i in re.findall(r'<tr [^>]*data-run="(\d+)"', page)], hint


def test_the_historys_days_are_the_pages_zones_days(admin_client, jobs_app):
    before, afternoon, late = _run(EVENING_BEFORE), _run(AFTERNOON), _run(LATE_EVENING)
    assert _listed(admin_client, start="2026-07-01", end="2026-07-01") == (
        [afternoon, before], "Dates are days in UTC, as the times below; the default is the last 7 days.")

    _show_times_in(admin_client, "America/New_York")
    listed, hint = _listed(admin_client, start="2026-07-01", end="2026-07-01")
    assert listed == [late, afternoon]
    assert hint == "Dates are days in America/New_York, as the times below; the default is the last 7 days."
    assert _listed(admin_client, start="2026-06-30", end="2026-06-30")[0] == [before]
    assert _listed(admin_client, start="2026-07-01")[0] == [late, afternoon]
    assert _listed(admin_client, end="2026-06-30")[0] == [before]
