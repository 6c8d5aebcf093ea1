"""A run's status JSON says the percent its progress bar shows (SyncRun.percent, one definition): a run cancelled part
way said 100 % in the JSON (worked out from ``done``, which counts the records closed "not attempted") while its bar
showed how far it got; and a running run that reached its every record is not 100 % before it has closed."""

from __future__ import annotations

import pytest
from test_cancel_reporting import JOBS, _progress, _run
from test_jobs_list_cancel import _run as _left_as
from test_jobs_list_cancel import _set

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

STATUS = "/colcw/runs/{}/status.json"


def test_a_cancelled_runs_json_says_the_percent_its_bar_shows(admin_client, jobs_app):
    run = _run(n=20, select=True, cancel_at=8)
    assert run.status == "cancelled" and run.done == run.total == 20 and run.reached == 8

    _, count, bar = _progress(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True), run.id)
    data = admin_client.get(STATUS.format(run.id)).get_json()
    assert (count, bar) == ("8 / 20", 40)
    assert data["percent"] == bar == 40, data
    assert (data["reached"], data["total"], data["final"]) == (8, 20, True), data


def test_a_running_run_at_its_last_record_is_not_100_before_it_closes(admin_client, jobs_app):
    run_id = _left_as("running", total=5, done=5, counts={"created": 5})

    _, count, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    data = admin_client.get(STATUS.format(run_id)).get_json()
    assert count == "5 / 5" and data["percent"] == bar == 99, (data, bar)

    _set(run_id, status="succeeded")
    _, _, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    assert admin_client.get(STATUS.format(run_id)).get_json()["percent"] == bar == 100
