"""Runs that lost their worker or their job: mark them interrupted, re-queue them, resume, cancel.

* :func:`detect_interrupted` marks a run ``interrupted`` when its heartbeat is old, it is still
  ``running`` and nothing is working on it any more (the liveness key expired, the RQ job is not
  waiting). :func:`resume` re-enqueues the same run; services skip the records it already
  completed (``RunRecorder.completed_keys``).
* :func:`requeue_lost` re-enqueues queued runs that RQ does not hold (Redis lost them, or a
  process died between the commit and the enqueue): a recorded run is never silently dropped.
* :func:`cancel` withdraws a queued run or gives up an interrupted one.

The scheduler calls the first two every tick.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...models import RunStatus, SyncRun, actor_label
from .queue import NOT_QUEUED_MESSAGE, JobQueue, enqueue_existing

log = logging.getLogger(__name__)

CANCELLABLE = (RunStatus.QUEUED, RunStatus.INTERRUPTED)


def detect_interrupted(session: Session, queue: JobQueue, *, stale_seconds: float | None = None,
                       now: dt.datetime | None = None) -> list[int]:
    """Mark runs whose worker died as ``interrupted``; return their ids."""
    stale = stale_seconds if stale_seconds is not None else queue.settings.interrupted_after_seconds
    cutoff = (now or utcnow()) - dt.timedelta(seconds=stale)
    runs = session.execute(select(SyncRun).where(SyncRun.status == RunStatus.RUNNING,
                                                 SyncRun.heartbeat_at < cutoff)).scalars()
    found = []
    for run in list(runs):
        if queue.is_working(run.rq_job_id, run.id):
            continue
        result = session.execute(update(SyncRun).where(
            SyncRun.id == run.id, SyncRun.status == RunStatus.RUNNING, SyncRun.heartbeat_at == run.heartbeat_at).values(
            status=RunStatus.INTERRUPTED, finished_at=utcnow(),
            message=(f"Interrupted: the worker stopped after {run.done} of {run.total or '?'} records "
                     f"(last heartbeat {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC). Resume it to finish the rest; "
                     "records already done are skipped.")))
        if result.rowcount:
            found.append(run.id)
            log.warning("sync run %s marked interrupted", run.id)
    session.commit()
    return found


def requeue_lost(session: Session, queue: JobQueue, *, older_than_seconds: float | None = None,
                 now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue queued runs that RQ does not hold (see the module doc)."""
    age = older_than_seconds if older_than_seconds is not None else queue.settings.lost_after_seconds
    cutoff = (now or utcnow()) - dt.timedelta(seconds=age)
    runs = session.execute(select(SyncRun).where(SyncRun.status == RunStatus.QUEUED,
                                                 SyncRun.created_at < cutoff)).scalars()
    requeued = []
    for run in list(runs):
        if queue.is_working(run.rq_job_id, run.id):
            continue
        if run.message == NOT_QUEUED_MESSAGE:
            run.message = "Queued by the scheduler once the job queue (Redis) answered again."
        if enqueue_existing(session, queue, run):
            requeued.append(run.id)
        else:
            session.rollback()
    return requeued


def resume(session: Session, queue: JobQueue, run_id: int, *, actor: dict | None = None) -> SyncRun:
    """Re-enqueue an interrupted run (the same run; completed records are skipped)."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"Run #{run_id} does not exist.")
    if run.status != RunStatus.INTERRUPTED:
        raise ValueError(f"Run #{run_id} is {run.status}; only an interrupted run can be resumed.")
    run.status = RunStatus.QUEUED
    run.message = f"Resumed by {actor_label(actor)} after {run.done} records."
    run.duplicate = not enqueue_existing(session, queue, run)
    if run.duplicate:
        session.rollback()
        run = session.get(SyncRun, run_id)
        run.duplicate = True
    return run


def cancel(session: Session, queue: JobQueue, run_id: int, *, actor: dict | None = None) -> SyncRun:
    """Cancel a queued run (before a worker takes it) or give up an interrupted one.

    A compare-and-set on the status, so of a worker claiming the run and an admin cancelling it
    exactly one wins; the RQ job is then removed (a stray delivery would find nothing to do).
    A running run cannot be cancelled: it stops at its end, or is marked interrupted if its worker
    dies. Cancelling is also how a queued run leaves for good: deleting its job in rq-dashboard
    alone does not, because the scheduler re-queues queued runs RQ lost.
    """
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"Run #{run_id} does not exist.")
    before = run.status
    changed = session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(CANCELLABLE)).values(
        status=RunStatus.CANCELLED, finished_at=utcnow(),
        message=f"Cancelled by {actor_label(actor)} while {before} ({run.done} of {run.total or '?'} records done)."
    )).rowcount
    session.commit()
    session.expire_all()
    run = session.get(SyncRun, run_id)
    if not changed:
        raise ValueError(f"Run #{run_id} is {run.status}; only a queued or interrupted run can be cancelled.")
    queue.withdraw(run)
    return run
