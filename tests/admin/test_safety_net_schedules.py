"""Deleting (or disabling) one of the live updates' safety-net schedules on the jobs page says what stops and how
to get it back; while Live updates are on and one is gone, the Connection page warns, and Restore (an admin's
POST with its CSRF token) makes it again."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, ConfigChange, Schedule
from colcw_plugin.setup.live_updates import LiveInput
from colcw_plugin.sync.inbound.switch import apply_live
from helpers import csrf_from, runtime
from host_stub.extensions import db

CONNECTION = "/admin/integration/connectwise/"
RESTORE = CONNECTION + "live-updates/safety-net"
WARNING = 'id="live-safety-net-missing"'


def _live_on() -> None:
    rt = runtime()
    apply_live(db.session, rt.box, rt.client, LiveInput(True, "https://quotes.example.com", HOST_MASTER), "tests",
               check=lambda url: "")


def _schedules() -> dict[str, Schedule]:
    db.session.expire_all()
    return {s.params["mode"]: s for s in db.session.execute(select(Schedule)).scalars()}


def _text(resp) -> str:
    return unescape(re.sub(r"\s+", " ", resp.get_data(as_text=True)))


def test_the_delete_confirmation_of_a_safety_net_schedule_says_what_stops_and_how_to_get_it_back(
        connected, admin_client):
    _live_on()
    page = _text(admin_client.get(CONNECTION + "jobs?tab=schedules"))
    confirms = dict(re.findall(r'<tr data-schedule="([^"]+)">.*?data-colcw-confirm="([^"]*)"', page))
    assert "missed callbacks are no longer caught" in confirms["ConnectWise safety net"]
    assert "deletions are no longer found" in confirms["ConnectWise deletion check"]
    assert all("Restore the safety net" in c and "Its past runs stay in the history." in c for c in confirms.values())

    changes = _schedules()["changes"]
    done = _text(admin_client.post(CONNECTION + f"jobs/schedules/{changes.id}/delete",
                                   data={"csrf_token": csrf_from(page)}, follow_redirects=True))
    assert "Schedule “ConnectWise safety net” deleted." in done and "missed callbacks are no longer caught" in done

    deletions = _schedules()["deletions"]
    done = _text(admin_client.post(CONNECTION + f"jobs/schedules/{deletions.id}/toggle",
                                   data={"csrf_token": csrf_from(page), "enabled": "0"}, follow_redirects=True))
    assert "Schedule “ConnectWise deletion check” disabled. Without it, deletions are no longer found" in done
    assert not _schedules()["deletions"].enabled


def test_the_connection_page_warns_while_live_updates_are_on_and_restore_makes_the_schedules_again(
        connected, admin_client):
    _live_on()
    assert WARNING not in admin_client.get(CONNECTION).get_data(as_text=True)
    schedules = _schedules()
    db.session.delete(schedules["changes"])  # as the jobs page's Delete does
    schedules["deletions"].enabled = False  # and its Disable
    db.session.commit()

    page = _text(admin_client.get(CONNECTION))
    assert WARNING in page, page
    warning = page[page.index(WARNING):page.index("</div>", page.index(WARNING))]
    assert "the schedule “ConnectWise safety net” is deleted, so missed callbacks are no longer caught" in warning
    assert "the schedule “ConnectWise deletion check” is disabled, so deletions are no longer found" in warning
    assert f'action="{RESTORE}"' in warning and 'name="csrf_token"' in warning

    assert admin_client.post(RESTORE, data={}).status_code == 400  # no CSRF token: refused
    assert "changes" not in _schedules()

    done = _text(admin_client.post(RESTORE, data={"csrf_token": csrf_from(page)}, follow_redirects=True))
    assert "Safety net restored" in done and WARNING not in done
    restored = _schedules()
    assert restored["changes"].enabled and restored["changes"].name == "ConnectWise safety net"
    assert restored["deletions"].enabled and restored["deletions"].id == schedules["deletions"].id
    (change,) = db.session.execute(select(ConfigChange).where(ConfigChange.summary.like("Restored%"))).scalars()
    assert change.summary == ("Restored the safety net: made ConnectWise safety net; enabled ConnectWise deletion "
                              "check") and "admin@demo.example" in change.actor


def test_no_warning_while_live_updates_are_off(connected, admin_client):
    page = admin_client.get(CONNECTION).get_data(as_text=True)
    assert WARNING not in page and not _schedules()


def test_only_an_admin_restores_it(connected, rep_client):
    _live_on()
    db.session.delete(_schedules()["changes"])
    db.session.commit()
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    assert rep_client.post(RESTORE, data={"csrf_token": token}).status_code == 403
    assert "changes" not in _schedules()
