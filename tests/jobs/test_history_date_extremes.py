"""The job history's From and To at the calendar's edges: To 9999-12-31 (a date field's largest) and From 0001-01-01
east of UTC have no day after / no start Python can compute, and the page failed with a 500 (OverflowError). They are
refused as other dates it cannot use are: named, with what to do, the last 7 days shown instead. The day before the
edge still searches, and so does From 0001-01-01 where it can (UTC); `colcw runs list` refuses them by option."""

from __future__ import annotations

import html
import re

import pytest
from test_stop_request_zone import _show_times_in

from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
TO_FAR = ("To 9999-12-31 is past the last day the history can search: enter an earlier day, or leave To empty to "
          "search with no end; showing the last 7 days.")
FROM_FAR = ("From 0001-01-01 is before the first day the history can search: enter a later day, or leave From empty "
            "to search with no start; showing the last 7 days.")


def _a_run() -> int:
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor={"name": "tester"}).run
    runtime().queue.withdraw(run)
    run.status = "succeeded"
    db.session.commit()
    return run.id


def _history(client, **days) -> tuple[int, str, list[int], dict[str, str]]:
    """(status, the page's text, the runs listed, the date fields' values)."""
    resp = client.get(JOBS, query_string={"tab": "history", **days})
    page = html.unescape(resp.get_data(as_text=True))
    fields = dict(re.findall(r'<input type="date" name="(start|end)" value="([^"]*)"', page))
    return resp.status_code, page, [int(i) for i in re.findall(r'<tr [^>]*data-run="(\d+)"', page)], fields


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_to_9999_12_31_is_refused_with_what_to_do_not_a_500(admin_client, jobs_app, zone):
    run_id = _a_run()
    _show_times_in(admin_client, zone)
    for days in ({"end": "9999-12-31"}, {"start": "2026-01-01", "end": "9999-12-31"}):
        status, page, listed, fields = _history(admin_client, **days)
        assert status == 200, days
        assert TO_FAR in page
        assert listed == [run_id]  # the last 7 days instead
        assert fields.get("end") == ""  # the refused day is not kept in the field
    # The day before searches, to its end.
    status, page, listed, _ = _history(admin_client, end="9999-12-30")
    assert (status, listed) == (200, [run_id]) and "can search" not in page


def test_from_0001_01_01_is_refused_east_of_utc_and_searches_where_it_can(admin_client, jobs_app):
    run_id = _a_run()
    status, page, listed, fields = _history(admin_client, start="0001-01-01", end="9999-12-30")
    assert (status, listed, fields) == (200, [run_id], {"start": "0001-01-01", "end": "9999-12-30"})
    assert "can search" not in page

    _show_times_in(admin_client, "Asia/Tokyo")  # its first day starts before year 1 in UTC
    status, page, listed, fields = _history(admin_client, start="0001-01-01")
    assert status == 200 and FROM_FAR in page
    assert listed == [run_id] and fields.get("start") != "0001-01-01"
    status, page, listed, _ = _history(admin_client, start="0001-01-02")
    assert (status, listed) == (200, [run_id]) and "can search" not in page


def test_runs_list_refuses_them_naming_the_option(app, jobs_app):
    _a_run()

    def runs_list(*args):
        return app.test_cli_runner().invoke(args=["colcw", "runs", "list", *args], env={"LOGNAME": "deploy"})

    result = runs_list("--to", "9999-12-31")
    assert result.exit_code == 2, result.output
    assert ("--to: 9999-12-31 is past the last day the history can search: give an earlier day, or leave --to out "
            "for no end.") in result.output
    result = runs_list("--from", "0001-01-01", "--to", "9999-12-30")
    assert result.exit_code == 0, result.output
    assert "1 run requested from 0001-01-01 to 9999-12-30 (days in UTC)" in result.output
