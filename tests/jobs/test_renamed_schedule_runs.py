"""A scheduled run names its schedule by the name the schedule has now: once renamed, the run's page, the job
history's "By" column and ``colcw runs list | show`` say the new name, once (not "schedule: old (schedule: new)");
once the schedule is deleted, the name it fired under, saying the schedule is gone."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import scheduler
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def requested(admin_client, run_id: int) -> str:
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    return text_of(page.split("<dt>Requested</dt>")[1].split("</dd>")[0])


def history_by(admin_client, run_id: int) -> str:
    page = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    row = page.split(f'id="history-run-{run_id}"')[1].split("</tr>")[0]
    return text_of(row.split("<td")[4].split(">", 1)[1])  # Run, Started, Job, By


def cli(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=["colcw", "runs", *args], env={"LOGNAME": "deploy"})
    assert result.exit_code == 0, result.output
    return result.output


def _fired_nightly(admin_client):
    """The schedule "Nightly quotes", saved on the jobs page, and what firing it once did."""
    post(admin_client, f"{JOBS}/run", {"job": "quote", "quote_scope": "all", "schedule": "1",
                                       "schedule_name": "Nightly quotes", "time": "02:30", "timezone": "UTC",
                                       "frequency": "daily"})
    schedule = db.session.execute(select(Schedule)).scalar_one()
    [fired] = scheduler.tick(db.session, runtime().queue, runtime().kinds,
                             now=schedule.next_run_at + dt.timedelta(seconds=1))
    return schedule, fired


def test_a_renamed_schedules_runs_say_its_new_name_once(admin_client, jobs_app):
    schedule, fired = _fired_nightly(admin_client)
    run = db.session.get(SyncRun, fired.run_id)
    assert (run.trigger, run.requested_by) == ("schedule", "schedule: Nightly quotes")
    assert requested(admin_client, run.id).endswith("by schedule: Nightly quotes")

    edit = f"{JOBS}/schedules/{schedule.id}/edit"
    post(admin_client, edit, {"schedule_name": "Quotes at dawn", "time": "05:00", "timezone": "UTC",
                              "frequency": "daily"}, page=edit)
    said = requested(admin_client, run.id)
    assert said.endswith("by schedule: Quotes at dawn") and "Nightly" not in said, said
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert f'href="{edit}">Quotes at dawn</a>' in page  # the name links to the schedule
    assert history_by(admin_client, run.id) == "schedule: Quotes at dawn"
    listed = cli(jobs_app, "list")
    assert "(by schedule: Quotes at dawn, schedule)" in listed and "Nightly" not in listed, listed
    shown = cli(jobs_app, "show", str(run.id))
    assert f"by schedule #{schedule.id} “Quotes at dawn”" in shown and "Nightly" not in shown, shown

    post(admin_client, f"{JOBS}/schedules/{schedule.id}/delete", {})
    assert requested(admin_client, run.id).endswith("by schedule: Nightly quotes (since deleted)")
    assert history_by(admin_client, run.id) == "schedule: Nightly quotes (since deleted)"
    assert "by schedule: Nightly quotes (since deleted)" in cli(jobs_app, "show", str(run.id))


def test_a_renamed_schedules_run_says_its_new_name_in_the_status_json(admin_client, jobs_app):
    """The progress bar's JSON (``requested_by``) says the schedule's name now, as the pages do; the name it fired
    under with "(since deleted)" once it is gone."""
    schedule, fired = _fired_nightly(admin_client)
    status = f"/colcw/runs/{fired.run_id}/status.json"
    assert admin_client.get(status).get_json()["requested_by"] == "schedule: Nightly quotes"

    edit = f"{JOBS}/schedules/{schedule.id}/edit"
    post(admin_client, edit, {"schedule_name": "Quotes at dawn", "time": "05:00", "timezone": "UTC",
                              "frequency": "daily"}, page=edit)
    assert admin_client.get(status).get_json()["requested_by"] == "schedule: Quotes at dawn"
    post(admin_client, f"{JOBS}/schedules/{schedule.id}/delete", {})
    assert admin_client.get(status).get_json()["requested_by"] == "schedule: Nightly quotes (since deleted)"
