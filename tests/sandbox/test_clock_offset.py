"""The sandbox's clock_offset_seconds option: a ConnectWise whose clock is not its client's. Its records' stamps
and its answers' Date header move together; a reset sets the clock back; a value that is not a number of seconds
within a day is refused, saying what it takes."""

from __future__ import annotations

import datetime as dt
import email.utils

import requests


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def test_records_and_the_date_header_follow_the_tenants_clock(cw_sandbox):
    assert cw_sandbox.set_options(clock_offset_seconds=-3600)["clock_offset_seconds"] == -3600
    now = dt.datetime.now(dt.UTC)
    made = cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Clockmaker"})
    assert made.status_code == 201, made.text
    date = email.utils.parsedate_to_datetime(made.headers["Date"])
    stamp = _stamp(made.json()["_info"]["lastUpdated"])
    assert abs((now - date).total_seconds() - 3600) < 3 and abs((now - stamp).total_seconds() - 3600) < 3
    assert abs((stamp - date).total_seconds()) <= 1
    assert made.raw.headers.getlist("Date") == [made.headers["Date"]]  # one Date, not the machine's besides
    # generate() stamps by it too: records an hour old by the tenant's clock are two hours old by the machine's.
    cw_sandbox.generate(1, 0, age_minutes=60)
    company = cw_sandbox.api("GET", "company/companies").json()[0]
    assert abs((now - _stamp(company["_info"]["lastUpdated"])).total_seconds() - 7200) < 5

    cw_sandbox.reset("empty")
    answer = cw_sandbox.api("GET", "company/companies")
    assert abs((email.utils.parsedate_to_datetime(answer.headers["Date"]) - dt.datetime.now(dt.UTC))
               .total_seconds()) < 3


def test_an_offset_that_is_not_seconds_within_a_day_is_refused(cw_sandbox):
    for value in ("ten", True, 86401, -90000, None):
        resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/options", json={"clock_offset_seconds": value},
                             timeout=10)
        assert resp.status_code == 400, (value, resp.text)
        assert "clock_offset_seconds is a number of seconds from -86400 to 86400" in resp.text
    assert cw_sandbox.set_options()["clock_offset_seconds"] == 0
