"""The queue's per-work submit lock and a holder slower than its expiry. A run queued while the lock expired under its
holder is reported queued (not "Not queued yet: Redis did not answer", which letting go of an expired lock made it
say); and the lock does not expire under a holder that is merely slow (it renews it), so a second request for the
same work waits and finds the first one's run instead of queueing a duplicate. Real PostgreSQL and Redis; the lock's
expiry made short through its setting (QueueSettings.submit_lock_seconds)."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import queue as queue_module
from colcw_plugin.sync.jobs.queue import work_key
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

WORK = {"n": 2}


def _runs() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == "test_count").order_by(SyncRun.id)).scalars())


def _slow_first_look(monkeypatch, seconds: float, meanwhile=lambda: None) -> None:
    """The first submit's look for an active run of the work (under the lock) takes ``seconds`` after it found none
    (a database that stalls before the run is recorded), ``meanwhile`` done during it; later looks are as usual."""
    look, first = queue_module.find_active, threading.Event()

    def slow(*args, **kwargs):
        found = look(*args, **kwargs)
        if not first.is_set():
            first.set()
            meanwhile()
            time.sleep(seconds)
        return found

    monkeypatch.setattr(queue_module, "find_active", slow)


def test_a_run_queued_while_its_lock_expired_is_reported_queued(jobs_app, redis_url, monkeypatch, drain_queue):
    other = redis.Redis.from_url(redis_url)
    # The lock expires (its key goes, as Redis drops an expired one) while the submit holding it works.
    _slow_first_look(monkeypatch, 0.2, meanwhile=lambda: other.delete(f"colcw:submit:{work_key('test_count', WORK)}"))
    done = runtime().submit(db.session, "test_count", WORK)
    assert done.enqueued and not done.duplicate
    [run] = _runs()
    assert run.status == "queued" and "Not queued" not in (run.message or "")
    assert runtime().queue.is_working(run.rq_job_id, run.id)  # it is in RQ, as the page says
    assert drain_queue() == 1
    [run] = _runs()
    assert run.status == "succeeded"


def test_a_holder_slower_than_the_locks_expiry_keeps_it_and_the_same_work_is_queued_once(jobs_app, app, monkeypatch,
                                                                                           drain_queue):
    tune_runtime(monkeypatch, jobs_app, submit_lock_seconds=1, submit_lock_wait_seconds=10)
    _slow_first_look(monkeypatch, 2.5)  # past the lock's 1 s expiry, twice over
    results: dict[str, object] = {}

    def submit(name: str, delay: float) -> None:
        time.sleep(delay)
        with app.app_context(), Session(bind=db.engine) as session:
            done = runtime().submit(session, "test_count", WORK)
            results[name] = (done.run.id, done.duplicate, done.enqueued, done.run.message)

    threads = [threading.Thread(target=submit, args=("first", 0)), threading.Thread(target=submit, args=("second", 1.5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    [run] = _runs()  # one run of the work, not two
    assert results["first"][:3] == (run.id, False, True) and "Not queued" not in (results["first"][3] or "")
    assert results["second"][:2] == (run.id, True)  # the second click found the first one's run
    assert drain_queue() == 1
    assert [r.status for r in _runs()] == ["succeeded"]
