"""Cancel on a running run's page: the admin's request (CSRF, admins only), the "Stopping…" state, and a page whose
actions follow the run's status (queued → running → stopping → cancelled) without a reload, so it never offers a
Cancel the run can no longer take."""

from __future__ import annotations

import re

import pytest
from jobs_support import worker_env
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import browser_sign_in, csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
OTHER_ADMIN = {"id": None, "email": "ops@demo.example", "role": "admin"}


def _running_run(**values) -> int:
    """A run a worker is working on (as its claim and start left it)."""
    run = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run
    runtime().queue.withdraw(run)  # no worker here: the test says what the worker did
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=5, done=2, **values))
    db.session.commit()
    return run.id


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def test_an_admin_asks_a_running_run_to_stop_from_its_page(client, jobs_app):
    run_id = _running_run()
    url = f"{JOBS}/runs/{run_id}"
    sign_in(client, "riley@demo.example")  # a rep may not
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    assert client.post(f"{url}/cancel", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    admin_client = sign_in(client, "admin@demo.example")
    page = admin_client.get(url).get_data(as_text=True)
    assert 'id="cancel-run"' in page and "It starts no new record and finishes the ones it is working on" in page

    assert admin_client.post(f"{url}/cancel").status_code == 400  # no CSRF token: refused
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "running"

    token = csrf_from(page)
    resp = admin_client.post(f"{url}/cancel", data={"csrf_token": token})
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Run #{run_id} is stopping" in page
    assert 'id="cancel-run"' not in page and 'id="run-stopping"' in page
    assert "Stopping… Cancel requested by admin@demo.example at " in page  # the progress bar says who and when
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    assert run.status == "cancelling" and run.message.startswith("Cancel requested by admin@demo.example: ")
    assert run.finished_at is None  # not over until its worker acknowledges

    # Pressed again (a second tab): the first request stands.
    admin_client.post(f"{url}/cancel", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).message == run.message


def test_the_progress_bar_says_when_the_status_moved_on_since_the_page_showed_it(admin_client, jobs_app):
    run_id = _running_run()
    progress = f"/colcw/runs/{run_id}/progress"
    assert "HX-Trigger" not in admin_client.get(f"{progress}?seen=running").headers
    assert admin_client.get(f"{progress}?seen=queued").headers["HX-Trigger"] == "colcw-run-changed"
    recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN)
    bar = admin_client.get(f"{progress}?seen=running")
    assert bar.headers["HX-Trigger"] == "colcw-run-changed"
    assert 'seen=cancelling' in bar.get_data(as_text=True)  # the next poll compares with what it shows now


@pytest.mark.browser
def test_a_running_runs_page_drops_its_cancel_button_as_soon_as_another_admin_cancels_it(
        live_server, page, jobs_app):
    run_id = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    actions = page.locator("#run-actions")
    assert actions.get_attribute("data-status") == "queued" and page.locator("#cancel-run").is_visible()
    page.evaluate("window.__sameDocument = true")

    # A worker takes it: the actions follow (Cancel now stops a running run), without a reload.
    _set(run_id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=5)
    page.wait_for_selector('#run-actions[data-status="running"]', timeout=5_000)
    assert "It starts no new record and finishes the ones it is working on" in \
        page.locator("#run-actions form").get_attribute("data-colcw-confirm")

    # Another admin cancels it elsewhere: this page's Cancel goes, and it says the run is stopping.
    recovery.cancel(db.session, runtime().queue, run_id, actor=OTHER_ADMIN)
    page.wait_for_selector("#run-stopping", timeout=5_000)
    # (The bar says so from its poll; the actions follow on the change it announces, a request later.)
    page.wait_for_selector("#cancel-run", state="detached", timeout=5_000)
    assert "Cancel requested by ops@demo.example" in page.locator(".colcw-progress-stopping").inner_text()

    # Its worker stops it: the page shows the end, still the same document.
    _set(run_id, status="cancelled", finished_at=utcnow(),
         message="Cancelled by ops@demo.example while running (2 of 5 records done; 3 not reached).")
    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'cancelled'",
                           timeout=5_000)
    page.wait_for_selector('#run-actions[data-status="cancelled"]', timeout=5_000)
    assert page.locator("#run-stopping").count() == 0 and page.locator("#cancel-run").count() == 0
    assert page.evaluate("window.__sameDocument") is True


@pytest.mark.browser
@pytest.mark.slow
def test_an_admin_cancels_a_running_import_on_its_page_and_sees_it_stop(
        live_server, page, jobs_app, connected, redis_conn, processes):
    connected.generate(companies=6000, contacts_per_company=1)
    connected.add_fault(latency_ms=2500, method="GET", path="company/companies$")
    run_id = runtime().submit(db.session, "customer_import", {"mode": "all"}, actor=ADMIN).run.id
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    assert page.locator(".colcw-progress-status").inner_text() == "Queued"

    processes.start(["colcw", "worker"], worker_env(jobs_app))  # a worker takes it: the page follows, no reload
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector('#run-actions[data-status="running"]', timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    page.wait_for_function("parseInt(document.querySelector('.colcw-progress-count').innerText.replace(/,/g, '')) >= 1000",
                           timeout=60_000)
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel run #…? It starts no new record …"
    page.click("#cancel-run")
    page.wait_for_url(re.compile(rf".*/jobs/runs/{run_id}$"))
    assert f"Run #{run_id} is stopping" in page.locator("body").inner_text()
    page.evaluate("window.__sameDocument = true")

    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'cancelled'",
                           timeout=60_000)
    message = page.locator(".colcw-progress-message").inner_text()
    assert re.fullmatch(r"Cancelled by admin@demo\.example while running \(\d,000 of 6,000 records done; "
                        r"the \d,000 not done are not listed: Run the whole job again reaches them — .*\)\.",
                        message), message
    page.wait_for_selector('#run-actions[data-status="cancelled"]', timeout=5_000)
    assert page.locator("#cancel-run").count() == 0 and page.locator("#run-stopping").count() == 0
    assert page.evaluate("window.__sameDocument") is True
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    assert run.status == "cancelled" and run.done < 6000
    assert page.locator(".colcw-progress-count").inner_text() == f"{run.done:,} / 6,000"  # how far it got, not 100 %
