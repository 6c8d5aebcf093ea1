"""A run's status JSON says the percent its progress bar shows (SyncRun.percent, one definition): a run cancelled part
way said 100 % in the JSON (worked out from ``done``, which counts the records closed "not attempted") while its bar
showed how far it got; and a running run that reached its every record is "Finishing" at 100 % until it closes."""

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


def test_a_running_run_whose_every_record_is_done_is_finishing_at_100_until_it_closes(admin_client, jobs_app):
    """It stopped at 99 % ("Running — 5 / 5 (99 %)") until it closed: every record done reads as "Finishing", full, on
    the run's page, the fresh copies its bar polls, and the status JSON."""
    run_id = _left_as("running", total=5, done=4, counts={"created": 4})
    text, count, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    assert (text, count, bar) == ("Running — 4 / 5 (80 %)", "4 / 5", 80)

    _set(run_id, done=5, counts={"created": 5})
    text, count, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    assert (text, count, bar) == ("Finishing — 5 / 5 (100 %)", "5 / 5", 100)
    polled = admin_client.get(f"/colcw/runs/{run_id}/progress?details=1").get_data(as_text=True)
    assert _progress(polled, run_id) == (text, count, bar)
    assert 'data-final="false"' in polled and "hx-get=" in polled  # still polled: it has not closed
    data = admin_client.get(STATUS.format(run_id)).get_json()
    assert (data["status"], data["final"], data["finishing"], data["percent"]) == ("running", False, True, 100), data

    # A stopping run at its last record is not finishing: it says "Stopping" until it closes, below 100.
    _set(run_id, status="cancelling")
    text, _, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    assert text.startswith("Stopping — 5 / 5 (99 %)") and bar == 99, text
    assert admin_client.get(STATUS.format(run_id)).get_json()["finishing"] is False

    _set(run_id, status="succeeded")
    text, _, bar = _progress(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True), run_id)
    data = admin_client.get(STATUS.format(run_id)).get_json()
    assert text.startswith("Succeeded — 5 / 5") and data["percent"] == bar == 100 and data["finishing"] is False
