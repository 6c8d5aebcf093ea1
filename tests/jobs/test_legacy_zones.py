"""Schedules and people choose region zones (America/New_York…) or UTC only: the legacy names without a region (EST,
MST, HST, EST5EDT, CST6CDT…) and the fixed offsets (Etc/GMT+5) are neither offered nor accepted — several keep one
offset all year, so "EST" meant for New York runs an hour off in summer — and the refusal names the city zone to
choose. A schedule or a person's choice saved with one before keeps working, and the pages say to change it."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select, update

from colcw_plugin.models import Schedule, TimeZoneChoice
from colcw_plugin.sync.jobs import scheduler
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ZONE_PAGE = "/colcw/time-zone"
NIGHTLY = {"job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1",
           "schedule_name": "Nightly import", "time": "02:30", "frequency": "daily"}
EST_REFUSED = "EST has no daylight saving: choose America/New_York (Eastern Time) or another city zone."


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def offered(page: str) -> set[str]:
    return set(re.findall(r'<option value="([^"]+)">', page.split('<datalist id="colcw-zones">')[1].split("</datalist>")[0]))


def test_the_forms_offer_region_zones_and_utc_only(admin_client, jobs_app):
    for page in (text(admin_client.get(JOBS)), text(admin_client.get(ZONE_PAGE))):
        zones = offered(page)
        assert {"UTC", "America/New_York", "America/Phoenix", "Pacific/Honolulu", "Europe/Paris"} <= zones
        assert not zones & {"EST", "MST", "HST", "EST5EDT", "CST6CDT", "PST8PDT", "CET", "GMT", "Etc/GMT+5",
                            "Etc/UTC", "localtime"}


@pytest.mark.parametrize(("zone", "said"), [
    ("EST", EST_REFUSED),
    ("MST", "MST has no daylight saving: choose America/Denver (Mountain Time), America/Phoenix (Arizona, which "
            "keeps standard time) or another city zone."),
    ("EST5EDT", "EST5EDT is a legacy zone name, not a city's: choose America/New_York (Eastern Time) or another city "
                "zone."),
    ("Etc/GMT+5", "Etc/GMT+5 is a fixed offset with no daylight saving: choose the city zone of the place you mean "
                  "(e.g. America/New_York), or UTC."),
])
def test_a_schedule_in_a_legacy_zone_is_refused_naming_the_city_zone(admin_client, jobs_app, zone, said):
    resp = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "timezone": zone})
    assert resp.status_code == 400
    assert said in text(resp).split('id="error-timezone"')[1].split("</p>")[0]  # beside the zone's field
    assert db.session.execute(select(Schedule)).scalars().all() == []
    # America/New_York is taken.
    assert post(admin_client, f"{JOBS}/run", {**NIGHTLY, "timezone": "America/New_York"}).status_code == 302


def test_a_schedule_saved_in_est_keeps_running_says_to_change_it_and_its_edit_asks_for_a_city(admin_client, jobs_app):
    start = dt.datetime(2026, 7, 1, 12, 0)
    schedule = create_schedule(db.session, name="Old nightly", kind="test_count", params={"n": 1},
                               timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}),
                               actor="t", now=start)
    db.session.execute(update(Schedule).where(Schedule.id == schedule.id).values(
        timezone="EST", next_run_at=dt.datetime(2026, 7, 2, 7, 30)))  # as saved before: 02:30 EST is 07:30 UTC
    db.session.commit()
    fired = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=dt.datetime(2026, 7, 2, 7, 30, 5))
    assert [f.schedule_id for f in fired if f.run_id] == [schedule.id]
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).next_run_at == dt.datetime(2026, 7, 3, 7, 30)  # EST, all year

    listed = text(admin_client.get(f"{JOBS}?tab=schedules"))
    row = listed.split('data-schedule="Old nightly"')[1].split("</tr>")[0]
    assert f"Change its time zone (Edit): {EST_REFUSED} It runs by EST until then." in row
    edit = f"{JOBS}/schedules/{schedule.id}/edit"
    page = text(admin_client.get(edit))
    assert ("Its time zone EST was saved before such zones were refused, and it runs by it until you change it: "
            f"{EST_REFUSED}") in page
    resp = post(admin_client, edit, {"schedule_name": "Old nightly", "time": "02:30", "timezone": "EST",
                                     "frequency": "daily"}, page=edit)
    assert resp.status_code == 400 and EST_REFUSED in text(resp)
    resp = post(admin_client, edit, {"schedule_name": "Old nightly", "time": "02:30", "timezone": "America/New_York",
                                     "frequency": "daily"}, page=edit)
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).timezone == "America/New_York"
    assert "Change its time zone" not in text(admin_client.get(f"{JOBS}?tab=schedules"))


def test_a_person_may_not_choose_est_and_one_who_had_keeps_it_with_a_note(admin_client, jobs_app):
    resp = post(admin_client, f"{JOBS}/zone", {"zone": "EST", "next": JOBS})
    page = text(admin_client.get(resp.headers["Location"]))
    assert f"Your time zone was not changed (times are still shown in UTC): {EST_REFUSED}" in page
    assert db.session.execute(select(TimeZoneChoice)).scalars().all() == []

    admin = db.session.execute(select(User).where(User.email == "admin@demo.example")).scalar_one()
    db.session.add(TimeZoneChoice(user_id=admin.id, zone="EST"))  # chosen before such zones were refused
    db.session.commit()
    admin_client.post("/logout", data={"csrf_token": csrf_from(admin_client.get(JOBS).get_data(as_text=True))})
    sign_in(admin_client, "admin@demo.example")
    note = f"Times are shown in EST, your choice. {EST_REFUSED}"
    assert note in text(admin_client.get(JOBS)).split('id="colcw-zone-note">')[1]
    assert note in text(admin_client.get(ZONE_PAGE)).split('id="colcw-zone-note">')[1]
    assert 'value="EST"' in text(admin_client.get(ZONE_PAGE))  # still the zone shown
