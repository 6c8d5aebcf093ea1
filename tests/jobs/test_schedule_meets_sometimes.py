"""Schedules of the same job and settings that fall on the same minute only part of the year ("Nightly export" daily
02:00 America/New_York and "Nightly UTC" daily 07:00 UTC: the same instant while New York keeps standard time) are
saved — they run apart the rest of the year — with a warning naming when they coincide (one of the two is skipped
each of those times), on save (the page's Schedule this job, the Edit page, Enable) and in the later one's row on
Scheduled jobs. Schedules that never meet, or run other work, say nothing; those that always meet are still refused
(test_schedule_meets_another.py)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from colcw_plugin.sync.jobs import schedules as schedules_module
from colcw_plugin.sync.jobs.schedules import Timing, shared_runs
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
NOW = dt.datetime(2026, 12, 6, 12, 0)  # naive UTC: New York keeps standard time until 2027-03-14
NIGHTLY = {"job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1", "frequency": "daily"}
WHEN = "until 2027-03-14 and from 2027-11-07 on"  # (days in UTC)


@pytest.fixture()
def now(monkeypatch):
    monkeypatch.setattr(schedules_module, "utcnow", lambda: NOW)
    return NOW


def _text(html_page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_page)).split())


def _post(client, url: str, data: dict, page: str = JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    resp = client.post(url, data={"csrf_token": token, **data})
    said = _text(client.get(resp.headers["Location"]).get_data(as_text=True)) if resp.status_code == 302 else ""
    return resp.status_code, said


def _saved() -> list[tuple[str, str, str, bool]]:
    db.session.expire_all()
    return [(s.name, s.time_of_day, s.timezone, s.enabled)
            for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()]


def _row(client, name: str) -> str:
    page = client.get(f"{JOBS}?tab=schedules").get_data(as_text=True)
    return _text(page.split(f'data-schedule="{name}"')[1].split("</tr>")[0])


def test_when_two_timings_share_runs_is_named_by_the_stretches_of_days(now):
    new_york, utc = Timing("daily", dt.time(2, 0), "America/New_York"), Timing("daily", dt.time(7, 0), "UTC")
    shared = shared_runs(new_york, utc, now=NOW)
    assert shared.days("UTC") == WHEN
    assert shared.count == 98 + 65  # 2026-12-07 … 2027-03-14, 2027-11-07 … the year's end (400 days on)
    # A weekly and a monthly run at one minute: the Mondays that are the 15th.
    weekly, monthly = Timing("weekly", dt.time(6, 0), "UTC", weekday=0), \
        Timing("monthly", dt.time(6, 0), "UTC", day_of_month=15)
    assert shared_runs(weekly, monthly, now=NOW).days("UTC") == \
        "from 2027-02-15 to 2027-03-15 and on 2027-11-15 (on day 15 of the month)"
    # Never, or every time: nothing to warn of here.
    assert shared_runs(new_york, Timing("daily", dt.time(8, 0), "UTC"), now=NOW) is None
    assert shared_runs(new_york, Timing("daily", dt.time(2, 0), "US/Eastern"), now=NOW) is None


def test_a_schedule_that_meets_another_part_of_the_year_is_saved_with_a_warning_saying_when(admin_client, jobs_app,
                                                                                             now):
    status, _ = _post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly export", "time": "02:00",
                                                    "timezone": "America/New_York"})
    assert status == 302
    [nightly] = db.session.execute(select(Schedule)).scalars().all()
    status, said = _post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly UTC", "time": "07:00",
                                                       "timezone": "UTC"})
    assert status == 302
    assert "Scheduled “Nightly UTC”: Daily at 07:00 (UTC)" in said
    assert (f"This schedule meets schedule #{nightly.id} “Nightly export” (Daily at 02:00 (America/New_York)) some of "
            f"the time: both queue this job with the same settings at the same minute {WHEN} (days in UTC; 163 runs in "
            "the coming year), and one of the two is skipped each of those times. It was saved; to have both run "
            "every time, move one of them to another time (or days).") in said
    assert _saved() == [("Nightly export", "02:00", "America/New_York", True), ("Nightly UTC", "07:00", "UTC", True)]

    # The list says it in the later one's row, not the earlier one's.
    row = _row(admin_client, "Nightly UTC")
    assert (f"Sometimes meets schedule #{nightly.id} “Nightly export” (Daily at 02:00 (America/New_York)): both queue "
            f"this job with the same settings at the same minute {WHEN} (days in UTC; 163 runs in the coming year), "
            "and one of the two is skipped each of those times. To have both run every time, move one of them to "
            "another time (or days).") in row
    assert "meets" not in _row(admin_client, "Nightly export")


def test_edit_and_enable_warn_alike_and_what_never_meets_says_nothing(admin_client, jobs_app, now):
    _post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly export", "time": "02:00",
                                        "timezone": "America/New_York"})
    _post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Morning UTC", "time": "08:00", "timezone": "UTC"})
    _post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Changed only", "time": "07:00", "timezone": "UTC",
                                        "import_scope": "changed"})  # other work: never a warning
    nightly, morning, _ = db.session.execute(select(Schedule).order_by(Schedule.id)).scalars().all()
    page = _text(admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True))
    assert "meets" not in page  # 08:00 UTC is 03:00 in New York in winter, 04:00 in summer: never the same minute

    edit = f"{JOBS}/schedules/{morning.id}/edit"
    status, said = _post(admin_client, edit, {"schedule_name": "Morning UTC", "time": "07:00", "timezone": "UTC",
                                              "frequency": "daily"}, page=edit)
    assert status == 302 and "Schedule “Morning UTC” saved" in said
    assert f"This schedule meets schedule #{nightly.id} “Nightly export”" in said and WHEN in said

    status, said = _post(admin_client, f"{JOBS}/schedules/{morning.id}/toggle", {"enabled": "0"})
    assert "meets" not in said  # disabled: it meets nothing
    assert "meets" not in _text(admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True))
    status, said = _post(admin_client, f"{JOBS}/schedules/{morning.id}/toggle", {"enabled": "1"})
    assert "Schedule “Morning UTC” enabled; next run" in said
    assert f"This schedule meets schedule #{nightly.id} “Nightly export”" in said
    assert [s[3] for s in _saved()] == [True, True, True]
