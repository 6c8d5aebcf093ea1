"""The ConnectWise admin pages show their times in the reader's zone ("Show times in"), each with its abbreviation,
as the jobs pages do: on the Connection page live updates' callbacks (when last checked), the last change received,
the safety net's next runs and its last complete pass, and the recent configuration changes; the synced items'
times; on Map customers the scan's and the last full import's times. The command line keeps UTC, saying so."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from colcw_plugin.models import (
    CallbackRegistration,
    CompanyScan,
    ConfigChange,
    InboundHint,
    RequiredField,
    Schedule,
    SyncItem,
    SyncRun,
)
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.setup.preflight import run_preflight
from colcw_plugin.sync.inbound.switch import ensure_schedules
from helpers import browser_sign_in, csrf_from
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.postgres]

URL = "/admin/integration/connectwise/"
AT = dt.datetime(2026, 7, 1, 18, 0, 5)  # naive UTC, as stored: 14:00:05 in New York (EDT)
NEXT = dt.datetime(2026, 7, 1, 18, 15)  # 14:15 EDT
PASS = dt.datetime(2026, 7, 1, 17, 45)  # 13:45 EDT


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'<section class="card" id="{section_id}".*?</section>', page, re.S)
    assert found, page
    return _text(found.group(0))


def _world() -> dict:
    """Live updates with a callback checked at AT, a change received at AT, the safety net next due at NEXT and
    its last complete pass started at PASS; a configuration change at AT; a scan of ConnectWise's companies at AT
    and a full import finished at AT; a customer exported an hour ago."""
    get_live(db.session).changes_watermark = PASS
    schedules = ensure_schedules(db.session, "admin@demo.example", enabled=True)
    db.session.flush()
    db.session.execute(update(Schedule).where(Schedule.id.in_([s.id for s in schedules])).values(next_run_at=NEXT))
    db.session.add_all([
        CallbackRegistration(cw_id=31, type="company", url_shown="https://quotes.example.com/…", checked_at=AT),
        InboundHint(entity="company", cw_id=250, action="updated", member="jsmith", first_at=AT, last_at=AT,
                    pending=False),
        ConfigChange(at=AT, actor="Alex Admin", area="options", summary="Changed the options."),
        CompanyScan(cw_id=250, identifier="ZONE1", name="Zone Bikes", scanned_at=AT),
        SyncRun(kind="customer_import", params={"mode": "all"}, status="succeeded", created_at=AT, started_at=AT,
                finished_at=AT, total=1)])
    exported = utcnow().replace(microsecond=0) - dt.timedelta(hours=1)
    run = SyncRun(kind="customer_export", status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, at=exported, entity="customer", direction="export", label="Zone Bikes",
                            cw_id=250, action="updated", message="Updated company ZONE1."))
    db.session.commit()
    return {"exported": exported}


def _choose(client, zone: str) -> None:
    token = csrf_from(client.get("/colcw/time-zone").get_data(as_text=True))
    client.post("/colcw/time-zone", data={"zone": zone, "next": URL, "csrf_token": token})


def _shown(at: dt.datetime, zone: str, fmt: str) -> str:
    return at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).strftime(fmt)


def test_the_admin_pages_show_their_times_in_the_readers_zone(admin_client):
    w = _world()
    page = admin_client.get(URL).get_data(as_text=True)
    live = _section(page, "live-updates")
    assert "active, checked 2026-07-01 18:00 UTC" in live, live  # never chosen: UTC, said so

    _choose(admin_client, "America/New_York")
    page = admin_client.get(URL).get_data(as_text=True)
    live, changes = _section(page, "live-updates"), _section(page, "changes")
    assert "active, checked 2026-07-01 14:00 EDT" in live, live
    assert "Last change received: company 250 updated, 2026-07-01 14:00:05 EDT by jsmith." in live
    assert ("Safety net: ConnectWise safety net (next 2026-07-01 14:15 EDT), ConnectWise deletion check "
            "(next 2026-07-01 14:15 EDT).") in live
    assert "Last complete pass started 2026-07-01 13:45 EDT by ConnectWise's clock." in live
    assert "When Who Area What 2026-07-01 14:00 EDT Alex Admin options Changed the options." in changes, changes
    assert "UTC" not in live + changes
    assert "Times are shown in America/New_York. Change the time zone" in live

    synced = _text(admin_client.get(URL + "synced/customer").get_data(as_text=True))
    exported = _shown(w["exported"], "America/New_York", "%Y-%m-%d %H:%M:%S %Z")
    assert f"Time Direction Record ConnectWise # Result Message {exported} ChannelOnline → ConnectWise" in synced, \
        synced
    assert "Times are shown in America/New_York." in synced and "UTC" not in synced

    mapping = admin_client.get(URL + "customers/map").get_data(as_text=True)
    scan = _text(re.search(r'<p class="hint" id="scan-info">.*?</p>', mapping, re.S).group(0))
    assert scan.startswith("From the scan of 2026-07-01 14:00 EDT."), scan
    assert "Times are shown in America/New_York." in _text(mapping) and "UTC" not in _text(mapping)
    db.session.execute(update(CompanyScan).values(scanned_at=AT - dt.timedelta(days=1)))
    db.session.commit()
    scan = _text(re.search(r'<p class="hint" id="scan-info">.*?</p>', admin_client.get(
        URL + "customers/map").get_data(as_text=True), re.S).group(0))
    assert re.search(r"The import of all companies \( ?run #\d+ ?, finished 2026-07-01 14:00 EDT\) ran after", scan), \
        scan


def test_the_preflight_check_says_when_connectwise_refused_a_new_opportunity_in_the_readers_zone(admin_client):
    db.session.add(RequiredField(field="type", opportunity_name="Zone deal", document_number="Q-7", refused_at=AT))
    db.session.commit()
    said = "ConnectWise refused a new opportunity for Q-7 on {}: it requires an opportunity type"
    check = next(c for c in run_preflight(db.session, None, "not configured").checks if c.area == "New opportunities")
    assert said.format("2026-07-01 18:00 UTC") in check.summary, check.summary  # what the command line prints

    _choose(admin_client, "America/New_York")
    page = admin_client.get(URL + "preflight").get_data(as_text=True)
    section = _text(re.search(r'<section class="card" data-area="New opportunities".*?</section>', page, re.S)[0])
    assert said.format("2026-07-01 14:00 EDT") in section, section


def test_the_command_line_says_the_callbacks_checks_in_utc(app):
    _world()
    result = CliRunner().invoke(app.cli, ["colcw", "live-updates"], catch_exceptions=False)
    assert "active, checked 2026-07-01 18:00 UTC" in result.output, result.output


@pytest.mark.browser
def test_an_admin_changes_the_zone_from_the_connection_page_and_reads_its_times_in_it(live_server, page):
    _world()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{URL}")
    assert "Last complete pass started 2026-07-01 17:45 UTC by ConnectWise's clock." in page.locator("#live-safety-net").inner_text()
    page.click("#live-zone-note a")
    page.fill("#zone-form input[name=zone]", "America/Chicago")
    page.click("#zone-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{URL}")
    assert "Last complete pass started 2026-07-01 12:45 CDT by ConnectWise's clock." in page.locator("#live-safety-net").inner_text()
    assert "company 250 updated, 2026-07-01 13:00:05 CDT by jsmith" in page.locator("#live-last").inner_text()
    assert "checked 2026-07-01 13:00 CDT" in page.locator("#live-callbacks").inner_text()
    assert page.locator("#changes td").first.inner_text() == "2026-07-01 13:00 CDT"
