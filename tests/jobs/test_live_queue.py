"""Short runs a page waits on (live updates, a run of one record a person waits for) go on colcw's live queue, which
every worker takes first and ``colcw worker --queues live`` serves alone: with the general worker busy for minutes on
a bulk run, such a run is done by the live worker at once. A queued run's page says what it waits behind, read from
what Redis holds of the workers (real ``colcw worker`` processes here), with what to start."""

from __future__ import annotations

import html

import pytest
from jobs_support import wait_until, worker_env

from colcw_plugin.models import SyncRun
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
WORKER = "flask --app host_stub colcw worker"


def _status(run_id: int) -> str:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id).status


def _bar(admin_client, run_id: int) -> str:
    return html.unescape(admin_client.get(f"/colcw/runs/{run_id}/progress").get_data(as_text=True))


def test_a_queued_run_says_what_it_waits_behind_and_a_live_worker_runs_urgent_runs_beside_a_bulk_one(
        jobs_app, redis_conn, processes, admin_client):
    queue = runtime().queue
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: queue.workers(), message="the general worker to listen")
    # A bulk run that holds the general worker for a minute.
    bulk = runtime().submit(db.session, "test_count", {"n": 1, "stall_at": 1, "stall_seconds": 60}, actor=ADMIN).run
    bulk_id = bulk.id
    wait_until(lambda: _status(bulk_id) == "running", message="the bulk run to start")

    # Another bulk run waits behind it, and its page says so, naming the run and what to do.
    second = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    expected = (f"Queued behind run #{bulk_id} (Count 1 test items, running) — start another worker (“{WORKER}”) "
                "to run them side by side.")
    assert expected in _bar(admin_client, second.id)
    page = html.unescape(admin_client.get(f"/admin/integration/connectwise/jobs/runs/{second.id}")
                         .get_data(as_text=True))
    assert expected in page  # the run's page says it at once, not only its first poll

    # A run of one record a person waits for goes on the live queue: with no worker of its own, it says which to start.
    urgent = runtime().submit(db.session, "test_count", {"n": 1, "one": True}, actor=ADMIN).run
    urgent_id = urgent.id
    assert urgent.rq_job_id in queue.live.job_ids and urgent.rq_job_id not in queue.rq.job_ids
    assert (f"Queued behind run #{bulk_id} (Count 1 test items, running) — start a worker for live updates and "
            f"one-record exports (“{WORKER} --queues live”), so they never wait behind a bulk run."
            in _bar(admin_client, urgent_id))

    # A worker on the live queue alone takes it at once, while the bulk run still holds the general worker.
    processes.start(["colcw", "worker", "--queues", "live"], worker_env(jobs_app))
    wait_until(lambda: _status(urgent_id) == "succeeded", timeout=20, message="the urgent run to be done")
    assert _status(bulk_id) == "running" and _status(second.id) == "queued"
    assert "Queued behind" in _bar(admin_client, second.id)  # the live worker does not take bulk runs
    assert queue.busy_with("test_count", {"n": 2}).running == [bulk_id]


def test_a_queued_run_a_free_worker_is_about_to_take_says_nothing_of_waiting(jobs_app, redis_conn, processes,
                                                                             admin_client):
    """Queued while a worker is free (it starts within a moment): no "Queued behind" note, no "no worker" note."""
    queue = runtime().queue
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    assert "Queued: no colcw worker is running to start it" in _bar(admin_client, run.id)
    processes.start(["colcw", "worker", "--queues", "live"], worker_env(jobs_app))
    wait_until(lambda: queue.workers(queue.live), message="the live worker to listen")
    # The live worker does not take a bulk run: for it, no worker listens yet.
    assert "Queued: no colcw worker is running to start it" in _bar(admin_client, run.id)
    busy = queue.busy_with("test_count", {"n": 1, "one": True})
    assert busy is not None and busy.idle and busy.dedicated


@pytest.mark.browser
def test_a_queued_runs_page_in_a_browser_says_what_it_waits_behind_until_it_starts(jobs_app, redis_conn, processes,
                                                                                  live_server, page):
    """The run's page says it at once and follows the run: once the bulk run ahead ends and the run starts, the note
    goes, without a reload."""
    from helpers import browser_sign_in

    queue = runtime().queue
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: queue.workers(), message="the general worker to listen")
    bulk_id = runtime().submit(db.session, "test_count", {"n": 1, "stall_at": 1, "stall_seconds": 6},
                               actor=ADMIN).run.id
    wait_until(lambda: _status(bulk_id) == "running", message="the bulk run to start")
    second = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run.id

    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}/admin/integration/connectwise/jobs/runs/{second}")
    page.evaluate("window.__sameDocument = true")
    note = page.locator(f"#run-no-worker-{second}")
    assert note.inner_text() == (f"Queued behind run #{bulk_id} (Count 1 test items, running) — start another worker "
                                 f"(“{WORKER}”) to run them side by side.")
    page.wait_for_function("document.querySelector('.colcw-progress').dataset.status === 'succeeded'",
                           timeout=20_000)
    assert note.count() == 0 and page.evaluate("window.__sameDocument") is True


def test_a_live_run_rq_lost_is_queued_again_on_the_live_queue_and_one_waiting_is_released_there(jobs_app,
                                                                                                 redis_conn):
    """The scheduler's recovery names both queues: a queued run whose job was deleted (on the dashboard) is queued
    again on its own queue, and a waiting one's overdue next attempt is released onto it."""
    import datetime as dt
    import time

    from colcw_plugin.sync.jobs import recovery
    from host_stub.models import utcnow

    queue = runtime().queue
    lost = runtime().submit(db.session, "test_count", {"n": 1, "one": True}, actor=ADMIN).run
    queue.fetch(lost.rq_job_id).delete()
    assert recovery.requeue_lost(db.session, queue, older_than_seconds=0) == [lost.id]
    db.session.expire_all()
    assert db.session.get(SyncRun, lost.id).rq_job_id in queue.live.job_ids

    waiting = runtime().submit(db.session, "test_count", {"n": 2, "one": True}, actor=ADMIN).run
    queue.fetch(waiting.rq_job_id).delete()
    waiting.status, waiting.next_try_at = "waiting", utcnow() - dt.timedelta(seconds=30)
    db.session.commit()
    queue.enqueue(waiting, at=utcnow() + dt.timedelta(seconds=60))  # held by RQ: its scheduler died before then
    redis_conn.zadd(queue.live.scheduled_job_registry.key, {waiting.rq_job_id: int(time.time()) - 30})
    assert queue.release_overdue() == 1
    assert waiting.rq_job_id in queue.live.job_ids and waiting.rq_job_id not in queue.rq.job_ids
