"""Cancel on each row of the job history: the run page's Cancel (the same service, admins only, a CSRF-protected
POST) offered where the run can take it — queued, running, waiting or interrupted —, "Stopping…" for a run asked to
stop, nothing for an ended run; the row follows its run (queued → running → stopping → cancelled) without a
reload, and Cancel comes back to the history page it was pressed on."""

from __future__ import annotations

import html
import itertools
import re

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import browser_sign_in, csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
HISTORY = f"{JOBS}?tab=history"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
OTHER_ADMIN = {"id": None, "email": "ops@demo.example", "role": "admin"}
_DIFFERENT = itertools.count()


def _run(status: str = "queued", **values) -> int:
    """A run as a worker left it (no worker here: the test says what it did); each one different work (the same
    work is not queued twice)."""
    submitted = runtime().submit(db.session, "test_count", {"n": 5, "sleep": next(_DIFFERENT)}, actor=ADMIN)
    assert not submitted.duplicate
    run = submitted.run
    if status != "queued":
        runtime().queue.withdraw(run)
        values = {"started_at": utcnow(), "heartbeat_at": utcnow(), "attempts": 1, "total": 5, "done": 2, **values}
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status=status, **values))
    db.session.commit()
    return run.id


def _set(run_id: int, **values) -> None:
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))
    db.session.commit()


def _row(page: str, run_id: int) -> str:
    found = re.search(rf'<tr [^>]*data-run="{run_id}"[^>]*>.*?</tr>', page, re.S)
    assert found, page
    return html.unescape(found.group(0))


def _polled(page: str) -> set[int]:
    """The runs the history page's poll asks for (none: it does not poll)."""
    poll = re.search(r'<div id="history-poll"[^>]*>', page)
    assert poll, page
    runs = re.search(r'data-runs="([^"]*)"', poll.group(0)).group(1)
    asked = {int(i) for i in runs.split()}
    assert ("hx-get" in poll.group(0)) == bool(asked) and ('hx-trigger="every 2s"' in poll.group(0)) == bool(asked)
    if asked:
        url = html.unescape(re.search(r'hx-get="([^"]*)"', poll.group(0)).group(1))
        assert url.startswith(f"{JOBS}/history-rows?") and {int(i) for i in re.findall(r"[?&]run=(\d+)", url)} == asked
    return asked


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_each_row_offers_what_its_run_can_take(admin_client, jobs_app):
    queued, running, waiting = _run(), _run("running"), _run("waiting", waiting_reason="ConnectWise answered 503")
    # (interrupted for good: finished; one the scheduler is resuming is followed still, test_resuming_run_followed.py)
    interrupted = _run("interrupted", finished_at=utcnow(), message="Interrupted: the worker stopped.")
    stopping = _run("running")
    recovery.cancel(db.session, runtime().queue, stopping, actor=OTHER_ADMIN)
    ended = _run("succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    cancelled = _run("cancelled", finished_at=utcnow(), message="Cancelled by ops@demo.example while running.")
    page = admin_client.get(HISTORY).get_data(as_text=True)

    for run_id, asks in ((queued, "It will not run."),
                         (running, "It starts no new record and finishes the ones it is working on"),
                         (waiting, "Records already done stay done"), (interrupted, "Records already done stay done")):
        row = _row(page, run_id)
        assert f'action="{JOBS}/runs/{run_id}/cancel"' in row and 'name="csrf_token"' in row, row
        assert f'data-colcw-confirm="Cancel run #{run_id}? {asks}' in row and "Stopping…" not in row
    row = _row(page, stopping)
    assert "cancel-run" not in row and "Stopping…" in row
    assert 'title="Cancel requested by ops@demo.example at ' in row  # who asked and when, as the run page says
    for run_id in (ended, cancelled):
        row = _row(page, run_id)
        assert "cancel-run" not in row and "Stopping…" not in row and "<form" not in row
    # The rows of runs not ended follow them, through the page's one poll; an ended one's is not asked for.
    assert _polled(page) == {queued, running, waiting, stopping}
    for run_id in (queued, running, waiting, stopping, ended, cancelled, interrupted):
        assert "hx-get" not in _row(page, run_id)


def test_cancel_on_a_row_cancels_as_the_run_page_does_and_comes_back_to_the_list(client, jobs_app):
    queued, running = _run(), _run("running")
    sign_in(client, "riley@demo.example")  # a rep may not
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    assert client.post(f"{JOBS}/runs/{running}/cancel", data={"csrf_token": token, "next": HISTORY}
                       ).status_code == 403
    assert client.get(f"{JOBS}/history-rows?run={running}").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    admin = sign_in(client, "admin@demo.example")
    listing = f"{HISTORY}&result=running"  # a filtered page: Cancel comes back to it
    page = admin.get(listing).get_data(as_text=True)
    assert admin.post(f"{JOBS}/runs/{running}/cancel", data={"next": listing}).status_code == 400  # no CSRF token
    assert _fresh(running).status == "running"

    token = csrf_from(page)
    resp = admin.post(f"{JOBS}/runs/{running}/cancel", data={"csrf_token": token, "next": listing})
    assert resp.status_code == 302 and resp.headers["Location"] == listing
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Run #{running} is stopping: it ends as cancelled once the record it is working on is saved." in page
    assert _fresh(running).status == "cancelling"
    assert "Stopping…" in _row(admin.get(HISTORY).get_data(as_text=True), running)

    resp = admin.post(f"{JOBS}/runs/{queued}/cancel", data={"csrf_token": token, "next": HISTORY})
    assert resp.headers["Location"] == HISTORY
    page = admin.get(HISTORY).get_data(as_text=True)
    assert f"Run #{queued} cancelled." in page
    row = _row(page, queued)
    assert "Cancelled" in row and "Cancelled by admin@demo.example before it started." in row and "<form" not in row
    assert runtime().queue.rq.count == 0  # its job withdrawn, as from its page

    # An ended run: refused, said on the list.
    page = admin.get(admin.post(f"{JOBS}/runs/{queued}/cancel", data={"csrf_token": token, "next": HISTORY}
                                ).headers["Location"]).get_data(as_text=True)
    assert html.unescape(f"Run #{queued} is cancelled; only a queued, running, waiting or interrupted run") in \
        html.unescape(page)


def test_cancel_never_redirects_off_the_site(admin_client, jobs_app):
    run_id = _run("running")
    token = csrf_from(admin_client.get(HISTORY).get_data(as_text=True))
    resp = admin_client.post(f"{JOBS}/runs/{run_id}/cancel",
                             data={"csrf_token": token, "next": "https://evil.example/jobs"})
    assert resp.headers["Location"] == f"{JOBS}/runs/{run_id}"  # the run's page, as without a next
    rows = admin_client.get(f"{JOBS}/history-rows?run={run_id}&next=https://evil.example/").get_data(as_text=True)
    assert f'data-run="{run_id}"' in rows and "evil.example" not in rows


def test_the_poll_brings_fresh_rows_and_stops_asking_for_ended_runs(admin_client, jobs_app):
    run_id, other = _run(), _run()
    url = f"{JOBS}/history-rows?run={run_id}&run={other}&next=/admin/integration/connectwise/jobs?tab%3Dhistory"
    resp = admin_client.get(url)
    assert resp.headers["Cache-Control"] == "no-store"
    answer = resp.get_data(as_text=True)
    row = _row(answer, run_id)
    assert 'hx-swap-oob="true"' in row and f'id="history-run-{run_id}"' in row  # swapped in place of the page's row
    assert 'data-status="queued"' in row and "It will not run." in row
    assert 'value="/admin/integration/connectwise/jobs?tab=history"' in row
    assert _polled(answer) == {run_id, other}
    _set(run_id, status="running", started_at=utcnow(), heartbeat_at=utcnow(), total=5, done=3)
    row = _row(admin_client.get(url).get_data(as_text=True), run_id)
    assert "It starts no new record and finishes the ones it is working on" in row and "3 / 5" in row
    recovery.cancel(db.session, runtime().queue, run_id, actor=OTHER_ADMIN)
    answer = admin_client.get(url).get_data(as_text=True)
    row = _row(answer, run_id)
    assert "Stopping…" in row and "<form" not in row and _polled(answer) == {run_id, other}
    _set(run_id, status="cancelled", finished_at=utcnow(),
         message="Cancelled by ops@demo.example while running (3 of 5 records done; 2 not reached).")
    answer = admin_client.get(url).get_data(as_text=True)
    row = _row(answer, run_id)
    assert "Stopping…" not in row and "<form" not in row and "3 of 5 records done" in row
    assert _polled(answer) == {other}  # ended: no longer asked for
    recovery.cancel(db.session, runtime().queue, other, actor=OTHER_ADMIN)
    answer = admin_client.get(url).get_data(as_text=True)
    assert 'data-status="cancelled"' in _row(answer, other) and _polled(answer) == set()  # none left: it stops
    assert admin_client.get(f"{JOBS}/history-rows?run=999999").status_code == 200  # a run gone: nothing to show


@pytest.mark.browser
def test_an_admin_cancels_runs_from_their_rows_of_the_job_history(live_server, page, jobs_app):
    queued, running = _run(), _run("running")
    ended = _run("succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{HISTORY}")
    assert page.locator(f'tr[data-run="{ended}"] button.cancel-run').count() == 0

    # A queued run: Cancel on its row asks first, then the list shows it cancelled, with no Cancel left.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click(f'tr[data-run="{queued}"] button.cancel-run')
    page.wait_for_selector(f'tr[data-run="{queued}"][data-status="cancelled"]')
    assert asked == [f"Cancel run #{queued}? It will not run."]
    assert page.url.endswith(HISTORY)
    assert f"Run #{queued} cancelled." in page.locator("body").inner_text()
    assert page.locator(f'tr[data-run="{queued}"] button.cancel-run').count() == 0
    assert _fresh(queued).status == "cancelled"

    # Declined: nothing happens.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(f'tr[data-run="{running}"] button.cancel-run')
    assert _fresh(running).status == "running"

    # A running run: its row says Stopping… until its worker stops it; then, without a reload, it ends cancelled.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'tr[data-run="{running}"] button.cancel-run')
    page.wait_for_selector(f'tr[data-run="{running}"][data-status="cancelling"]')
    assert f"Run #{running} is stopping" in page.locator("body").inner_text()
    row = page.locator(f'tr[data-run="{running}"]')
    assert row.locator(".run-stopping").inner_text() == "Stopping…" and row.locator("button").count() == 0
    assert row.locator(".badge").inner_text() == "Stopping"
    page.evaluate("window.__sameDocument = true")
    _set(running, status="cancelled", finished_at=utcnow(),
         message="Cancelled by admin@demo.example while running (2 of 5 records done; 3 not reached).")
    page.wait_for_selector(f'tr[data-run="{running}"][data-status="cancelled"]', timeout=6_000)
    row = page.locator(f'tr[data-run="{running}"]')
    assert row.locator(".badge").inner_text() == "Cancelled" and row.locator(".run-stopping").count() == 0
    assert "2 of 5 records done; 3 not reached" in row.inner_text()
    assert page.evaluate("window.__sameDocument") is True


@pytest.mark.browser
def test_a_rows_cancel_goes_as_soon_as_another_admin_cancels_its_run(live_server, page, jobs_app):
    run_id = _run("running")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{HISTORY}")
    assert page.locator(f'tr[data-run="{run_id}"] button.cancel-run').is_visible()
    page.evaluate("window.__sameDocument = true")
    recovery.cancel(db.session, runtime().queue, run_id, actor=OTHER_ADMIN)  # from another page, or the CLI
    page.wait_for_selector(f'tr[data-run="{run_id}"] .run-stopping', timeout=6_000)
    assert page.locator(f'tr[data-run="{run_id}"] button.cancel-run').count() == 0
    assert page.evaluate("window.__sameDocument") is True
