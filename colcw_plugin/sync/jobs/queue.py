"""Runs on RQ: the job queue, submitting a run, the job's body, the worker. The only module that imports rq.

* :func:`submit` creates the run record (:func:`~.runs.create_run`), commits it, and enqueues a
  job whose only argument is the run id. The job id is deterministic — ``colcw-<kind>-<digest of
  the params>`` — so the same job is never queued twice while one is pending or running: a
  second submit returns the existing run with ``run.duplicate = True``.
* :func:`perform` is the job's body (the composition root's ``run_job`` calls it inside the app):
  it claims the run (``queued``/``interrupted`` → ``running``, compare-and-set, so a job delivered
  twice runs once), keeps a liveness key in Redis while it works and executes the run. Transient
  ConnectWise failures are re-raised and RQ retries them with back-off (``Retry``; the worker
  runs with its scheduler). A permanent failure sets ``retries_left = 0`` before raising, so RQ
  does not retry it.
* :class:`JobQueue` is what the rest of colcw knows of RQ: enqueue a run, tell whether a job is
  waiting for or working on a run, withdraw a waiting job, the per-job submit lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis, RedisError
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...cw import ConnectWiseError
from ...models import ACTIVE_RUN_STATUSES, RunStatus, SyncRun
from .kinds import KindRegistry
from .runs import create_run

log = logging.getLogger(__name__)

WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# The job function RQ imports in the worker: the composition root binds the app, then calls perform().
JOB_FUNCTION = "colcw_plugin.extension.run_job"
NOT_QUEUED_MESSAGE = ("Not queued yet: the job queue (Redis) did not answer. The colcw scheduler queues this run as "
                      "soon as Redis is reachable again.")


class RunFailed(Exception):
    """The run closed as failed: the RQ job fails too (visible in rq-dashboard) and is not retried."""


@dataclass(frozen=True)
class QueueSettings:
    """How jobs are queued and watched (``COLCW_*`` settings; the defaults suit production)."""

    name: str = "colcw"
    retry_intervals: tuple[int, ...] = (30, 120, 600)  # seconds between attempts after a transient failure
    job_timeout: int = 6 * 3600  # a full sync of a big tenant may take hours
    liveness_seconds: int = 30  # the liveness key of a running job expires this long after its worker died
    interrupted_after_seconds: float = 120  # a running run's heartbeat must be this old to be judged
    lost_after_seconds: float = 60  # a queued run with no RQ job this long is re-enqueued


def job_id_for(kind: str, params: dict) -> str:
    """The deterministic RQ job id of a kind with its params: equal jobs get equal ids."""
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)
    return f"colcw-{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def alive_key(run_id: int) -> str:
    return f"colcw:run:{run_id}:alive"


class JobQueue:
    """colcw's RQ queue and what the jobs engine asks of it."""

    def __init__(self, connection: Redis, settings: QueueSettings = QueueSettings()):
        self.connection = connection
        self.settings = settings
        self.rq = Queue(settings.name, connection=connection)

    @property
    def name(self) -> str:
        return self.rq.name

    def fetch(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None

    def is_working(self, job_id: str | None, run_id: int) -> bool:
        """Is RQ job ``job_id`` waiting for, or working on, ``run_id``?"""
        job = self.fetch(job_id) if job_id else None
        if job is None or not job.args or job.args[0] != run_id:
            return False
        status = job.get_status(refresh=True)
        if status in WAITING:
            return True
        # "started" stays in Redis when a worker is killed; the liveness key does not survive it.
        return status == JobStatus.STARTED and bool(self.connection.exists(alive_key(run_id)))

    def run_of(self, job_id: str) -> int | None:
        """The run id job ``job_id`` carries, if the job exists."""
        job = self.fetch(job_id)
        return job.args[0] if job is not None and job.args else None

    def lock(self, job_id: str):
        """The Redis lock that serialises "is this job active? then enqueue it" for one job id."""
        return self.connection.lock(f"colcw:submit:{job_id}", timeout=60, blocking_timeout=60)

    def enqueue(self, run: SyncRun) -> Job:
        """Put a committed run on the queue under its job id (call under :meth:`lock`)."""
        old = self.fetch(run.rq_job_id)
        if old is not None:
            old.delete()  # a finished, failed or abandoned job of the same id: its history is in our tables
        intervals = [int(x) for x in self.settings.retry_intervals]
        return self.rq.enqueue(
            JOB_FUNCTION, run.id, job_id=run.rq_job_id,
            description=f"colcw run #{run.id}: {run.description} ({run.trigger}, by {run.requested_by})",
            meta={"colcw_run_id": run.id, "kind": run.kind, "trigger": run.trigger,
                  "requested_by": run.requested_by, "description": run.description},
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
            job_timeout=int(self.settings.job_timeout), result_ttl=7 * 86400, failure_ttl=30 * 86400)

    def withdraw(self, run: SyncRun) -> None:
        """Delete the run's job if it is still waiting (a stray delivery would find nothing to do)."""
        job = self.fetch(run.rq_job_id) if run.rq_job_id else None
        if job is not None and job.args and job.args[0] == run.id and job.get_status(refresh=True) in WAITING:
            job.delete()

    @contextmanager
    def liveness(self, run_id: int) -> Iterator[None]:
        """Keep ``colcw:run:<id>:alive`` in Redis while a job runs; it expires soon after a crash."""
        ttl = int(self.settings.liveness_seconds)
        stop = threading.Event()
        key = alive_key(run_id)
        self.connection.set(key, os.getpid(), ex=ttl)

        def beat():
            while not stop.wait(max(ttl / 3, 0.2)):
                try:
                    self.connection.set(key, os.getpid(), ex=ttl)
                except Exception:  # noqa: BLE001 - a Redis blip must not kill the job; the next beat retries
                    log.warning("could not refresh the liveness of run %s", run_id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"colcw-liveness-{run_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)
            self.connection.delete(key)


# --- submit ---------------------------------------------------------------------------------------


def active_run(session: Session, queue: JobQueue, job_id: str) -> SyncRun | None:
    """The run that RQ job ``job_id`` is waiting for or working on, if any."""
    run_id = queue.run_of(job_id)
    run = session.get(SyncRun, run_id) if run_id is not None else None
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        return None
    return run if queue.is_working(job_id, run.id) else None


def submit(session: Session, queue: JobQueue, kinds: KindRegistry, kind: str, params: dict, *,
           trigger: str = "manual", actor: dict | None = None, schedule_id: int | None = None,
           retry_of_id: int | None = None, record_when_queue_down: bool = False) -> SyncRun:
    """Create a run and enqueue it; or return the run already queued / running for the same job.

    The returned run has ``duplicate`` True when nothing new was created, and ``enqueued`` False
    when it was recorded but Redis failed before it was queued: it stays ``queued`` with a message
    saying so, and the scheduler's ``requeue_lost`` queues it once Redis answers again. A
    :class:`redis.RedisError` before anything was recorded propagates, unless
    ``record_when_queue_down`` (an event that will not fire again): then the run is recorded
    unqueued all the same. Commits the session.
    """
    job_id = job_id_for(kind, params)
    run = None
    try:
        with queue.lock(job_id):
            existing = active_run(session, queue, job_id)
            if existing is not None:
                existing.duplicate, existing.enqueued = True, True
                return existing
            run = create_run(session, kinds, kind, params, trigger=trigger, actor=actor, schedule_id=schedule_id,
                             retry_of_id=retry_of_id)
            run.rq_job_id = job_id
            session.commit()
            queue.enqueue(run)
    except RedisError:
        if (run is None or run.id is None) and not record_when_queue_down:
            raise
        log.warning("run of %s recorded but not queued: Redis failed", kind, exc_info=True)
        session.rollback()
        run = _unqueued_run(session, kinds, kind, params, job_id, run.id if run is not None else None,
                            trigger=trigger, actor=actor)
        run.duplicate, run.enqueued = False, False
        return run
    run.duplicate, run.enqueued = False, True
    return run


def _unqueued_run(session: Session, kinds: KindRegistry, kind: str, params: dict, job_id: str, run_id: int | None,
                  *, trigger: str, actor: dict | None) -> SyncRun:
    """The run recorded before Redis failed, or a new one, marked as not queued yet."""
    run = session.get(SyncRun, run_id) if run_id is not None else None
    if run is None:
        run = create_run(session, kinds, kind, params, trigger=trigger, actor=actor)
        run.rq_job_id = job_id
    if run.status == RunStatus.QUEUED:
        run.message = NOT_QUEUED_MESSAGE  # requeue_lost replaces it when it queues the run
    session.commit()
    return run


def enqueue_existing(session: Session, queue: JobQueue, run: SyncRun) -> bool:
    """Enqueue a run that is already recorded as queued (scheduler, resume, lost runs). False if a job
    for the same work is already waiting or running."""
    run.rq_job_id = run.rq_job_id or job_id_for(run.kind, run.params or {})
    with queue.lock(run.rq_job_id):
        other = active_run(session, queue, run.rq_job_id)
        if other is not None and other.id != run.id:
            return False
        if other is None:
            session.commit()
            queue.enqueue(run)
    return True


# --- the job and the worker -------------------------------------------------------------------------


def claim(session: Session, run_id: int) -> bool:
    """Take a queued or interrupted run for this worker (atomic: of two deliveries, one wins)."""
    result = session.execute(update(SyncRun).where(SyncRun.id == run_id,
                                                   SyncRun.status.in_((RunStatus.QUEUED, RunStatus.INTERRUPTED)))
                             .values(status=RunStatus.RUNNING, heartbeat_at=utcnow()))
    session.commit()
    return result.rowcount == 1


def perform(session: Session, queue: JobQueue, run_id: int, execute: Callable[..., SyncRun]) -> str:
    """The RQ job's body: claim ``run_id`` and run it to its end with ``execute(session, run_id,
    reraise_transient=...)`` (see the module doc)."""
    if not claim(session, run_id):
        run = session.get(SyncRun, run_id)
        return f"run #{run_id} is {run.status if run else 'gone'}; nothing to do"
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    with queue.liveness(run_id):
        try:
            run = execute(session, run_id, reraise_transient=not last_attempt)
        except ConnectWiseError as e:
            if not e.transient:
                _no_retry(job)
            raise
        except Exception:
            _no_retry(job)
            raise
    if run.status == RunStatus.FAILED:
        _no_retry(job)
        raise RunFailed(f"run #{run_id} failed: {run.message}")
    return f"run #{run_id} {run.status}: {run.message}"


def _no_retry(job: Job | None) -> None:
    # RQ's Retry cannot tell errors apart: a permanent failure empties the retries before raising.
    if job is not None:
        job.retries_left = 0


def work(queue: JobQueue, *, burst: bool = False, simple: bool = False) -> None:
    """Run an RQ worker on colcw's queue (with RQ's scheduler, which retries need)."""
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([queue.rq], connection=queue.connection)
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
