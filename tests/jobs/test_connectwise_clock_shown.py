"""colcw compares ConnectWise's stamps by ConnectWise's own clock, but its schedules fire, and its pages show times,
by its machines' clocks: when the two are a minute apart or more, one of them is wrong. A run keeps what its client
measured of ConnectWise's clock (its answers' Date) against Redis's, and the jobs page and ``colcw clocks`` say it
(ahead or behind, by how much, measured by which machine) until a run measures them within a minute of each other."""

from __future__ import annotations

import html
import json
import re
import socket

import pytest

from colcw_plugin.setup.connection import read_settings
from colcw_plugin.sync.jobs import clocks
from colcw_plugin.sync.jobs.clocks import ConnectWiseClock, Heard
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.runtime import Runtime
from helpers import make_test_app
from host_stub.extensions import db

JOBS = "/admin/integration/connectwise/jobs"
APART = 600  # seconds


def _warning(admin_client) -> str:
    page = html.unescape(admin_client.get(JOBS).get_data(as_text=True))
    found = re.search(r'<div class="flash warning" id="colcw-clock-skew" role="status">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def _run_in_a_new_process(app) -> None:
    """A run, as a new worker process runs it (a runtime of its own, which keeps its first run's measure)."""
    fresh = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"])
    with fresh.app_context():
        rt = Runtime.of(fresh)
        run_id = create_run(db.session, rt.kinds, "customer_import", {"mode": "all"}).id
        db.session.commit()
        done = rt.execute(db.session, run_id)
        assert done.status == "succeeded", done.message
        db.session.remove()


def _tenant() -> tuple[str, str]:
    settings = read_settings(db.session)
    return settings.site_url, settings.company_id


def _clocks_command(app):
    result = app.test_cli_runner().invoke(args=["colcw", "clocks"])
    line = next((x for x in result.stdout.splitlines() if x.startswith("ConnectWise ")), "")
    return result, line


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.sandbox
def test_a_connectwise_clock_ten_minutes_off_is_said_on_the_jobs_page_and_by_colcw_clocks_until_it_agrees(
        app, connected, redis_conn, admin_client):
    here = socket.gethostname()
    _run_in_a_new_process(app)  # the clocks agree: nothing said
    assert _warning(admin_client) == ""
    result, line = _clocks_command(app)
    assert result.exit_code == 0, (result.output, result.stderr)
    assert re.fullmatch(rf"ConnectWise +- +\d{{1,4}}\.\d ms (ahead of|behind) Redis's clock \(± \d+\.\d ms\), "
                        rf"measured \d s ago by {re.escape(here)}", line), line

    connected.set_options(clock_offset_seconds=APART)
    _run_in_a_new_process(app)
    kept = clocks.heard_from(redis_conn, _tenant()).connectwise
    assert kept is not None and APART - 2 < kept.low <= APART <= kept.high < APART + 2, kept
    said = _warning(admin_client)
    assert said.startswith(f"ConnectWise's clock is 10 min ahead of colcw's (measured by “{here}” "), said
    assert ("colcw compares the times ConnectWise stamps on its records by ConnectWise's own clock, so no import and no "
            "pass of the live updates misses a change for it; but schedules fire, and pages show times, by colcw's "
            "machines' clocks.") in said
    result, line = _clocks_command(app)
    assert result.exit_code == 1
    assert re.match(r"ConnectWise +- +(599|600)\d{3}\.\d ms ahead of Redis's clock", line), line
    assert "Warning: ConnectWise's clock is 10 min ahead of colcw's" in result.stderr

    connected.set_options(clock_offset_seconds=-APART)
    _run_in_a_new_process(app)
    assert _warning(admin_client).startswith("ConnectWise's clock is 10 min behind colcw's")

    connected.set_options(clock_offset_seconds=0)  # set right: the next run's measure clears it
    _run_in_a_new_process(app)
    assert _warning(admin_client) == ""
    assert _clocks_command(app)[0].exit_code == 0


def test_connectwise_within_a_minute_of_colcw_is_not_said():
    def said(low: float, high: float) -> list[str]:
        return clocks.said(Heard([], ConnectWiseClock(low, high, 1000.0, "w1"), 1005.0))

    assert said(58.4, 59.6) == []  # under a minute ahead
    assert said(59.5, 60.6) == []  # maybe under a minute: not said on a doubt
    assert said(60.2, 61.3)[0].startswith("ConnectWise's clock is 1 min ahead of colcw's (measured by “w1” 5.0 s ago")
    assert said(-95.0, -93.9)[0].startswith("ConnectWise's clock is 2 min behind colcw's")
    assert ConnectWiseClock(-0.4, 0.6, 0.0).apart() == 0.0


@pytest.mark.redis
@pytest.mark.postgres
def test_a_measure_of_connectwises_clock_a_day_old_is_no_longer_said(app, redis_conn, admin_client):
    tenant = _tenant()
    kept = clocks.record_connectwise(redis_conn, tenant, (600.0, 601.0), "w1")
    assert kept is not None and clocks.heard_from(redis_conn, tenant).connectwise == kept
    assert _warning(admin_client).startswith("ConnectWise's clock is 10 min ahead of colcw's (measured by “w1” ")
    assert clocks.heard_from(redis_conn, ("https://other.example", "other")).connectwise is None  # (its own)

    seconds, _ = redis_conn.time()
    redis_conn.set(clocks.connectwise_key(tenant), json.dumps({"low": 600.0, "high": 601.0, "machine": "w1",
                                                               "at": seconds - clocks.CW_FORGET_AFTER - 1}))
    assert clocks.heard_from(redis_conn, tenant).connectwise is None
    assert _warning(admin_client) == ""
    assert "ConnectWise" in _clocks_command(app)[1] and "not measured in the last day" in _clocks_command(app)[1]
