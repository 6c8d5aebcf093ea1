"""A running run's page follows the run in its Records and ConnectWise requests rows, not only in its bar: each
progress poll brings them (from the run's row it reads anyway)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from helpers import browser_sign_in, runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


@pytest.mark.browser
def test_a_running_runs_page_counts_its_records_and_requests_as_it_goes(live_server, page, jobs_app):
    run_id = runtime().submit(db.session, "test_count", {"n": 50}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))  # no worker: the test says what it did
    _set(run_id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=50)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    assert page.locator("#run-records").inner_text() == "none finished yet — working on the first of 50"
    assert page.locator("#run-requests").inner_text() == "0"
    page.evaluate("window.__sameDocument = true")

    # The worker goes on: the status does not change, the rows follow anyway.
    _set(run_id, done=30, counts={"created": 30}, entity_counts={"customer": {"created": 30}}, api_requests=61)
    page.wait_for_function("document.querySelector('#run-requests').textContent.trim() === '61'", timeout=5_000)
    assert "30 created" in page.locator("#run-records").inner_text()
    assert page.locator("#run-summary").inner_text().count("Records") == 1  # once, in its row
    assert page.evaluate("window.__sameDocument") is True  # the same page: no reload
