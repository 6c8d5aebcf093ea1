"""A schedule whose runs would always fall on the same minute as another enabled schedule's of the same job and
settings is refused — added on the page, changed on its Edit page, enabled again, or added on the command line —
naming the other schedule and what to do: the scheduler would queue the job twice at once and skip one of the two
every time, its "Last run" staying "never". Near-duplicates that always meet are refused too (the same minute in
another name of the same zone; a weekly run on a day a daily one runs at that minute); schedules that meet only
some of the time (07:30 UTC and 02:30 New York, an hour apart in summer) or that run other work are not."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
NIGHTLY = {"job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1",
           "time": "02:30", "timezone": "America/New_York", "frequency": "daily"}


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def saved() -> list[tuple[str, str, str, bool]]:
    db.session.expire_all()
    return [(s.name, s.time_of_day, s.timezone, s.enabled)
            for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()]


def page_text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def test_a_copy_of_a_schedule_is_refused_naming_the_schedule_it_copies(admin_client, jobs_app):
    assert post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import"}).status_code == 302
    [nightly] = db.session.execute(select(Schedule)).scalars().all()
    refused = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import (copy)"})
    page = page_text(refused)
    assert refused.status_code == 400
    assert "The schedule was not saved: correct what is marked in the form below." in page
    assert (f"Schedule #{nightly.id} “Nightly import” (Daily at 02:30 (America/New_York)) already runs this job with "
            "the same settings at the same times: both would queue it at the same minute and one of them would be "
            f"skipped each time, never running. Edit schedule #{nightly.id} instead, or choose a different time (or "
            "days) for this one.") in page
    assert saved() == [("Nightly import", "02:30", "America/New_York", True)]


def test_near_copies_that_always_meet_are_refused_and_others_are_not(admin_client, jobs_app):
    post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import"})
    [nightly] = db.session.execute(select(Schedule)).scalars().all()
    # Another name of the same zone: the same instants.
    same_zone = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Eastern", "timezone": "US/Eastern"})
    assert same_zone.status_code == 400
    assert f"Schedule #{nightly.id} “Nightly import”" in page_text(same_zone)
    # A weekly run at the daily one's minute: each of its runs meets one of the nightly's.
    weekly = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Weekly", "frequency": "weekly",
                                                "weekday": "2"})
    assert weekly.status_code == 400
    assert "already runs this job with the same settings at every time this schedule would" in page_text(weekly)
    # Meeting some of the time only (07:30 UTC is 02:30 in New York in winter, 03:30 in summer), another minute,
    # or other work: saved.
    for data in ({"schedule_name": "UTC", "time": "07:30", "timezone": "UTC"},
                 {"schedule_name": "A minute later", "time": "02:31"},
                 {"schedule_name": "Changed only", "import_scope": "changed"}):
        assert post(admin_client, f"{JOBS}/run", {**NIGHTLY, **data}).status_code == 302, data
    assert [s[0] for s in saved()] == ["Nightly import", "UTC", "A minute later", "Changed only"]


def test_an_edit_that_would_meet_another_schedule_is_refused_and_enabling_such_a_copy_too(admin_client, jobs_app):
    post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import"})
    post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Early import", "time": "01:00"})
    nightly, early = db.session.execute(select(Schedule).order_by(Schedule.id)).scalars().all()
    edit = f"{JOBS}/schedules/{early.id}/edit"
    resp = post(admin_client, edit, {"schedule_name": "Early import", "time": "02:30", "timezone": "America/New_York",
                                     "frequency": "daily"}, page=edit)
    page = page_text(resp)
    assert resp.status_code == 400 and "Nothing was saved: correct the fields marked below." in page
    under_timing = page.split('id="schedule-form"')[1].split('class="error schedule-timing-error"')[1].split("</p>")[0]
    assert f"Edit schedule #{nightly.id} instead" in under_timing  # under the Time and Time zone fields
    assert saved()[1] == ("Early import", "01:00", "America/New_York", True)

    # A disabled schedule meets nothing: a copy may be made while it is off, but it is not enabled again beside it.
    post(admin_client, f"{JOBS}/schedules/{nightly.id}/toggle", {"enabled": "0"}, page=f"{JOBS}?tab=schedules")
    resp = post(admin_client, edit, {"schedule_name": "Early import", "time": "02:30", "timezone": "America/New_York",
                                     "frequency": "daily"}, page=edit)
    assert resp.status_code == 302
    resp = post(admin_client, f"{JOBS}/schedules/{nightly.id}/toggle", {"enabled": "1"}, page=f"{JOBS}?tab=schedules")
    listed = page_text(admin_client.get(resp.headers["Location"]))
    assert (f"Schedule #{nightly.id} “Nightly import” was not enabled: Schedule #{early.id} “Early import” (Daily at "
            "02:30 (America/New_York)) already runs this job with the same settings at the same times") in listed
    assert saved() == [("Nightly import", "02:30", "America/New_York", False),
                       ("Early import", "02:30", "America/New_York", True)]


def test_the_command_line_refuses_a_copy_too(jobs_app):
    def add(name):
        return jobs_app.test_cli_runner().invoke(args=[
            "colcw", "schedules", "add", "--name", name, "--job", "customer_import", "--all", "--frequency", "every",
            "--every-minutes", "30"], env={"LOGNAME": "deploy"})

    assert add("Half-hourly import").exit_code == 0
    [first] = db.session.execute(select(Schedule)).scalars().all()
    copy = add("Half-hourly import again")
    assert copy.exit_code == 2
    assert (f"Schedule #{first.id} “Half-hourly import” (Every 30 minutes) already runs this job with the same "
            "settings at the same times") in copy.output
    assert "The schedule was not saved." in copy.output
    assert [s[0] for s in saved()] == ["Half-hourly import"]
