"""A time zone's name typed in any case is that zone: "america/new_york" in "Show times in" (the jobs page, the
time-zone page a rep uses), in a schedule's Time zone (the page, its Edit page, the command line) is America/New_York,
saved as the tz database spells it. A name that is no zone is refused as before, now with the zones whose names are
close ("America/New York", "Amerika/Chicago", "Paris"); a legacy name in any case ("est") is refused as the legacy
name is, naming the city zone."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule, TimeZoneChoice
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ZONE_PAGE = "/colcw/time-zone"
NIGHTLY = {"job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1", "time": "02:30",
           "frequency": "daily"}


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _choice(email: str) -> str | None:
    db.session.expire_all()
    user = db.session.execute(select(User).where(User.email == email)).scalar_one()
    row = db.session.get(TimeZoneChoice, user.id)
    return row.zone if row is not None else None


def _show_times_in(client, zone: str, page: str = JOBS, action: str = f"{JOBS}/zone") -> str:
    token = csrf_from(client.get(page).get_data(as_text=True))
    resp = client.post(action, data={"zone": zone, "next": page, "csrf_token": token})
    return _text(client.get(resp.headers["Location"]).get_data(as_text=True))


def _schedules() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(s.name, s.timezone) for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()]


def test_show_times_in_takes_a_zone_in_any_case_and_saves_its_spelling(admin_client, jobs_app):
    page = _show_times_in(admin_client, "america/new_york")
    assert "Times on the ConnectWise pages and panels are now shown in America/New_York." in page
    assert "is not a time zone name" not in page
    assert _choice("admin@demo.example") == "America/New_York"
    assert "Dates are days in America/New_York" in _text(admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True))


def test_a_reps_time_zone_page_alike(rep_client, jobs_app):
    page = _show_times_in(rep_client, "  EUROPE/PARIS ", ZONE_PAGE, ZONE_PAGE)
    assert "now shown in Europe/Paris." in page
    assert _choice("riley@demo.example") == "Europe/Paris"
    _show_times_in(rep_client, "utc", ZONE_PAGE, ZONE_PAGE)
    assert _choice("riley@demo.example") == "UTC"


@pytest.mark.parametrize(("typed", "close"), [
    ("America/New York", "The closest name: America/New_York."),
    ("new york", "The closest name: America/New_York."),
    ("Amerika/Chicago", "The closest name: America/Chicago."),
    ("europe/pariss", "The closest name: Europe/Paris."),
])
def test_a_name_that_is_no_zone_is_refused_with_the_close_ones(admin_client, jobs_app, typed, close):
    _show_times_in(admin_client, "Asia/Tokyo")
    page = _show_times_in(admin_client, typed)
    assert f"'{typed}' is not a time zone name; choose one from the list (e.g. America/Chicago). {close}" in page
    assert _choice("admin@demo.example") == "Asia/Tokyo"  # unchanged


def test_nothing_close_is_refused_as_before_and_a_legacy_name_in_any_case_as_the_legacy_name(admin_client, jobs_app):
    page = _show_times_in(admin_client, "Mars/Olympus_Mons")
    assert "'Mars/Olympus_Mons' is not a time zone name; choose one from the list (e.g. America/Chicago)." in page
    assert "closest name" not in page
    page = _show_times_in(admin_client, "est")
    assert "EST has no daylight saving: choose America/New_York (Eastern Time) or another city zone." in page
    assert _choice("admin@demo.example") is None


def test_a_schedules_time_zone_in_any_case_is_saved_as_spelled_and_a_typo_gets_the_close_names(admin_client,
                                                                                                jobs_app, app):
    token = csrf_from(admin_client.get(JOBS).get_data(as_text=True))
    resp = admin_client.post(f"{JOBS}/run", data={**NIGHTLY, "schedule_name": "Nightly import",
                                                  "timezone": "america/new_york", "csrf_token": token})
    assert resp.status_code == 302
    assert _schedules() == [("Nightly import", "America/New_York")]
    page = _text(admin_client.get(resp.headers["Location"]).get_data(as_text=True))
    assert "Scheduled “Nightly import”: Daily at 02:30 (America/New_York)" in page

    [s] = db.session.execute(select(Schedule)).scalars().all()
    edit = f"{JOBS}/schedules/{s.id}/edit"
    token = csrf_from(admin_client.get(edit).get_data(as_text=True))
    refused = admin_client.post(edit, data={"schedule_name": "Nightly import", "time": "02:30", "frequency": "daily",
                                            "timezone": "Amerika/Chicago", "csrf_token": token})
    assert refused.status_code == 400
    assert ("Choose a time zone from the list (an IANA name such as America/New_York). The closest name: America/Chicago."
            in _text(refused.get_data(as_text=True)))
    saved = admin_client.post(edit, data={"schedule_name": "Nightly import", "time": "02:30", "frequency": "daily",
                                          "timezone": "AMERICA/CHICAGO", "csrf_token": token})
    assert saved.status_code == 302
    assert _schedules() == [("Nightly import", "America/Chicago")]

    added = app.test_cli_runner().invoke(args=["colcw", "schedules", "add", "--name", "Paris quotes", "--job",
                                               "quote_export", "--all", "--frequency", "daily", "--time", "05:00",
                                               "--timezone", "europe/paris"], env={"LOGNAME": "deploy"})
    assert added.exit_code == 0, added.output
    assert _schedules()[-1] == ("Paris quotes", "Europe/Paris")
