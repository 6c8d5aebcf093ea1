"""``flask colcw schedules ...``: the Scheduled jobs of the Synchronization Jobs page from the command line."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from quotes.quote_support import line, make_world
from sqlalchemy import select

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import scheduler
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def colcw(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["colcw", "schedules", *args], env={"LOGNAME": "deploy"}, input=input)


def schedules() -> list[Schedule]:
    db.session.expire_all()
    return list(db.session.execute(select(Schedule).order_by(Schedule.id)).scalars())


def shown(at: dt.datetime, zone: str) -> str:
    return at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def page_row(admin_client, name: str) -> str:
    page = admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True)
    return page.split(f'data-schedule="{name}"')[1].split("</tr>")[0]


def test_a_schedule_added_on_the_command_line_is_the_one_the_page_lists(admin_client, jobs_app):
    result = colcw(jobs_app, "add", "--name", "Nightly import", "--job", "customer_import", "--changed",
                   "--frequency", "daily", "--time", "02:30", "--timezone", "America/New_York")
    assert result.exit_code == 0, result.output
    [s] = schedules()
    assert (s.kind, s.params, s.frequency, s.time_of_day, s.timezone, s.enabled, s.created_by) == (
        "customer_import", {"mode": "changed"}, "daily", "02:30", "America/New_York", True, "command line (deploy)")
    local, utc = shown(s.next_run_at, "America/New_York"), shown(s.next_run_at, "UTC")
    assert local.endswith(("EST", "EDT")) and utc.endswith("UTC")
    assert (f"Scheduled “Nightly import” as schedule #{s.id}: Daily at 02:30 (America/New_York); next run {local} "
            f"({utc}).") in result.output
    row = page_row(admin_client, "Nightly import")
    assert "Daily at 02:30 (America/New_York)" in row and "since the previous import" in row and "Enabled" in row

    listed = colcw(jobs_app, "list")
    assert listed.exit_code == 0, listed.output
    assert f"#{s.id}  Nightly import  [enabled]" in listed.output
    assert "Job:       Customer import (ConnectWise → ChannelOnline): Import companies changed in ConnectWise since " \
           "the previous import" in listed.output
    assert "When:      Daily at 02:30 (America/New_York)" in listed.output
    assert "Zone:      America/New_York" in listed.output
    assert f"Next run:  {local} ({utc})" in listed.output and "Last run:  never ran" in listed.output

    # A range, a weekday by name and who adds it, as the page's form would make them.
    result = colcw(jobs_app, "add", "--name", "Monday quotes", "--job", "quote_export", "--follow-up", "last15",
                   "--frequency", "weekly", "--weekday", "monday", "--time", "06:00", "--timezone", "Europe/Paris",
                   "--by", "ops@example.com")
    assert result.exit_code == 0, result.output
    added = schedules()[-1]
    assert (added.params, added.weekday, added.created_by) == ({"range": {"field": "follow_up", "preset": "last15"}},
                                                               0, "ops@example.com")
    assert added.next_run_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == \
        "Mon 06:00"
    assert "Weekly on Monday at 06:00 (Europe/Paris)" in page_row(admin_client, "Monday quotes")
    result = colcw(jobs_app, "add", "--name", "January customers", "--job", "customer_export", "--created",
                   "2026-01-01..2026-01-31", "--frequency", "monthly", "--day-of-month", "31", "--time", "23:00")
    assert result.exit_code == 0, result.output
    assert (schedules()[-1].params, schedules()[-1].timezone) == (
        {"range": {"field": "created", "preset": "custom", "start": "2026-01-01", "end": "2026-01-31"}}, "UTC")
    assert "Monthly on day 31 (or the month's last day) at 23:00 (UTC)" in result.output


def test_the_scheduler_fires_a_schedule_added_on_the_command_line(connected, box, redis_conn, drain_queue, jobs_app):
    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010", qty=2)], name="Scheduled from the shell")
    result = colcw(jobs_app, "add", "--name", "Hourly quote", "--job", "quote_export", "--document", doc.number,
                   "--frequency", "every", "--every-minutes", "60")
    assert result.exit_code == 0, result.output
    [s] = schedules()
    assert (s.params, s.every_minutes) == ({"document_id": doc.id}, 60)

    fired = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=s.next_run_at + dt.timedelta(seconds=1))
    assert [f.schedule_id for f in fired] == [s.id]
    drain_queue()
    db.session.expire_all()
    [run] = db.session.execute(select(SyncRun).where(SyncRun.schedule_id == s.id)).scalars().all()
    assert (run.status, run.trigger, run.requested_by) == ("succeeded", "schedule", "schedule: Hourly quote")
    assert [o["name"] for o in world.opportunities()] == ["Scheduled from the shell"]

    listed = colcw(jobs_app, "list").output
    assert f"Last run:  run #{run.id}, fired " in listed and ": Succeeded" in listed


def test_bad_input_names_the_option_and_saves_nothing(jobs_app):
    def refused(*args, says: list[str], code: int = 2):
        result = colcw(jobs_app, "add", "--name", "Bad", *args)
        assert result.exit_code == code, result.output
        for text in says:
            assert text in result.output, (text, result.output)
        assert schedules() == []

    refused("--job", "customer_export", "--customer", "NOPE", "--frequency", "daily", "--time", "25:00",
            "--timezone", "Mars/Base",
            says=["--customer: No customer has the account number 'NOPE'",
                  "--time: Enter the time as HH:MM on a 24-hour clock",
                  "--timezone: Choose a time zone from the list (an IANA name such as America/New_York).",  # the page's
                  "The schedule was not saved."])
    refused("--job", "customer_import", "--all", "--frequency", "every", "--every-minutes", "15", "--time", "02:00",
            says=["--time: a schedule that runs every N minutes does not use it; give --frequency daily, weekly or "
                  "monthly with it, or leave it out."])
    refused("--job", "quote_export", "--frequency", "daily", "--time", "02:00",
            says=["--document, --created, --modified, --follow-up or --all: Choose a specific quote / order, a date "
                  "range, or all."])
    refused("--job", "customer_export", "--document", "Q1", "--frequency", "daily", "--time", "02:00",
            says=["--document does not apply to a customer_export job; its options are --customer ACCOUNT, "
                  "--created RANGE, --modified RANGE or --all."])
    refused("--job", "customer_import", "--company", "C1", "--all", "--frequency", "daily", "--time", "02:00",
            says=["Use only one of --company COMPANY_ID, --changed and --all."])
    refused("--job", "nightly", says=["--job: 'nightly' is not a job the Synchronization Jobs page schedules. Use one "
                                      "of: customer_export, customer_import, quote_export, cw_reconcile."])
    refused("--job", "quote_export", "--all", "--frequency", "weekly", "--weekday", "someday", "--time", "02:00",
            says=["--weekday: Choose the day of the week the job runs on. Give a day name, Monday to Sunday"])
    refused("--job", "quote_export", "--modified", "lastweek", "--frequency", "daily", "--time", "02:00",
            says=["--modified: 'lastweek' is not a date range. Use today, last7, last15, last30 or "
                  "YYYY-MM-DD..YYYY-MM-DD."])
    refused("--job", "quote_export", "--modified", "2026-02-01..2026-01-01", "--frequency", "daily", "--time", "02:00",
            says=["--modified: The end date must not be before the start date."])
    refused("--job", "cw_reconcile", "--frequency", "every", "--every-minutes", "0",
            says=["--mode: Choose what the safety net checks", "--every-minutes: Enter the minutes between runs, 1 "
                                                                 "to 1440."])
    refused("--job", "quote_export", "--all", "--frequency", "hourly",
            says=["--frequency: Choose how often the job runs"])


def test_safety_net_schedules_say_what_stops_when_disabled_or_deleted(admin_client, jobs_app):
    for mode, timing in (("changes", ["--frequency", "every", "--every-minutes", "15"]),
                         ("deletions", ["--frequency", "daily", "--time", "03:30"])):
        result = colcw(jobs_app, "add", "--name", f"Safety net {mode}", "--job", "cw_reconcile", "--mode", mode,
                       *timing)
        assert result.exit_code == 0, result.output
    changes, deletions = schedules()
    assert (changes.params, deletions.params) == ({"mode": "changes"}, {"mode": "deletions"})

    result = colcw(jobs_app, "disable", str(changes.id))
    assert result.exit_code == 0, result.output
    assert f"Schedule #{changes.id} “Safety net changes” disabled." in result.output
    assert "Warning: Without it, missed callbacks are no longer caught" in result.output
    assert "Restore the safety net" in result.output
    assert schedules()[0].enabled is False and schedules()[0].next_run_at is None
    assert "Disabled" in page_row(admin_client, "Safety net changes")
    assert "Warning:   Without it, missed callbacks" in colcw(jobs_app, "list").output

    result = colcw(jobs_app, "enable", str(changes.id))
    assert result.exit_code == 0 and "enabled; next run " in result.output and "UTC" in result.output
    assert schedules()[0].enabled is True and schedules()[0].next_run_at is not None

    kept = colcw(jobs_app, "delete", str(deletions.id), input="n\n")
    assert kept.exit_code == 1 and "deletions are no longer found" in kept.output
    assert len(schedules()) == 2
    result = colcw(jobs_app, "delete", str(deletions.id), "--yes")
    assert result.exit_code == 0, result.output
    assert f"Schedule #{deletions.id} “Safety net deletions” deleted. Its past runs stay in the history." \
        in result.output
    assert "Warning: Without it, deletions are no longer found" in result.output
    assert [s.id for s in schedules()] == [changes.id]

    missing = colcw(jobs_app, "disable", "999999")
    assert missing.exit_code == 1 and "There is no schedule #999999" in missing.output


def test_edit_changes_the_timing_as_the_edit_page_and_refuses_what_it_refuses(jobs_app):
    colcw(jobs_app, "add", "--name", "Nightly import", "--job", "customer_import", "--all", "--frequency", "daily",
          "--time", "02:30", "--timezone", "America/New_York")
    [s] = schedules()
    before = (s.frequency, s.time_of_day, s.timezone, s.next_run_at)

    for args, says in ((["--frequency", "weekly"], "--weekday: Choose the day of the week the job runs on."),
                       (["--timezone", "Mars/Base"], "--timezone: Choose a time zone from the list (an IANA name"),
                       (["--every-minutes", "5"], "--every-minutes: a schedule that runs daily does not use it; give "
                                                  "--frequency every with it, or leave it out."),
                       (["--name", " "], "--name: Name the schedule"),
                       ([], "Say what to change: --name, --frequency")):
        result = colcw(jobs_app, "edit", str(s.id), *args)
        assert result.exit_code == 2 and says in result.output, result.output
        s = schedules()[0]
        assert (s.frequency, s.time_of_day, s.timezone, s.next_run_at) == before and s.name == "Nightly import"

    result = colcw(jobs_app, "edit", str(s.id), "--name", "Wednesday import", "--frequency", "weekly", "--weekday",
                   "wed", "--time", "04:00", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    s = schedules()[0]
    assert (s.name, s.frequency, s.weekday, s.time_of_day, s.params) == ("Wednesday import", "weekly", 2, "04:00",
                                                                         {"mode": "all"})
    assert s.next_run_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == \
        "Wed 04:00"
    assert "saved: Weekly on Wednesday at 04:00 (Europe/Paris); next run " in result.output


def test_every_job_the_page_can_schedule_can_be_added_on_the_command_line(jobs_app):
    from colcw_plugin.cli.schedules import JOB_CHOICES

    assert {k.name for k in runtime().kinds.on_form()} == set(JOB_CHOICES)
