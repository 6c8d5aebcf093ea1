"""An attempt whose worker was taken for dead and replaced — a frozen machine that comes back — writes nothing
more once the later attempt has started: every record keeps exactly one outcome and the run ends as its owner
ends it (the scheduler resumed it as interrupted while the first attempt still held its place)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select, update

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from colcw_plugin.sync.jobs.queue import perform
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
PAUSED, GO_ON = threading.Event(), threading.Event()
FIRST: list[int] = []  # the thread of the first attempt (the one that freezes)


def _items(ctx: SyncContext) -> str:
    """Records items 1..n one at a time; the first attempt freezes after its second item until GO_ON."""
    n = int(ctx.params["n"])
    ctx.recorder.set_total(n, entity="test", ids=range(1, n + 1))
    done, _ = ctx.recorder.completed_keys("test")
    for i in range(1, n + 1):
        if i in done:
            continue
        ctx.recorder.stop_if_requested()
        ctx.recorder.record(entity="test", direction="export", action="created", host_id=i, label=f"item {i}")
        ctx.recorder.flush()
        if i == 2 and threading.get_ident() in FIRST:
            PAUSED.set()
            GO_ON.wait(20)
    return f"did {n} items"


ITEMS = JobKind(name="test_freezing_items", label="Test freezing items", run=_items,
                describe=lambda session, p, scheduled=False: f"{p.get('n')} items")


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_a_replaced_attempt_that_comes_back_writes_nothing_more(app, jobs_app):
    if ITEMS.name not in runtime().kinds:
        runtime().kinds.register(ITEMS)
    PAUSED.clear()
    GO_ON.clear()
    FIRST.clear()
    run_id = create_run(db.session, runtime().kinds, ITEMS.name, {"n": 6}, actor=ADMIN).id
    db.session.commit()
    ended: list[SyncRun] = []

    def first_attempt():
        FIRST.append(threading.get_ident())
        with app.app_context():
            try:
                run = runtime().execute(db.session, run_id)
                ended.append((run.status, run.id))
            finally:
                db.session.remove()

    frozen = threading.Thread(target=first_attempt, daemon=True)
    frozen.start()
    assert PAUSED.wait(10)
    # Its heartbeat went stale: the scheduler takes it for dead and resumes the run; the later attempt finishes it.
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(status="interrupted"))
    db.session.commit()
    owner = runtime().execute(db.session, run_id)
    assert owner.status == "succeeded" and owner.attempts == 2
    GO_ON.set()  # the frozen machine comes back
    frozen.join(20)
    assert not frozen.is_alive()

    run = _fresh(run_id)
    assert run.status == "succeeded" and run.attempts == 2 and run.done == run.total == 6, (run.status, run.done)
    assert run.message == "did 6 items (6 created)", run.message
    outcomes = Counter(db.session.execute(select(SyncItem.host_id).where(SyncItem.run_id == run_id)).scalars())
    assert outcomes == Counter({i: 1 for i in range(1, 7)}), outcomes  # exactly one outcome each
    assert run.counts == {"created": 6}, run.counts


def test_a_job_whose_run_a_later_attempt_took_over_leaves_it_alone(app, jobs_app, monkeypatch):
    """The RQ job of the replaced attempt, back, finds its run owned by a later attempt's job, waiting for its
    next try: it neither enqueues the run again (which would replace the owner's job) nor fails."""
    import colcw_plugin.sync.jobs.queue as queue_module

    queue = runtime().queue
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(rq_job_id="colcw-run-stale"))
    db.session.commit()
    monkeypatch.setattr(queue_module, "get_current_job", lambda: type("Job", (), {"id": "colcw-run-stale"})())

    def taken_over_meanwhile(session, run_id, queued):
        # While this attempt was frozen the scheduler resumed the run under another job, which left it waiting.
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(status="waiting",
                                                                            rq_job_id="colcw-run-owner"))
        session.commit()
        return session.get(SyncRun, run_id)

    said = perform(db.session, queue, run.id, taken_over_meanwhile)
    assert "later attempt" in said, said
    after = _fresh(run.id)
    assert after.rq_job_id == "colcw-run-owner" and after.status == "waiting"
    assert queue.rq.count == 0 and len(queue.rq.scheduled_job_registry) == 0
