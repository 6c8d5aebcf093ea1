"""``flask colcw schedules`` says what the Scheduled jobs page says of the same schedules:

* ``add``, ``edit`` and ``enable`` of a schedule that meets another enabled one of the same job and settings only
  part of the year (02:00 America/New_York and 07:00 UTC: the same minute while New York keeps standard time) save it
  (exit 0) and print the page's warning naming the dates they coincide (days in UTC);
* a misspelt ``--timezone`` is refused with the page's message, naming the closest zone;
* ``list`` shows the last run's own fire time, and a due time skipped after it (the run still queued) apart, as the
  page's Last run column does: not the skipped fire's time as the run's."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import update
from test_cli_schedules import colcw, page_row, schedules

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import scheduler
from colcw_plugin.sync.jobs import schedules as schedules_module
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
NOW = dt.datetime(2026, 12, 6, 12, 0)  # naive UTC: New York keeps standard time until 2027-03-14
WHEN = "until 2027-03-14 and from 2027-11-07 on"  # (days in UTC)


@pytest.fixture()
def now(monkeypatch):
    monkeypatch.setattr(schedules_module, "utcnow", lambda: NOW)
    return NOW


def add(app, name: str, time: str, zone: str, *scope: str):
    return colcw(app, "add", "--name", name, "--job", "customer_import", *(scope or ("--all",)),
                 "--frequency", "daily", "--time", time, "--timezone", zone)


def warning(other: Schedule) -> str:
    return (f"Warning: This schedule meets schedule #{other.id} “{other.name}” (Daily at 02:00 (America/New_York)) "
            f"some of the time: both queue this job with the same settings at the same minute {WHEN} (days in UTC; "
            "163 runs in the coming year), and one of the two is skipped each of those times. It was saved; to have "
            "both run every time, move one of them to another time (or days).")


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_add_edit_and_enable_save_a_part_year_meeting_and_print_the_pages_warning(jobs_app, admin_client, now):
    assert add(jobs_app, "Nightly export", "02:00", "America/New_York").exit_code == 0
    [nightly] = schedules()

    added = add(jobs_app, "Nightly UTC", "07:00", "UTC")
    assert added.exit_code == 0, added.output
    assert "Scheduled “Nightly UTC” as schedule #" in added.output
    assert warning(nightly) in added.output, added.output

    # What never meets it (08:00 UTC: 03:00 or 04:00 in New York), or runs other work, says nothing.
    morning = add(jobs_app, "Morning UTC", "08:00", "UTC", "--changed")
    other_work = add(jobs_app, "Changed at seven", "07:00", "UTC", "--changed")
    assert morning.exit_code == other_work.exit_code == 0
    assert "Warning" not in morning.output + other_work.output, morning.output + other_work.output
    moved = colcw(jobs_app, "edit", str(schedules()[1].id), "--time", "08:00")  # Nightly UTC, now apart
    assert moved.exit_code == 0 and "Warning" not in moved.output, moved.output

    edited = colcw(jobs_app, "edit", str(schedules()[1].id), "--time", "07:00")
    assert edited.exit_code == 0, edited.output
    assert "“Nightly UTC” saved: Daily at 07:00 (UTC)" in edited.output
    assert warning(nightly) in edited.output, edited.output

    nightly_utc = schedules()[1]
    assert colcw(jobs_app, "disable", str(nightly_utc.id)).exit_code == 0
    enabled = colcw(jobs_app, "enable", str(nightly_utc.id))
    assert enabled.exit_code == 0, enabled.output
    assert f"Schedule #{nightly_utc.id} “Nightly UTC” enabled; next run" in enabled.output
    assert warning(nightly) in enabled.output, enabled.output
    assert [(s.name, s.time_of_day, s.enabled) for s in schedules()] == [
        ("Nightly export", "02:00", True), ("Nightly UTC", "07:00", True), ("Morning UTC", "08:00", True),
        ("Changed at seven", "07:00", True)]

    # The page's Edit of the same schedule flashes the same words (its zone: UTC).
    edit = f"{JOBS}/schedules/{nightly_utc.id}/edit"
    token = csrf_from(admin_client.get(edit).get_data(as_text=True))
    resp = admin_client.post(edit, data={"csrf_token": token, "schedule_name": "Nightly UTC", "time": "07:00",
                                         "timezone": "UTC", "frequency": "daily"})
    assert resp.status_code == 302
    assert warning(nightly).removeprefix("Warning: ") in _text(admin_client.get(resp.headers["Location"])
                                                               .get_data(as_text=True))


def test_a_misspelt_zone_is_refused_naming_the_closest_zone_as_the_page_does(jobs_app):
    refused = add(jobs_app, "Nightly import", "02:00", "america/new york")
    assert refused.exit_code == 2, refused.output
    assert ("--timezone: Choose a time zone from the list (an IANA name such as America/New_York). The closest name: "
            "America/New_York.") in refused.output
    assert schedules() == []

    assert add(jobs_app, "Nightly import", "02:00", "America/New_York").exit_code == 0
    [s] = schedules()
    refused = colcw(jobs_app, "edit", str(s.id), "--timezone", "Amerika/Chicago")
    assert refused.exit_code == 2, refused.output
    assert ("--timezone: Choose a time zone from the list (an IANA name such as America/New_York). The closest name: "
            "America/Chicago.") in refused.output
    assert f"The change to schedule #{s.id} was not saved." in refused.output
    assert schedules()[0].timezone == "America/New_York"


def test_list_shows_the_last_runs_own_fire_time_and_a_skipped_fire_apart(jobs_app, admin_client):
    result = colcw(jobs_app, "add", "--name", "Every ten", "--job", "customer_import", "--all",
                   "--frequency", "every", "--every-minutes", "10")
    assert result.exit_code == 0, result.output
    [s] = schedules()
    db.session.execute(update(Schedule).where(Schedule.id == s.id).values(
        next_run_at=utcnow() - dt.timedelta(seconds=30)))  # due now
    db.session.commit()
    [fired] = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=utcnow())
    db.session.expire_all()
    run = db.session.get(SyncRun, fired.run_id)
    assert run.status == "queued"  # no worker: still active when the next due time comes

    skipped_due = schedules()[0].next_run_at
    skip_fire = skipped_due + dt.timedelta(minutes=2, seconds=5)  # (a minute of its own, for the asserts)
    [skip] = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=skip_fire)
    assert (skip.run_id, skip.skipped_for) == (None, run.id)
    [s] = schedules()
    assert (s.last_run_id, s.last_fired_at) == (run.id, skip_fire)

    def utc(at: dt.datetime) -> str:
        return at.strftime("%Y-%m-%d %H:%M UTC")

    assert utc(run.created_at) != utc(skip_fire)
    listed = colcw(jobs_app, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    last = next(i for i, text in enumerate(lines) if text.startswith("    Last run:  "))
    assert lines[last] == f"    Last run:  run #{run.id}, fired {utc(run.created_at)}: Queued", listed.output
    assert lines[last + 1] == (f"               Skipped the run due {utc(skipped_due)}: run #{run.id} of the same job "
                               "was still queued."), listed.output
    assert utc(skip_fire) not in listed.output

    # The page's Last run column: the same time, the skip said below it.
    row = _text(page_row(admin_client, "Every ten"))
    assert f"{utc(run.created_at)} Queued Skipped the run due {utc(skipped_due)}: run #{run.id}" in row, row
    assert utc(skip_fire) not in row
