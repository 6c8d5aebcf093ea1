"""When an admin asked a running run to stop is shown in the zone the page shows its other times in (the admin's
display zone, "Show times in" on the jobs page): on the run's page and the fresh copies of its progress bar, and on
its row of the job history and the history's poll; UTC where no zone was chosen, and on the command line."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import update
from test_jobs_list_cancel import _row

from colcw_plugin.models import SyncRun, stop_requested_by
from colcw_plugin.sync.jobs import recovery
from helpers import browser_sign_in, csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
OPS = {"id": None, "email": "ops@demo.example", "role": "admin"}
REQUESTED = dt.datetime(2026, 7, 1, 18, 0, 0)  # naive UTC, as stored: 14:00 in New York (EDT)
ASKED = dt.datetime(2026, 7, 1, 18, 30, 5)  # 14:30:05 EDT
IN_NEW_YORK = ("Cancel requested by ops@demo.example at 2026-07-01 14:30:05 EDT: the run ends as cancelled once the "
               "record it is working on is saved")
IN_UTC = "Cancel requested by ops@demo.example at 2026-07-01 18:30:05 UTC: the run ends as cancelled once"


def _stopping_run() -> int:
    """A running run ops@ asked to stop at ASKED."""
    run = runtime().submit(db.session, "test_count", {"n": 5}, actor=OPS).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", created_at=REQUESTED, started_at=REQUESTED, heartbeat_at=REQUESTED, attempts=1, total=5,
        done=2))
    db.session.commit()
    assert recovery.cancel(db.session, runtime().queue, run.id, actor=OPS).status == "cancelling"
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(stop_requested_at=ASKED))
    db.session.commit()
    return run.id


def _show_times_in(client, zone: str) -> None:
    token = csrf_from(client.get(JOBS).get_data(as_text=True))
    client.post(f"{JOBS}/zone", data={"zone": zone, "csrf_token": token, "next": JOBS})


def _stopping(page: str) -> str:
    return html.unescape(re.search(r'id="run-stopping"[^>]*>([^<]*)<', page).group(1))


def _progress_poll(page: str) -> str:
    return html.unescape(re.search(r'class="colcw-progress"[^>]*hx-get="([^"]*)"', page).group(1))


def test_the_stop_request_is_shown_in_the_pages_zone(admin_client, jobs_app):
    run_id = _stopping_run()
    _show_times_in(admin_client, "America/New_York")

    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "<dt>Requested</dt><dd>2026-07-01 14:00:00 EDT by ops@demo.example" in page  # the page's other times
    assert _stopping(page).startswith(f"Stopping… {IN_NEW_YORK}"), _stopping(page)
    # The progress bar's fresh copies (from colcw's own path, where the zone's cookie is not sent) keep the zone.
    fresh = admin_client.get(_progress_poll(page)).get_data(as_text=True)
    assert _stopping(fresh).startswith(f"Stopping… {IN_NEW_YORK}"), _stopping(fresh)
    assert _stopping(admin_client.get(_progress_poll(fresh)).get_data(as_text=True)).startswith(
        f"Stopping… {IN_NEW_YORK}")

    history = admin_client.get(f"{JOBS}?tab=history&start=2026-07-01").get_data(as_text=True)
    row = _row(history, run_id)
    assert "2026-07-01 14:00 EDT" in row and f'title="{IN_NEW_YORK}' in row, row
    poll = html.unescape(re.search(r'<div id="history-poll"[^>]*hx-get="([^"]*)"', history).group(1))
    assert f'title="{IN_NEW_YORK}' in _row(admin_client.get(poll).get_data(as_text=True), run_id)

    _show_times_in(admin_client, "UTC")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "<dt>Requested</dt><dd>2026-07-01 18:00:00 UTC" in page and _stopping(page).startswith(f"Stopping… {IN_UTC}")
    assert _stopping(admin_client.get(_progress_poll(page)).get_data(as_text=True)).startswith(f"Stopping… {IN_UTC}")


def test_a_request_recorded_before_its_time_had_a_column_keeps_the_time_its_message_says(admin_client, jobs_app):
    run_id = _stopping_run()
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        stop_requested_at=None, message="Cancel requested by ops@demo.example at 2026-07-01 18:30:05 UTC: the run "
                                        "stops as soon as the record it is working on is saved."))
    db.session.commit()
    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _stopping(page).startswith(f"Stopping… {IN_UTC}")
    # Its worker still names who asked when it closes the run.
    db.session.expire_all()
    assert stop_requested_by(db.session.get(SyncRun, run_id).message) == "ops@demo.example"


@pytest.mark.browser
def test_a_run_pages_stop_request_stays_in_its_zone_as_the_bar_follows_the_run(live_server, page, jobs_app):
    run_id = _stopping_run()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}")
    page.fill("#zone-form input[name=zone]", "America/New_York")
    page.click("#zone-form button[type=submit]")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    assert page.locator("#run-stopping").inner_text().startswith(f"Stopping… {IN_NEW_YORK}")
    with page.expect_response(lambda r: f"/colcw/runs/{run_id}/progress" in r.url):  # the bar's next copy
        pass
    page.wait_for_timeout(300)
    assert page.locator("#run-stopping").inner_text().startswith(f"Stopping… {IN_NEW_YORK}")
