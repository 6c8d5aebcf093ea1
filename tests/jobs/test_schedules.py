"""Next-run computation: daily / weekly / monthly, in IANA zones, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt

import pytest

from colcw_plugin.errors import FieldErrors
from colcw_plugin.sync.jobs.schedules import Timing, in_zone, next_run_after, parse_timing

NY = "America/New_York"


def daily(at: str, zone: str = NY) -> Timing:
    return parse_timing({"frequency": "daily", "time": at, "timezone": zone})


def local(value: dt.datetime, zone: str = NY) -> str:
    return in_zone(value, zone).strftime("%Y-%m-%d %H:%M %Z")


def runs(timing: Timing, start: dt.datetime, n: int) -> list[dt.datetime]:
    out, t = [], start
    for _ in range(n):
        t = next_run_after(timing, t)
        out.append(t)
    return out


def test_daily_0230_new_york_on_spring_forward_runs_once_at_0330_daylight_time():
    # 2025-03-09: clocks jump from 02:00 EST to 03:00 EDT, so 02:30 does not exist that day.
    got = runs(daily("02:30"), dt.datetime(2025, 3, 8, 0, 0), 3)
    assert [local(t) for t in got] == ["2025-03-08 02:30 EST", "2025-03-09 03:30 EDT", "2025-03-10 02:30 EDT"]
    assert got[1] == dt.datetime(2025, 3, 9, 7, 30)  # UTC


def test_daily_0230_new_york_on_fall_back_runs_once_at_0230_standard_time():
    # 2025-11-02: 01:00-02:00 happens twice; 02:30 happens once (EST).
    got = runs(daily("02:30"), dt.datetime(2025, 11, 1, 0, 0), 3)
    assert [local(t) for t in got] == ["2025-11-01 02:30 EDT", "2025-11-02 02:30 EST", "2025-11-03 02:30 EST"]
    assert got[1] - got[0] == dt.timedelta(hours=25)


def test_a_time_that_happens_twice_runs_only_at_its_first_occurrence():
    got = runs(daily("01:30"), dt.datetime(2025, 11, 1, 12, 0), 2)
    assert [local(t) for t in got] == ["2025-11-02 01:30 EDT", "2025-11-03 01:30 EST"]
    assert got[0] == dt.datetime(2025, 11, 2, 5, 30)  # the EDT 01:30; the EST one an hour later is skipped


def test_weekly_runs_on_its_weekday_in_its_zone():
    timing = parse_timing({"frequency": "weekly", "time": "23:15", "timezone": "Asia/Tokyo", "weekday": "0"})
    got = runs(timing, dt.datetime(2025, 1, 1), 2)  # 2025-01-01 is a Wednesday
    assert [local(t, "Asia/Tokyo") for t in got] == ["2025-01-06 23:15 JST", "2025-01-13 23:15 JST"]
    assert got[0] == dt.datetime(2025, 1, 6, 14, 15)  # still Monday in UTC


def test_monthly_on_day_31_falls_back_to_the_last_day_of_shorter_months():
    timing = parse_timing({"frequency": "monthly", "time": "06:00", "timezone": "Europe/London", "day_of_month": "31"})
    got = runs(timing, dt.datetime(2024, 1, 1), 5)
    assert [in_zone(t, "Europe/London").date().isoformat() for t in got] == [
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]
    assert local(got[2], "Europe/London") == "2024-03-31 06:00 BST"  # the day the UK changes to summer time


def test_next_run_is_strictly_after_the_given_instant():
    timing = daily("02:30", "UTC")
    assert next_run_after(timing, dt.datetime(2025, 5, 1, 2, 30)) == dt.datetime(2025, 5, 2, 2, 30)
    assert next_run_after(timing, dt.datetime(2025, 5, 1, 2, 29, 59)) == dt.datetime(2025, 5, 1, 2, 30)


@pytest.mark.parametrize("form, field", [
    ({"frequency": "hourly", "time": "02:30", "timezone": NY}, "frequency"),
    ({"frequency": "daily", "time": "25:00", "timezone": NY}, "time"),
    ({"frequency": "daily", "time": "2:30pm", "timezone": NY}, "time"),
    ({"frequency": "daily", "time": "02:30", "timezone": "Eastern"}, "timezone"),
    ({"frequency": "daily", "time": "02:30", "timezone": "../../etc/passwd"}, "timezone"),
    ({"frequency": "weekly", "time": "02:30", "timezone": NY, "weekday": "7"}, "weekday"),
    ({"frequency": "monthly", "time": "02:30", "timezone": NY, "day_of_month": "0"}, "day_of_month"),
])
def test_invalid_schedule_input_names_the_field_and_what_to_do(form, field):
    with pytest.raises(FieldErrors) as e:
        parse_timing(form)
    assert set(e.value.errors) == {field}
    assert e.value.errors[field].endswith((".", ")"))
