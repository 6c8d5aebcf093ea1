"""An admin starts "Export all quotes" and watches its page while it runs (QA of the run page): the "Run #N queued: …"
flash goes once the run has moved on, without a reload; while it runs the page says it is at work on records (not
"none yet" until the first one ends) and shows the run's current message; its times (started, each record of its
log) are to the second, in the admin's time zone, as the command line's are. In the job history a long message is
cut at a word's end with "…", its whole text the cell's title (and on the run's page)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncItem, SyncRun, TimeZoneChoice
from helpers import browser_sign_in, runtime
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
STARTED = dt.datetime(2026, 12, 6, 16, 49, 7)  # naive UTC: 11:49:07 in New York (EST)


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def _new_york(email: str) -> None:
    """The admin chose to see times in New York (their Show times in, read at sign-in)."""
    user = db.session.query(User).filter_by(email=email).one()
    db.session.add(TimeZoneChoice(user_id=user.id, zone="America/New_York"))
    db.session.commit()


def test_a_run_page_follows_the_run_from_its_queued_flash_to_its_records_to_the_second(jobs_app, live_server, page):
    _new_york("admin@demo.example")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}?tab=run")
    form = page.locator("#quote-job form")
    form.locator("input[name=quote_scope][value=all]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/jobs/runs/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    flash = page.locator(".flash.success")
    assert flash.inner_text().startswith(f"Run #{run_id} queued: ")  # no worker: it stays queued
    assert page.locator(".colcw-progress-status").inner_text() == "Queued"
    page.wait_for_timeout(1_500)  # polls of the still-queued run: the flash is current, it stays
    assert flash.count() == 1
    page.evaluate("window.__sameDocument = true")

    # A worker takes it (the test plays the worker): running, its first records under way, none finished yet.
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))
    _set(run_id, status="running", started_at=STARTED, heartbeat_at=dt.datetime.utcnow(), attempts=1, total=40,
         api_requests=12, message="Started late: it was due 2026-12-06 16:45 UTC (no scheduler was running then).")
    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'running'", timeout=5_000)
    page.wait_for_function("document.querySelectorAll('.flash.success').length === 0", timeout=3_000)
    assert page.evaluate("window.__sameDocument") is True  # gone without a reload
    page.wait_for_function("document.querySelector('#run-records').textContent.includes('working')", timeout=5_000)
    assert page.locator("#run-records").inner_text() == "none finished yet — working on the first of 40"
    assert page.locator("#run-requests").inner_text() == "12"
    # Its message while it runs, whole, its time in the admin's zone.
    assert page.locator(".colcw-progress-message").inner_text() == \
        "Started late: it was due 2026-12-06 11:45 EST (no scheduler was running then)."
    # Its start to the second, in New York time (the details fetch themselves again on the status change).
    page.wait_for_function("document.querySelector('#run-details').textContent.includes('11:49')", timeout=5_000)
    assert page.locator("#run-details").inner_text().count("2026-12-06 11:49:07 EST") == 1

    # A record ends: the log shows it to the second, the Records row what is done and that it works on the rest.
    db.session.add(SyncItem(run_id=run_id, at=STARTED + dt.timedelta(seconds=35), entity="document",
                            direction="export", action="created", label="Q1001", message="opportunity created"))
    _set(run_id, done=1, counts={"created": 1}, entity_counts={"document": {"created": 1}}, api_requests=15)
    page.wait_for_function("document.querySelector('#run-log tbody tr.item-created') !== null", timeout=5_000)
    assert page.locator("#run-log tbody tr.item-created td").first.inner_text() == "2026-12-06 11:49:42 EST"
    page.wait_for_function("document.querySelector('#run-records').textContent.includes('1 created')",
                           timeout=5_000)
    assert page.locator("#run-records").inner_text() == "quotes / orders: 1 created — working on the rest"
    assert page.evaluate("window.__sameDocument") is True


def test_a_long_message_is_cut_at_a_word_in_the_history_and_whole_on_the_run_page(jobs_app, live_server, page):
    words = " ".join(f"company{i} failed" for i in range(40))  # about 600 characters
    message = f"Exported 3 of 43 quotes: {words}."
    run_id = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))
    _set(run_id, status="partial", started_at=STARTED, finished_at=STARTED + dt.timedelta(seconds=81), total=2,
         done=2, counts={"created": 1, "failed": 1}, entity_counts={"test": {"created": 1, "failed": 1}},
         message=message)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}?tab=history")
    cell = page.locator(f"#history-run-{run_id} td:nth-child(7)")  # its message
    shown = cell.inner_text().strip()
    assert len(shown) <= 200 and shown.endswith("…"), shown
    assert message.startswith(shown.removesuffix("…")) and message[len(shown) - 1] == " ", shown  # at a word's end
    assert cell.get_attribute("title") == message  # whole, on hover
    page.locator(f"#history-run-{run_id} a").first.click()
    page.wait_for_url(re.compile(rf".*/jobs/runs/{run_id}$"))
    assert message.removesuffix(".") in page.locator(".colcw-progress-message").inner_text()
    assert "2026-12-06 16:50:28 UTC" in page.locator("#run-details").inner_text()  # finished, to the second
