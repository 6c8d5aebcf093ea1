"""Running syncs on RQ: submit, the job function, duplicates, retries, interrupted runs, resume.

* :func:`submit` creates the run record (``engine.create_run``), commits it, and enqueues a job
  whose only argument is the run id. The job id is deterministic — ``colcw-<kind>-<digest of
  the params>`` — so the same job is never queued twice while one is pending or running: a
  second submit returns the existing run with ``run.duplicate = True``.
* :func:`run_job` is the RQ job: it claims the run (``queued``/``interrupted`` → ``running``,
  compare-and-set, so a job delivered twice runs once), keeps a liveness key in Redis while it
  works and calls ``engine.execute_run``. Transient ConnectWise failures are re-raised and RQ
  retries them with back-off (``Retry``; the worker runs with its scheduler). A permanent
  failure sets ``retries_left = 0`` before raising, so RQ does not retry it.
* :func:`detect_interrupted` marks a run ``interrupted`` when its heartbeat is old, it is still
  ``running`` and nothing is working on it any more (the liveness key expired, the RQ job is
  not waiting). :func:`resume` re-enqueues the same run; services skip the records it already
  completed (``RunRecorder.completed_keys``). :func:`cancel` withdraws a queued run or gives up an
  interrupted one.
* :func:`purge_history` drops runs older than ``COLCW_HISTORY_DAYS`` (the scheduler calls
  :func:`maybe_purge` every tick; it purges at most once an hour).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from redis import Redis, RedisError
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...cw import ConnectWiseError
from ...models import SyncItem, SyncRun
from .runs import create_run, execute_run, kinds

log = logging.getLogger(__name__)

WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
ACTIVE_RUN_STATUSES = ("queued", "running")
DEFAULTS = {
    "COLCW_RETRY_INTERVALS": (30, 120, 600),  # seconds between attempts after a transient failure
    "COLCW_JOB_TIMEOUT": 6 * 3600,  # a full sync of a big tenant may take hours
    "COLCW_LIVENESS_SECONDS": 30,  # the liveness key of a running job expires this long after its worker died
    "COLCW_INTERRUPTED_AFTER_SECONDS": 120,  # a running run's heartbeat must be this old to be judged
    "COLCW_LOST_AFTER_SECONDS": 60,  # a queued run with no RQ job this long is re-enqueued
}


class RunFailed(Exception):
    """The run closed as failed: the RQ job fails too (visible in rq-dashboard) and is not retried."""


def config(name: str):
    """A jobs setting: the app's config, else the environment (numbers, comma-separated for the
    retry intervals), else its default."""
    value = current_app.config.get(name) if has_app_context() else None
    if value is None and os.environ.get(name):
        raw = os.environ[name]
        value = tuple(int(x) for x in raw.split(",") if x.strip()) if name == "COLCW_RETRY_INTERVALS" else float(raw)
    return DEFAULTS[name] if value is None else value


# --- Redis and the queue -------------------------------------------------------------------------


def redis_connection(app: Flask | None = None) -> Redis:
    """The app's Redis connection (``REDIS_URL``), one pool per app."""
    app = app or current_app
    state = app.extensions.setdefault("colcw", {})
    if state.get("redis_url") != app.config["REDIS_URL"]:
        state["redis"] = Redis.from_url(app.config["REDIS_URL"])
        state["redis_url"] = app.config["REDIS_URL"]
    return state["redis"]


def get_queue(app: Flask | None = None) -> Queue:
    """colcw's RQ queue (``COLCW_QUEUE``, default ``colcw``)."""
    app = app or current_app
    return Queue(app.config.get("COLCW_QUEUE", "colcw"), connection=redis_connection(app))


def job_id_for(kind: str, params: dict) -> str:
    """The deterministic RQ job id of a kind with its params: equal jobs get equal ids."""
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)
    return f"colcw-{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def alive_key(run_id: int) -> str:
    return f"colcw:run:{run_id}:alive"


def _fetch(queue: Queue, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return None


def _job_is_working(queue: Queue, job: Job | None, run_id: int) -> bool:
    """Is an RQ job waiting for, or working on, ``run_id``?"""
    if job is None or not job.args or job.args[0] != run_id:
        return False
    status = job.get_status(refresh=True)
    if status in WAITING:
        return True
    # "started" stays in Redis when a worker is killed; the liveness key does not survive it.
    return status == JobStatus.STARTED and bool(queue.connection.exists(alive_key(run_id)))


# --- submit ---------------------------------------------------------------------------------------


def submit(session: Session, kind: str, params: dict, *, trigger: str = "manual", actor: dict | None = None,
           schedule_id: int | None = None, retry_of_id: int | None = None, queue: Queue | None = None) -> SyncRun:
    """Create a run and enqueue it; or return the run already queued / running for the same job.

    The returned run has ``duplicate`` True when nothing new was created, and ``enqueued`` False
    when it was recorded but Redis failed before it was queued: it stays ``queued`` with a message
    saying so, and the scheduler's :func:`requeue_lost` queues it once Redis answers again (a
    :class:`redis.RedisError` before anything was recorded propagates). Commits the session.
    """
    if kind not in kinds():
        raise ValueError(f"Unknown job type {kind!r}.")
    queue = queue or get_queue()
    job_id = job_id_for(kind, params)
    run = None
    try:
        with submit_lock(queue, job_id):
            existing = active_run(session, queue, job_id)
            if existing is not None:
                existing.duplicate, existing.enqueued = True, True
                return existing
            run = create_run(session, kind, params, trigger=trigger, actor=actor, schedule_id=schedule_id,
                             retry_of_id=retry_of_id)
            run.rq_job_id = job_id
            session.commit()
            enqueue_job(queue, run)
    except RedisError:
        if run is None or run.id is None:
            raise
        log.warning("run %s recorded but not queued: Redis failed", run.id, exc_info=True)
        session.rollback()
        run = session.get(SyncRun, run.id)
        if run.status == "queued":
            run.message = NOT_QUEUED_MESSAGE
            session.commit()
        run.duplicate, run.enqueued = False, False
        return run
    run.duplicate, run.enqueued = False, True
    return run


NOT_QUEUED_MESSAGE = ("Not queued yet: the job queue (Redis) did not answer. The colcw scheduler queues this run as "
                      "soon as Redis is reachable again.")


def active_run(session: Session, queue: Queue, job_id: str) -> SyncRun | None:
    """The run that RQ job ``job_id`` is waiting for or working on, if any."""
    job = _fetch(queue, job_id)
    if job is None or not job.args:
        return None
    run = session.get(SyncRun, job.args[0])
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        return None
    return run if _job_is_working(queue, job, run.id) else None


def submit_lock(queue: Queue, job_id: str):
    """The Redis lock that serialises "is this job active? then enqueue it" for one job id."""
    return queue.connection.lock(f"colcw:submit:{job_id}", timeout=60, blocking_timeout=60)


def enqueue_job(queue: Queue, run: SyncRun) -> Job:
    """Put a committed run on the queue under its job id (call under :func:`submit_lock`)."""
    old = _fetch(queue, run.rq_job_id)
    if old is not None:
        old.delete()  # a finished, failed or abandoned job of the same id: its history is in our tables
    intervals = [int(x) for x in config("COLCW_RETRY_INTERVALS")]
    return queue.enqueue(
        run_job, run.id, job_id=run.rq_job_id,
        description=f"colcw run #{run.id}: {run.description} ({run.trigger}, by {run.requested_by})",
        meta={"colcw_run_id": run.id, "kind": run.kind, "trigger": run.trigger, "requested_by": run.requested_by,
              "description": run.description},
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=int(config("COLCW_JOB_TIMEOUT")), result_ttl=7 * 86400, failure_ttl=30 * 86400)


def enqueue_existing(session: Session, run: SyncRun, queue: Queue | None = None) -> bool:
    """Enqueue a run that is already recorded as queued (scheduler, resume, lost runs). False if a job
    for the same work is already waiting or running."""
    queue = queue or get_queue()
    run.rq_job_id = run.rq_job_id or job_id_for(run.kind, run.params or {})
    with submit_lock(queue, run.rq_job_id):
        other = active_run(session, queue, run.rq_job_id)
        if other is not None and other.id != run.id:
            return False
        if other is None:
            session.commit()
            enqueue_job(queue, run)
    return True


# --- the job ------------------------------------------------------------------------------------

_worker_app: Flask | None = None


def _job_app() -> Flask:
    """The app a job runs in: the worker's (created once per worker process), or the current one."""
    global _worker_app
    if _worker_app is not None:
        return _worker_app
    if has_app_context():
        return current_app._get_current_object()
    from host_stub import create_app

    _worker_app = create_app()
    return _worker_app


def run_job(run_id: int) -> str:
    """The RQ job: run ``run_id`` to its end (see the module doc)."""
    from host_stub.extensions import db

    from ...extension import secret_box, shared_rate_limiter

    app = _job_app()
    with app.app_context():  # a context of its own: its own database session
        session = db.session
        if not claim(session, run_id):
            run = session.get(SyncRun, run_id)
            return f"run #{run_id} is {run.status if run else 'gone'}; nothing to do"
        job = get_current_job()
        last_attempt = job is None or not job.retries_left
        with liveness(redis_connection(app), run_id, int(config("COLCW_LIVENESS_SECONDS"))):
            try:
                run = execute_run(session, secret_box(), run_id, reraise_transient=not last_attempt,
                                  rate_limiter=shared_rate_limiter(session))
            except ConnectWiseError as e:
                if not e.transient:
                    _no_retry(job)
                raise
            except Exception:
                _no_retry(job)
                raise
        if run.status == "failed":
            _no_retry(job)
            raise RunFailed(f"run #{run_id} failed: {run.message}")
        return f"run #{run_id} {run.status}: {run.message}"


def _no_retry(job: Job | None) -> None:
    # RQ's Retry cannot tell errors apart: a permanent failure empties the retries before raising.
    if job is not None:
        job.retries_left = 0


def claim(session: Session, run_id: int) -> bool:
    """Take a queued or interrupted run for this worker (atomic: of two deliveries, one wins)."""
    result = session.execute(update(SyncRun).where(SyncRun.id == run_id,
                                                   SyncRun.status.in_(("queued", "interrupted")))
                             .values(status="running", heartbeat_at=utcnow()))
    session.commit()
    return result.rowcount == 1


@contextmanager
def liveness(conn: Redis, run_id: int, ttl: int) -> Iterator[None]:
    """Keep ``colcw:run:<id>:alive`` in Redis while the job runs; it expires ``ttl`` s after a crash."""
    stop = threading.Event()
    key = alive_key(run_id)
    conn.set(key, os.getpid(), ex=ttl)

    def beat():
        while not stop.wait(max(ttl / 3, 0.2)):
            try:
                conn.set(key, os.getpid(), ex=ttl)
            except Exception:  # noqa: BLE001 - a Redis blip must not kill the job; the next beat retries
                log.warning("could not refresh the liveness of run %s", run_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"colcw-liveness-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        conn.delete(key)


# --- interrupted runs, lost runs, resume ----------------------------------------------------------


def detect_interrupted(session: Session, queue: Queue | None = None, *, stale_seconds: float | None = None,
                       now: dt.datetime | None = None) -> list[int]:
    """Mark runs whose worker died as ``interrupted``; return their ids."""
    queue = queue or get_queue()
    stale = stale_seconds if stale_seconds is not None else config("COLCW_INTERRUPTED_AFTER_SECONDS")
    cutoff = (now or utcnow()) - dt.timedelta(seconds=stale)
    runs = session.execute(select(SyncRun).where(SyncRun.status == "running", SyncRun.heartbeat_at < cutoff)).scalars()
    found = []
    for run in list(runs):
        if _job_is_working(queue, _fetch(queue, run.rq_job_id), run.id):
            continue
        result = session.execute(update(SyncRun).where(
            SyncRun.id == run.id, SyncRun.status == "running", SyncRun.heartbeat_at == run.heartbeat_at).values(
            status="interrupted", finished_at=utcnow(),
            message=(f"Interrupted: the worker stopped after {run.done} of {run.total or '?'} records "
                     f"(last heartbeat {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC). Resume it to finish the rest; "
                     "records already done are skipped.")))
        if result.rowcount:
            found.append(run.id)
            log.warning("sync run %s marked interrupted", run.id)
    session.commit()
    return found


def requeue_lost(session: Session, queue: Queue | None = None, *, older_than_seconds: float | None = None,
                 now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue queued runs that RQ does not hold (Redis lost them, or a process died between the
    commit and the enqueue): a recorded run is never silently dropped."""
    queue = queue or get_queue()
    age = older_than_seconds if older_than_seconds is not None else config("COLCW_LOST_AFTER_SECONDS")
    cutoff = (now or utcnow()) - dt.timedelta(seconds=age)
    runs = session.execute(select(SyncRun).where(SyncRun.status == "queued", SyncRun.created_at < cutoff)).scalars()
    requeued = []
    for run in list(runs):
        if _job_is_working(queue, _fetch(queue, run.rq_job_id), run.id):
            continue
        if run.message == NOT_QUEUED_MESSAGE:
            run.message = "Queued by the scheduler once the job queue (Redis) answered again."
        if enqueue_existing(session, run, queue):
            requeued.append(run.id)
        else:
            session.rollback()
    return requeued


def resume(session: Session, run_id: int, *, actor: dict | None = None, queue: Queue | None = None) -> SyncRun:
    """Re-enqueue an interrupted run (the same run; completed records are skipped)."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"Run #{run_id} does not exist.")
    if run.status != "interrupted":
        raise ValueError(f"Run #{run_id} is {run.status}; only an interrupted run can be resumed.")
    who = (actor or {}).get("email") or (actor or {}).get("name") or "system"
    run.status = "queued"
    run.message = f"Resumed by {who} after {run.done} records."
    run.duplicate = not enqueue_existing(session, run, queue)
    if run.duplicate:
        session.rollback()
        run = session.get(SyncRun, run_id)
        run.duplicate = True
    return run


CANCELLABLE = ("queued", "interrupted")


def cancel(session: Session, run_id: int, *, actor: dict | None = None, queue: Queue | None = None) -> SyncRun:
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
    who = (actor or {}).get("email") or (actor or {}).get("name") or "system"
    before = run.status
    changed = session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(CANCELLABLE)).values(
        status="cancelled", finished_at=utcnow(),
        message=f"Cancelled by {who} while {before} ({run.done} of {run.total or '?'} records done).")).rowcount
    session.commit()
    session.expire_all()
    run = session.get(SyncRun, run_id)
    if not changed:
        raise ValueError(f"Run #{run_id} is {run.status}; only a queued or interrupted run can be cancelled.")
    queue = queue or get_queue()
    job = _fetch(queue, run.rq_job_id) if run.rq_job_id else None
    if job is not None and job.args and job.args[0] == run_id and job.get_status(refresh=True) in WAITING:
        job.delete()
    return run


# --- history ----------------------------------------------------------------------------------------


def purge_history(session: Session, days: int, *, now: dt.datetime | None = None) -> int:
    """Delete finished runs (and their records) created more than ``days`` days ago."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    old = select(SyncRun.id).where(SyncRun.created_at < cutoff, SyncRun.status.not_in(ACTIVE_RUN_STATUSES))
    session.execute(delete(SyncItem).where(SyncItem.run_id.in_(old)))
    result = session.execute(delete(SyncRun).where(SyncRun.id.in_(old)))
    session.commit()
    return result.rowcount


def maybe_purge(session: Session, conn: Redis, days: int, *, every_seconds: int = 3600) -> int | None:
    """Purge at most once per ``every_seconds`` across all schedulers; None when not due."""
    if not conn.set("colcw:history:purged", utcnow().isoformat(), nx=True, ex=every_seconds):
        return None
    return purge_history(session, days)


def run_status(session: Session, run_id: int) -> dict | None:
    """A run's progress as the JSON the progress bar polls."""
    session.expire_all()
    run = session.get(SyncRun, run_id)
    if run is None:
        return None
    from .recorder import FINAL_STATUSES

    final = run.status in FINAL_STATUSES
    # 100 % only when the run has closed, whatever its counts say.
    percent = 100 if final else (min(99, round(100 * run.done / run.total)) if run.total else 0)
    return {"id": run.id, "kind": run.kind, "label": kinds()[run.kind].label if run.kind in kinds() else run.kind,
            "description": run.description, "status": run.status, "final": final, "done": run.done,
            "total": run.total, "percent": percent,
            "counts": dict(run.counts or {}), "records": run.records_summary, "message": run.message or "",
            "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "requested_by": run.requested_by, "trigger": run.trigger}


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(tzinfo=dt.UTC).isoformat() if value else None


# --- command -----------------------------------------------------------------------------------------


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit.")
@click.option("--simple", is_flag=True, help="Run jobs in the worker process instead of a forked one.")
@with_appcontext
def worker_command(burst: bool, simple: bool) -> None:
    """Run an RQ worker on colcw's queue (with RQ's scheduler, which retries need)."""
    from rq import SimpleWorker, Worker

    from host_stub.extensions import db

    global _worker_app
    _worker_app = current_app._get_current_object()
    engine = db.engine
    # A forked job must not share the parent's pooled database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    queue = get_queue()
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([queue], connection=queue.connection)
    click.echo(f"colcw worker on queue {queue.name!r} ({'burst' if burst else 'waiting for jobs'})")
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
