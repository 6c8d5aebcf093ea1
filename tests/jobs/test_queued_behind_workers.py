"""What a queued run waits behind is read from the workers registered in Redis, the same way on every page: the run's
page and progress bar (views/runs.py queued_note) and a customer's page (history.state_text) name the run the worker
is on, not the oldest run the database calls running."""

from __future__ import annotations

import html

import pytest
from rq import SimpleWorker
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import history
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _worker(queues, on_job: str | None = None) -> SimpleWorker:
    """A worker as RQ registers it in Redis (what a ``colcw worker`` on any machine writes), at work on ``on_job``."""
    worker = SimpleWorker(list(queues), connection=runtime().queue.connection)
    worker.register_birth()
    if on_job:
        worker.set_current_job_id(on_job)
    return worker


def _running(n: int) -> SyncRun:
    """A run the database says is running (its job taken off the queue, as a worker takes it)."""
    run = runtime().submit(db.session, "test_count", {"n": n}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status="running", started_at=utcnow(),
                                                                          heartbeat_at=utcnow(), attempts=1))
    db.session.commit()
    return run


def test_a_customer_page_and_a_runs_page_name_the_run_the_worker_is_on(jobs_app, redis_conn, admin_client):
    rt = runtime()
    stale = _running(11)  # the oldest "running" run in the database: its worker died, nobody works on it
    busy = _running(12)  # the run the only worker is on
    queued = rt.submit(db.session, "test_count", {"n": 13}, actor=ADMIN).run

    # No worker registered at all: nothing to wait behind, whatever the database says runs.
    assert history.state_text(db.session, queued, queue=rt.queue, kinds=rt.kinds) == \
        "queued: waiting for a colcw worker to start it"

    worker = _worker(rt.queue.queues, on_job=busy.rq_job_id)
    try:
        said = history.state_text(db.session, queued, queue=rt.queue, kinds=rt.kinds)
        assert said == f"queued behind run #{busy.id} (Count 12 test items, running)", said
        assert f"#{stale.id}" not in said
        # The run's page says the same run: one definition.
        bar = html.unescape(admin_client.get(f"/colcw/runs/{queued.id}/progress").get_data(as_text=True))
        assert f"Queued behind {said.removeprefix('queued behind ')} — start another worker" in bar, bar

        # A worker free to take it: it starts in a moment, behind nothing.
        worker.set_current_job_id(None)
        assert history.state_text(db.session, queued, queue=rt.queue, kinds=rt.kinds) == \
            "queued: a worker starts it in a moment"
    finally:
        worker.register_death()
