"""A running run's page shows its records in its status log as the run records them, not only once it ends: the
log fetches itself again (only the log, with the page's filter) whenever the progress poll finds the run recorded
more, and once more when the run ends."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from helpers import browser_sign_in, runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def _rows(page) -> list[str]:
    return [t.strip() for t in page.locator("#run-log tbody tr.item-created td:nth-child(2)").all_inner_texts()]


def test_the_log_of_a_running_run_shows_the_records_it_has_done_while_it_runs(request, live_server, page, jobs_app):
    # Six items; the worker holds the run inside the 4th for a while: three recorded, the run still running.
    run_id = runtime().submit(db.session, "test_count", {"n": 6, "stall_at": 4, "stall_seconds": 6}, actor=ADMIN).run.id
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}?action=created")  # a filter of the log: it keeps it
    assert page.locator(".colcw-progress-status").inner_text() == "Queued"
    assert page.locator("#run-log tbody").inner_text().strip() == "No records created yet."
    page.evaluate("window.__sameDocument = true")

    request.getfixturevalue("worker_thread")
    page.wait_for_function("document.querySelectorAll('#run-log tbody tr.item-created').length === 3",
                           timeout=15_000)
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "running"  # held inside item 4
    assert page.locator(".colcw-progress-status").inner_text() == "Running"
    assert _rows(page) == ["test: item 1", "test: item 2", "test: item 3"]
    assert "No records" not in page.locator("#run-log").inner_text()
    assert page.locator("#run-log nav a[aria-current]").inner_text() == "created"  # still the page's filter
    assert page.locator("#run-summary").count() == 1  # the log swapped itself, not a page inside the page
    assert page.evaluate("window.__sameDocument") is True

    # The run goes on and ends: the log shows all its records, still the same page.
    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'succeeded'",
                           timeout=20_000)
    page.wait_for_function("document.querySelectorAll('#run-log tbody tr.item-created').length === 6",
                           timeout=5_000)
    assert _rows(page) == [f"test: item {i}" for i in range(1, 7)]
    assert page.locator("#run-log nav a[aria-current]").inner_text() == "created"
    assert page.evaluate("window.__sameDocument") is True


def test_a_runs_page_is_not_reloaded_after_its_run_ends(live_server, page, jobs_app):
    """The progress bar's fresh copies carry no noscript refresh: htmx parses them with scripting off, so its meta
    was a live one, and the page reloaded itself 3 s after the last copy of the running run (losing what the person
    was doing on it)."""
    run_id = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))  # no worker: the test says what it did
    _set(run_id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=2)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_timeout(2_500)  # a few fresh copies of the running run's bar

    _set(run_id, status="succeeded", finished_at=utcnow(), done=2, counts={"created": 2},
         entity_counts={"test": {"created": 2}}, message="counted 2 items")
    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'succeeded'",
                           timeout=5_000)
    page.wait_for_timeout(4_500)  # past the 3 s of the noscript refresh
    assert page.evaluate("window.__sameDocument") is True
