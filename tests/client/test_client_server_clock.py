"""The client reads ConnectWise's clock off its answers (colcw_plugin/cw/server_clock.py), against the sandbox over
real HTTP, whose ``clock_offset_seconds`` sets its records' stamps and its answers' Date alike."""

from __future__ import annotations

import datetime as dt

from test_client_sandbox import make_cw  # noqa: F401 - the fixture


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def test_a_connectwise_ten_minutes_behind_is_measured_from_its_answers(cw_sandbox, make_cw):  # noqa: F811
    cw_sandbox.set_options(clock_offset_seconds=-600)
    client = make_cw()
    made = client.companies.create({"identifier": "Clock", "name": "Clock Co",
                                    "addressLine1": "1 Main St", "city": "Austin", "state": "TX"})
    ahead = client.server_clock.ahead()
    assert -602.0 < ahead <= -600.0, ahead
    # What it converts agrees with what ConnectWise stamped: the record made now carries a time ten minutes back.
    ours = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamped = _stamp(made["_info"]["lastUpdated"])
    assert abs((client.server_clock.cw_time(ours) - stamped).total_seconds()) < 3
    assert (ours - stamped).total_seconds() > 590


def test_a_connectwise_on_time_leaves_colcws_times_as_they_are(cw_sandbox, make_cw):  # noqa: F811
    client = make_cw()
    client.companies.count()
    assert client.server_clock.bounds is not None  # measured
    assert client.server_clock.ahead() == 0.0
    ours = dt.datetime(2026, 12, 7, 12, 0)
    assert client.server_clock.cw_time(ours) == ours


def test_a_reset_sets_the_sandbox_clock_back(cw_sandbox, make_cw):  # noqa: F811
    cw_sandbox.set_options(clock_offset_seconds=3600)
    cw_sandbox.reset("empty")
    client = make_cw()
    client.companies.count()
    assert client.server_clock.ahead() == 0.0


def _clock_step(report):
    (step,) = [s for s in report.steps if s.name == "Compare clocks"]
    return step


def test_test_connection_says_how_far_connectwises_clock_is_and_still_connects(cw_sandbox, make_cw):  # noqa: F811
    from colcw_plugin.cw import check_connection

    assert _clock_step(check_connection(make_cw())).detail == \
        "ConnectWise's clock and this server's agree to within a second."
    cw_sandbox.set_options(clock_offset_seconds=-600.5)
    report = check_connection(make_cw())
    assert report.ok, [s.detail for s in report.failed_steps]
    step = _clock_step(report)
    assert step.ok and step.detail.startswith("ConnectWise's clock is 10 min behind this server's."), step.detail
    assert "set it from a time server (NTP)" in step.detail
    cw_sandbox.set_options(clock_offset_seconds=8.5)
    step = _clock_step(check_connection(make_cw()))
    assert step.detail in ("ConnectWise's clock is 8 s ahead of this server's.",
                           "ConnectWise's clock is 9 s ahead of this server's."), step.detail  # (whole seconds)
