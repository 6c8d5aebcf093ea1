"""Runs on RQ: the job queue, submitting a run, the job's body, the worker. The only module that imports rq.

* :func:`submit` creates the run record (:func:`~.runs.create_run`), commits it, and enqueues a
  job whose only argument is the run id. Every run owns its jobs: the job id is the run's
  (``colcw-run-<id>-<attempt token>``), so no later submission can take over a run's job. The same
  work (kind and params) is not queued twice while a run of it is queued, running or waiting: under
  a Redis lock per work, :func:`find_active` looks for such a run in the database and :func:`submit` gives it back
  (:class:`Submitted` with ``duplicate``) — re-enqueueing it first if RQ lost its job, so it starts even when no
  colcw scheduler runs.
* :func:`perform` is the job's body (the composition root's ``run_job`` calls it inside the app):
  it claims the run (``queued``/``waiting``/``interrupted`` → ``running``, compare-and-set, so a job
  delivered twice runs once), keeps a liveness key in Redis while it works and runs one attempt.
  When the attempt ends with records (or the whole run) waiting for ConnectWise, the run is
  ``waiting`` and its next attempt is enqueued with a delay (``enqueue_at``: the worker runs with
  RQ's scheduler; the colcw scheduler also releases overdue ones, in case the worker holding RQ's
  scheduler died).
* :class:`JobQueue` is what the rest of colcw knows of RQ: enqueue a run, tell whether a job is
  waiting for or working on a run, withdraw a waiting job, the per-work submit lock, how many
  workers listen and what the busy ones run.
* Two RQ queues: ``colcw`` (``COLCW_QUEUE``) and ``colcw-live`` (:func:`live_queue_name`), for the short runs a
  person or a page waits on (:meth:`~.kinds.KindRegistry.urgent`: live updates, a rep's export of one record, the
  Won of a converted order). Every worker takes ``colcw-live`` first (RQ takes a worker's queues in order), and
  ``colcw worker --queues live`` runs a worker on it alone, so such a run never waits behind a bulk run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis, RedisError
from redis.exceptions import LockNotOwnedError
from rq import Queue, SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.utils import utcparse
from rq.worker import WorkerStatus
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...errors import QueueBusy
from ...models import ACTIVE_RUN_STATUSES, RunStatus, SyncRun
from .clocks import ClockWatch
from .database import unavailable, unavailable_error
from .kinds import KindRegistry
from .runs import create_run

log = logging.getLogger(__name__)

WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
LIVE_SUFFIX = "-live"


def live_queue_name(name: str) -> str:
    """The queue of the urgent runs beside colcw's queue ``name`` (``colcw`` → ``colcw-live``)."""
    return f"{name}{LIVE_SUFFIX}"
# The job function RQ imports in the worker: the composition root binds the app, then calls perform().
JOB_FUNCTION = "colcw_plugin.extension.run_job"
# A job's meta flag: its run works on one record a person waits for, and the worker runs it in its own process
# (:class:`ColcwWorker`, :attr:`~.kinds.JobKind.one_record`).
IN_PROCESS = "colcw_in_process"
NOT_QUEUED_MESSAGE = ("Not queued yet: the job queue (Redis) did not answer. The colcw scheduler queues this run as "
                      "soon as Redis is reachable again.")
# (An event's run whose submit found another request queueing the same work: it is not lost, nor Redis down.)
NOT_QUEUED_BUSY_MESSAGE = ("Not queued yet: another request was queueing the same job at the time. The colcw scheduler "
                           "queues this run shortly.")


class RunFailed(Exception):
    """The run closed as failed: the RQ job fails too (visible in rq-dashboard) and is not retried."""


class RunNotTaken(Exception):
    """colcw's database refused or dropped the worker's connection as it took the run (:func:`claim`): nothing of the
    run was written, so it stays as it was (queued or waiting) for the scheduler to queue again
    (``recovery.requeue_lost``). The RQ job fails saying so, in place of the driver's traceback alone."""


@dataclass(frozen=True)
class QueueSettings:
    """How jobs are queued and watched (``COLCW_*`` settings; the defaults suit production)."""

    name: str = "colcw"
    retry_intervals: tuple[float, ...] = (30, 120, 600)  # seconds between a run's attempts while ConnectWise fails
    record_retry_intervals: tuple[float, ...] = (2, 10)  # seconds between passes over failed records in an attempt
    unreachable_after: int = 3  # records failing transiently in a row: the whole run waits
    auto_resumes: int = 3  # a run whose worker died is resumed this often without a person
    job_timeout: int = 6 * 3600  # a full sync of a big tenant may take hours
    liveness_seconds: int = 30  # the liveness key of a running job expires this long after its worker died
    interrupted_after_seconds: float = 120  # a running run's heartbeat must be this old to be judged
    # A running run's pages say "no progress since …" once its heartbeat is this old while its worker lives.
    stalled_after_seconds: float = 60
    lost_after_seconds: float = 60  # a queued run with no RQ job this long is re-enqueued
    # How long a submit waits for another request queueing the same work (JobQueue.lock) before it gives up.
    submit_lock_wait_seconds: float = 60
    # The submit lock expires this long after its holder last renewed it (it renews it every third of that while it
    # works): only a holder that died, or stopped for that long, lets another request in.
    submit_lock_seconds: float = 60


def canonical_params(params: dict | None) -> str:
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)


def work_key(kind: str, params: dict) -> str:
    """What "the same work" is: a kind with its params (the submit lock's name)."""
    return f"colcw-{kind}-{hashlib.sha256(canonical_params(params).encode()).hexdigest()[:20]}"


def job_prefix(run_id: int) -> str:
    """What the ids of a run's jobs begin with (:func:`new_job_id`)."""
    return f"colcw-run-{run_id}-"


def new_job_id(run_id: int) -> str:
    """A fresh RQ job id for one attempt of a run: only this run's attempt ever carries it."""
    return f"{job_prefix(run_id)}{uuid.uuid4().hex[:8]}"


JOB_ID = re.compile(r"colcw-run-([1-9][0-9]*)-[0-9a-f]{8}")  # new_job_id's; also given to the dashboard's script


def run_id_of(job_id: str) -> int | None:
    """The run a job id of :func:`new_job_id`'s names, read from the id alone (no Redis); None for another id."""
    m = JOB_ID.fullmatch(job_id or "")
    return int(m.group(1)) if m else None


def alive_key(run_id: int) -> str:
    return f"colcw:run:{run_id}:alive"


# RQ's statuses of a job whose process ended without its run closing: the work horse died (killed, out of memory),
# RQ stopped it, or an error escaped the job.
ENDED = (JobStatus.FAILED, JobStatus.STOPPED)


@dataclass(frozen=True)
class Attempt:
    """What Redis knows of the attempt working on a running run (:meth:`JobQueue.attempt`), read in one round trip.

    ``ended``: RQ closed the attempt's job (failed or stopped) while the run still says it runs: the process that
    ran it is gone — the worker saw its work horse end ("Work-horse terminated unexpectedly"), at ``ended_at`` (naive
    UTC), or RQ gave the job up as abandoned once its liveness key had expired too. Nothing works on the run any
    more. ``alive``: its liveness key is there (a process beat for it within ``liveness_seconds``; a killed one's
    lingers that long). ``scheduler``: a colcw scheduler leads (the one that resumes runs whose worker died), when
    asked."""

    ended: bool
    alive: bool
    ended_at: dt.datetime | None = None
    scheduler: bool | None = None


class JobQueue:
    """colcw's RQ queue and what the jobs engine asks of it."""

    def __init__(self, connection: Redis, settings: QueueSettings = QueueSettings(),
                 in_process: Callable[[str, dict], bool] | None = None,
                 urgent: Callable[[str, dict], bool] | None = None):
        """``in_process(kind, params)``: whether a run's jobs are run in the worker's own process
        (:meth:`~.kinds.KindRegistry.one_record`; without it every job forks). ``urgent(kind, params)``: whether a
        run's jobs go on the live queue (:meth:`~.kinds.KindRegistry.urgent`; without it none does)."""
        self.connection = connection
        self.settings = settings
        self.in_process = in_process
        self.urgent = urgent
        self.rq = Queue(settings.name, connection=connection)  # the general queue
        self.live = Queue(live_queue_name(settings.name), connection=connection)

    @property
    def name(self) -> str:
        return self.rq.name

    @property
    def queues(self) -> tuple[Queue, Queue]:
        """Both of colcw's queues, in the order a worker takes them: the live queue first."""
        return (self.live, self.rq)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues)

    def is_urgent(self, kind: str, params: dict | None) -> bool:
        return bool(self.urgent is not None and self.urgent(kind, params or {}))

    def queue_for(self, kind: str, params: dict | None) -> Queue:
        """The queue a run of ``kind`` with ``params`` goes on: the live queue for an urgent one."""
        return self.live if self.is_urgent(kind, params) else self.rq

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

    def attempt(self, job_id: str | None, run_id: int, *, leader_key: str | None = None) -> Attempt:
        """What Redis knows of ``job_id``'s attempt at ``run_id`` (:class:`Attempt`): the job's status and end, the
        run's liveness key and, with ``leader_key``, whether that key (the colcw scheduler's lock) is held — one
        round trip, for pages that ask every few seconds. A job id that is not the run's (:func:`run_id_of`) is not
        read: nothing is known of it. RedisError when Redis does not answer."""
        pipe = self.connection.pipeline(transaction=False)
        mine = bool(job_id) and run_id_of(job_id) == run_id
        if mine:
            pipe.hmget(Job.key_for(job_id), "status", "ended_at")
        pipe.exists(alive_key(run_id))
        if leader_key:
            pipe.exists(leader_key)
        answers = pipe.execute()
        status = ended_at = None
        if mine:
            raw_status, raw_end = answers.pop(0)
            status = raw_status.decode() if isinstance(raw_status, bytes) else raw_status
            if raw_end:
                try:
                    ended_at = utcparse(raw_end.decode() if isinstance(raw_end, bytes) else raw_end).replace(tzinfo=None)
                except ValueError:
                    ended_at = None
        alive = bool(answers.pop(0))
        scheduler = bool(answers.pop(0)) if leader_key else None
        # A job RQ failed as abandoned (no end written: its worker's heartbeat lapsed) counts as ended only once the
        # run's own liveness key has expired too: a worker merely cut off from Redis for a while may still work.
        ended = status in ENDED and (ended_at is not None or not alive)
        return Attempt(ended=ended, alive=alive, ended_at=ended_at if ended else None, scheduler=scheduler)

    def run_of(self, job_id: str) -> int | None:
        """The run a job of colcw's (:data:`JOB_FUNCTION`) runs; None for another job, or none."""
        job = self.fetch(job_id)
        return job.args[0] if job is not None and job.func_name == JOB_FUNCTION and job.args else None

    def failed_job_ids(self, name: str | None = None) -> list[str]:
        """The jobs of colcw's queues (or of its queue ``name`` alone) in RQ's failed registries."""
        return [job_id for q in self.queues if name in (None, q.name) for job_id in q.failed_job_registry.get_job_ids()]

    def _run_entries(self, registry, run_id: int) -> list[str]:
        """The entries ``registry`` holds for ``run_id``'s jobs. Redis picks them by the run's job id prefix
        (:func:`job_prefix`; ZSCAN ... MATCH), so neither the whole registry nor any other run's job comes over."""
        return [member.decode() if isinstance(member, bytes) else member
                for member, _ in self.connection.zscan_iter(registry.key, match=f"{job_prefix(run_id)}*", count=500)]

    def remove_stale(self, run_id: int, keep: str | None = None) -> int:
        """Delete the jobs of ``run_id`` (but ``keep``) that RQ's failed or started registry holds, once colcw retried
        or resumed the run: the dashboard then agrees with the job history. A failed one offers a Requeue that would
        redo the run a second time; a started one is a dead worker's (colcw took the run for dead: its liveness key
        expired), which RQ moves to Failed once its heartbeat lapses, after the run went on. (An attempt taken for dead
        that still runs does nothing more: :func:`perform`.) Only the run's own entries are read
        (:meth:`_run_entries`). How many jobs it deleted."""
        removed = set()
        for registry in (r for q in self.queues for r in (q.failed_job_registry, q.started_job_registry)):
            for entry in self._run_entries(registry, run_id):
                job_id = registry.parse_job_id(entry)  # a started job's entry is "<job id>:<execution id>"
                if job_id == keep:
                    continue
                self.delete_job(job_id)
                self.connection.zrem(registry.key, entry)  # an execution the job no longer lists, an expired job's id
                removed.add(job_id)
        return len(removed)

    def _registries(self) -> tuple:
        return tuple(r for q in self.queues for r in (q.scheduled_job_registry, q.deferred_job_registry,
                                                      q.failed_job_registry, q.finished_job_registry,
                                                      q.canceled_job_registry))

    def _leftover_job_ids(self) -> list[str]:
        """colcw's jobs no worker is running: waiting, scheduled, deferred, failed, finished or cancelled."""
        ids = dict.fromkeys(job_id for q in self.queues for job_id in q.get_job_ids())
        for registry in self._registries():
            ids.update(dict.fromkeys(registry.get_job_ids()))
        return list(ids)

    def leftover_jobs(self) -> int | None:
        """How many of colcw's jobs :meth:`purge` would delete (None: Redis did not answer)."""
        try:
            return len(self._leftover_job_ids())
        except RedisError:
            log.warning("could not count colcw's jobs: Redis failed", exc_info=True)
            return None

    def purge(self) -> int | None:
        """Delete colcw's jobs that no worker is running, from the queue and every registry (Reset: their runs
        are gone, and a requeued one would find nothing). A job a worker runs is left to end by itself.
        Returns how many were deleted (None: Redis did not answer)."""
        try:
            deleted = 0
            for job_id in self._leftover_job_ids():
                job = self.fetch(job_id)
                if job is None:  # an expired job's id left in a registry
                    for registry in self._registries():
                        registry.remove(job_id)
                    for q in self.queues:
                        q.remove(job_id)
                elif job.get_status(refresh=True) != JobStatus.STARTED:
                    job.delete()
                    deleted += 1
            return deleted
        except RedisError:
            log.warning("could not delete colcw's jobs: Redis failed", exc_info=True)
            return None

    def delete_job(self, job_id: str) -> None:
        """Delete a job (from whichever registry holds it). A dead worker's started job whose execution RQ already
        let expire (its hash outlives the worker by a heartbeat's TTL only) makes RQ's own ``Job.delete`` fail with
        ``ValueError: Execution … not found in Redis`` before it deleted anything: that job is then taken out of
        colcw's queues, every registry and its keys here (:meth:`_forget`)."""
        job = self.fetch(job_id)
        if job is None:
            return
        try:
            job.delete()
        except ValueError:
            log.info("job %s: RQ could not delete it (an execution of it expired); removing it by its keys", job_id,
                     exc_info=True)
            self._forget(job_id)

    def _forget(self, job_id: str) -> None:
        """Remove ``job_id`` from colcw's queues and RQ's registries of them (a started registry's entries are
        "<job id>:<execution id>"), delete its executions' keys, and the job's own keys, in one transaction."""
        executions = f"rq:executions:{job_id}"
        execution_ids = [e.decode() if isinstance(e, bytes) else e for e in self.connection.zrange(executions, 0, -1)]
        started = {q.started_job_registry.key: [m for m, _ in self.connection.zscan_iter(
            q.started_job_registry.key, match=f"{job_id}:*", count=500)] for q in self.queues}
        pipe = self.connection.pipeline()
        for q in self.queues:
            pipe.lrem(q.key, 0, job_id)
            for registry in self._registries():
                pipe.zrem(registry.key, job_id)
            pipe.zrem(q.started_job_registry.key, job_id, *started[q.started_job_registry.key])
        for execution_id in execution_ids:
            pipe.delete(f"rq:execution:{job_id}:{execution_id}")
        pipe.delete(executions, Job.key_for(job_id), Job.dependents_key_for(job_id),
                    f"{Job.redis_job_namespace_prefix}:{job_id}:dependencies")  # (RQ's own spelling of that key)
        pipe.execute()

    @contextmanager
    def lock(self, key: str, *, wait: float | None = None) -> Iterator[None]:
        """The Redis lock that serialises "is this work active? then enqueue it" for one work key, held while the
        block runs. It expires ``submit_lock_seconds`` (60 s) after it was last renewed, should its holder die; a
        thread renews it every third of that while the block runs, so a holder slower than that (a database that
        stalls) keeps it, and no second request queues the same work meanwhile. When another request holds it for
        longer than ``wait`` (``submit_lock_wait_seconds`` unless given: a second click queueing the same work,
        another tab, another web process): :class:`~colcw_plugin.errors.QueueBusy`, which is not a RedisError — the
        queue answered, and pages say that the work is being queued by another request, not that Redis is
        unreachable. RedisError when Redis does not answer before the block ran.

        Letting go of the lock never fails what the block did: a lock that expired meanwhile (its renewals did not
        reach Redis, or the process stood still) or a Redis that stops answering then is logged, not raised — the
        block's run is queued, and a page must not say otherwise (the lock expires by itself)."""
        seconds = self.settings.submit_lock_seconds
        held = self.connection.lock(f"colcw:submit:{key}", timeout=seconds, thread_local=False,
                                    blocking_timeout=self.settings.submit_lock_wait_seconds if wait is None else wait)
        if not held.acquire():  # (False once the wait ran out; RedisError when Redis does not answer)
            raise QueueBusy(key, self.settings.submit_lock_wait_seconds if wait is None else wait)

        def renew() -> bool:
            try:
                held.reacquire()  # its expiry starts again
            except LockNotOwnedError:  # it expired and went (the process stood still): nothing left to renew
                log.warning("the queue's lock for %s expired while its block ran", key)
                return False
            except RedisError:  # a blip: the next renewal tries again, before it expires
                log.warning("could not renew the queue's lock for %s", key, exc_info=True)
            return True

        try:
            with _every(max(seconds / 3, 0.05), renew, f"colcw-submit-lock-{key}"):
                yield
        finally:
            try:
                held.release()
            except RedisError:  # LockNotOwnedError (it expired: held longer than renewed), or Redis went away
                log.warning("the queue's lock for %s was not held any more when let go (its block had ended)", key,
                            exc_info=True)

    def enqueue(self, run: SyncRun, at: dt.datetime | None = None) -> Job:
        """Put a committed run on its queue (:meth:`queue_for`) under its own job id (``run.rq_job_id``, see
        :func:`new_job_id`), now or at ``at`` (naive UTC)."""
        kwargs = dict(
            job_id=run.rq_job_id,
            description=f"colcw run #{run.id}: {run.description} ({run.trigger}, by {run.requested_by})",
            meta={"colcw_run_id": run.id, "kind": run.kind, "trigger": run.trigger,
                  "requested_by": run.requested_by, "description": run.description,
                  IN_PROCESS: bool(self.in_process is not None and self.in_process(run.kind, run.params or {}))},
            job_timeout=int(self.settings.job_timeout), result_ttl=7 * 86400, failure_ttl=30 * 86400)
        queue = self.queue_for(run.kind, run.params)
        if at is not None and at > utcnow():
            return queue.enqueue_at(at.replace(tzinfo=dt.UTC), JOB_FUNCTION, run.id, **kwargs)
        return queue.enqueue(JOB_FUNCTION, run.id, **kwargs)

    def release_overdue(self, grace_seconds: float = 5.0) -> int:
        """Queue delayed jobs due more than ``grace_seconds`` ago that no RQ scheduler moved (the worker
        holding RQ's scheduler lock died); returns how many."""
        due = utcnow().replace(tzinfo=dt.UTC) - dt.timedelta(seconds=grace_seconds)
        released = 0
        for queue in self.queues:
            registry = ScheduledJobRegistry(queue=queue)
            for job_id in registry.get_jobs_to_schedule(int(due.timestamp())):
                job = self.fetch(job_id)
                if registry.remove(job_id) and job is not None:  # only the process that removed it queues it
                    queue.enqueue_job(job)
                    released += 1
        return released

    @staticmethod
    def length(connection: Redis, name: str) -> int:
        """How many jobs wait in the RQ queue ``name`` (any queue: the dashboard shows them all)."""
        return Queue(name, connection=connection).count

    def ended_within(self, job_id: str, seconds: int) -> bool:
        """Wait at most ``seconds`` for RQ job ``job_id`` to end (its result written: done, failed or left waiting for a
        later attempt) and say whether it did; at once when it already had. The wait blocks on Redis (``XREAD``
        of the job's results), not polling it, and holds no database connection."""
        job = self.fetch(job_id)
        return job is not None and job.latest_result(timeout=max(1, int(seconds))) is not None

    def workers(self, queue: Queue | None = None) -> int:
        """How many RQ workers listen on colcw's general queue (or on ``queue``), on any machine (a worker that died
        without saying so counts until its registration expires: RQ's worker TTL, seven minutes by default)."""
        return len(Worker.all(queue=queue if queue is not None else self.rq))

    def busy_with(self, kind: str, params: dict | None) -> Busy | None:
        """What keeps a queued run of ``kind`` with ``params`` from starting, from what Redis holds on every machine
        (RQ's worker registrations, colcw's queues): :class:`Busy` naming the runs (their ids) the workers that could
        take it are working on, and the jobs queued before it; its ``idle`` True when one of them is free (it starts
        in a moment). None when no worker listens on its queue. RedisError when Redis does not answer."""
        queue = self.queue_for(kind, params)
        workers = Worker.all(queue=queue)
        if not workers:
            return None
        running: list[int | str] = []
        idle = False
        for worker in workers:
            job_id = worker.get_current_job_id()
            if not job_id:
                idle = True
                continue
            running.append(run_id_of(job_id) or job_id)
        dedicated = any(w.queue_names() == [self.live.name] for w in workers)
        return Busy(running=running, idle=idle, urgent=queue is self.live, dedicated=dedicated)

    def ahead_of(self, run: SyncRun) -> int:
        """How many jobs wait on the run's queue before its job (0 when it is first, or not queued)."""
        if not run.rq_job_id:
            return 0
        position = self.queue_for(run.kind, run.params).get_job_position(run.rq_job_id)
        return int(position or 0)

    def withdraw(self, run: SyncRun) -> None:
        """Delete the run's job if it is still waiting (a stray delivery would find nothing to do)."""
        job = self.fetch(run.rq_job_id) if run.rq_job_id else None
        if job is not None and job.args and job.args[0] == run.id and job.get_status(refresh=True) in WAITING:
            job.delete()

    @contextmanager
    def liveness(self, run_id: int) -> Iterator[None]:
        """Keep ``colcw:run:<id>:alive`` in Redis while a job runs; it expires soon after a crash."""
        ttl = int(self.settings.liveness_seconds)
        key = alive_key(run_id)
        self.connection.set(key, os.getpid(), ex=ttl)

        def beat() -> bool:
            try:
                self.connection.set(key, os.getpid(), ex=ttl)
            except Exception:  # noqa: BLE001 - a Redis blip must not kill the job; the next beat retries
                log.warning("could not refresh the liveness of run %s", run_id, exc_info=True)
            return True

        try:
            with _every(max(ttl / 3, 0.2), beat, f"colcw-liveness-{run_id}"):
                yield
        finally:
            self.connection.delete(key)


@contextmanager
def _every(period: float, beat: Callable[[], bool], name: str) -> Iterator[None]:
    """Call ``beat`` every ``period`` seconds in a daemon thread while the block runs (until it returns False): a
    Redis key kept from expiring while its holder works (the queue's lock, a run's liveness). The thread is stopped and
    joined when the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(period):
            if not beat():
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Busy:
    """What the workers that could take a queued run are doing (:meth:`JobQueue.busy_with`): ``running``, the runs
    (ids; a job id for a job not colcw's) they work on; ``idle``, one of them is free; ``urgent``, the run goes on the
    live queue; ``dedicated``, a worker listens on the live queue alone."""

    running: list
    idle: bool
    urgent: bool
    dedicated: bool


# --- submit ---------------------------------------------------------------------------------------


def find_active(session: Session, queue: JobQueue, kind: str, params: dict, *,
                exclude: int | None = None) -> SyncRun | None:
    """A run of the same work (kind and params) that is queued, running or waiting, if any (call under
    :meth:`JobQueue.lock` of :func:`work_key`). A queued or waiting run whose job RQ lost is enqueued
    again here, so it starts whoever notices it first; a running one whose worker died is not
    returned (the scheduler marks it interrupted), nor is one an admin asked to stop (it is about to end: the
    same work asked for again is a new run)."""
    wanted = canonical_params(params)
    candidates = session.execute(select(SyncRun).where(SyncRun.kind == kind, SyncRun.status.in_(ACTIVE_RUN_STATUSES),
                                                       SyncRun.status != RunStatus.CANCELLING)
                                 .order_by(SyncRun.id)).scalars().all()
    for run in candidates:
        if run.id == exclude or canonical_params(run.params) != wanted:
            continue
        if queue.is_working(run.rq_job_id, run.id):
            return run
        if run.status in (RunStatus.QUEUED, RunStatus.WAITING):
            _enqueue_own(session, queue, run)
            return run
    return None


def _enqueue_own(session: Session, queue: JobQueue, run: SyncRun) -> None:
    """Give a recorded run a job of its own and queue it (at its next try when it waits)."""
    run.rq_job_id = new_job_id(run.id)
    session.commit()
    queue.enqueue(run, at=run.next_try_at if run.status == RunStatus.WAITING else None)


@dataclass(frozen=True)
class Submitted:
    """What :func:`submit` (or :func:`~.recovery.resume`) did with a run: ``run`` is the run queued now, or, when
    ``duplicate``, the run of the same work already queued, running or waiting (nothing new was queued: for a resume,
    ``run`` is the run asked for, left as it was); ``enqueued`` False when ``run`` is not in RQ (recorded but Redis
    failed before it was queued; a resume that found the same work active)."""

    run: SyncRun
    duplicate: bool
    enqueued: bool


def submit(session: Session, queue: JobQueue, kinds: KindRegistry, kind: str, params: dict, *,
           trigger: str = "manual", actor: dict | None = None, schedule_id: int | None = None,
           retry_of_id: int | None = None, record_when_queue_down: bool = False) -> Submitted:
    """Create a run and enqueue it; or give back the run already queued / running for the same job.

    :class:`Submitted`: ``duplicate`` True when nothing new was created, and ``enqueued`` False
    when it was recorded but Redis failed before it was queued: it stays ``queued`` with a message
    saying so, and the scheduler's ``requeue_lost`` queues it once Redis answers again. A
    :class:`redis.RedisError` before anything was recorded propagates, unless
    ``record_when_queue_down`` (an event that will not fire again): then the run is recorded
    unqueued all the same. Likewise :class:`~colcw_plugin.errors.QueueBusy` (another request held the same work's
    lock longer than :attr:`QueueSettings.submit_lock_wait_seconds`: nothing was looked at or queued). Commits the
    session.
    """
    key = work_key(kind, params)
    run = None
    try:
        with queue.lock(key):
            existing = find_active(session, queue, kind, params)
            if existing is not None:
                return Submitted(existing, duplicate=True, enqueued=True)
            run = create_run(session, kinds, kind, params, trigger=trigger, actor=actor, schedule_id=schedule_id,
                             retry_of_id=retry_of_id)
            run.rq_job_id = new_job_id(run.id)
            session.commit()
            queue.enqueue(run)
    except (RedisError, QueueBusy) as e:
        if (run is None or run.id is None) and not record_when_queue_down:
            raise
        busy = isinstance(e, QueueBusy)
        log.warning("run of %s recorded but not queued: %s", kind, e if busy else "Redis failed", exc_info=not busy)
        session.rollback()
        run = _unqueued_run(session, kinds, kind, params, run.id if run is not None else None,
                            trigger=trigger, actor=actor, message=NOT_QUEUED_BUSY_MESSAGE if busy else NOT_QUEUED_MESSAGE)
        return Submitted(run, duplicate=False, enqueued=False)
    return Submitted(run, duplicate=False, enqueued=True)


def _unqueued_run(session: Session, kinds: KindRegistry, kind: str, params: dict, run_id: int | None,
                  *, trigger: str, actor: dict | None, message: str = NOT_QUEUED_MESSAGE) -> SyncRun:
    """The run recorded before Redis failed (or another request held the same work's lock), or a new one, marked
    as not queued yet (``message`` says why)."""
    run = session.get(SyncRun, run_id) if run_id is not None else None
    if run is None:
        run = create_run(session, kinds, kind, params, trigger=trigger, actor=actor)
        run.rq_job_id = new_job_id(run.id)
    if run.status == RunStatus.QUEUED:
        run.message = message  # requeue_lost replaces it when it queues the run
    session.commit()
    return run


def enqueue_existing(session: Session, queue: JobQueue, run: SyncRun, *, lock_wait: float | None = None) -> bool:
    """Enqueue a run that is already recorded as queued or waiting (resume, lost runs) under a job of its
    own. False if another run of the same work is already queued, running or waiting. :class:`QueueBusy` when
    another request holds the work's lock longer than ``lock_wait`` (:meth:`JobQueue.lock`'s wait unless given)."""
    with queue.lock(work_key(run.kind, run.params or {}), wait=lock_wait):
        other = find_active(session, queue, run.kind, run.params or {}, exclude=run.id)
        if other is not None:
            return False
        if not queue.is_working(run.rq_job_id, run.id):
            _enqueue_own(session, queue, run)
        else:
            session.commit()
    # Its earlier attempt's job may have failed (its work-horse killed), or sit in RQ's started registry (its machine
    # died: RQ fails it once its heartbeat lapses, after this): the run goes on under this job, so a Requeue of that
    # one on the dashboard would only find the run taken.
    queue.remove_stale(run.id, keep=run.rq_job_id)
    return True


# --- the job and the worker -------------------------------------------------------------------------


def claim(session: Session, run_id: int, job_id: str | None = None) -> bool:
    """Take a queued, waiting or interrupted run for this worker (atomic: of two deliveries, one wins).
    A waiting run is taken only by the job of its next attempt (``job_id``), not by a stray earlier one."""
    waiting = SyncRun.status == RunStatus.WAITING
    if job_id is not None:
        waiting = waiting & (SyncRun.rq_job_id == job_id)
    result = session.execute(update(SyncRun).where(
        SyncRun.id == run_id, or_(SyncRun.status.in_((RunStatus.QUEUED, RunStatus.INTERRUPTED)), waiting))
        .values(status=RunStatus.RUNNING, heartbeat_at=utcnow()))
    session.commit()
    return result.rowcount == 1


def perform(session: Session, queue: JobQueue, run_id: int, execute: Callable[..., SyncRun]) -> str:
    """The RQ job's body: claim ``run_id`` and run one attempt with ``execute(session, run_id,
    queued=True)``; a run left waiting gets its next attempt enqueued (see the module doc)."""
    job = get_current_job()
    try:
        claimed = claim(session, run_id, job.id if job is not None else None)
    except Exception as e:
        if not unavailable(e):
            raise
        session.rollback()
        raise RunNotTaken(f"run #{run_id} was not taken: colcw's database did not take a connection "
                          f"({unavailable_error(e).message}). The run stays as it was; the scheduler queues it again "
                          "once the database takes connections (if this repeats, see the README's Database busy)") from e
    if not claimed:
        run = session.get(SyncRun, run_id)
        return f"run #{run_id} is {run.status if run else 'gone'}; nothing to do"
    with queue.liveness(run_id):
        run = execute(session, run_id, queued=True)
    if run is None:  # its row went under it (Reset): the attempt stopped, writing nothing more
        session.rollback()  # (no transaction left open by the look that found it gone)
        return f"run #{run_id} no longer exists (reset); this job did nothing more"
    if job is not None and run.rq_job_id and run.rq_job_id != job.id:
        # Taken for dead while it ran, the run was resumed under another job, which owns it now: this attempt
        # wrote nothing more (runs.execute_run), and its job leaves the run to that one.
        return f"run #{run_id} belongs to a later attempt ({run.rq_job_id}); this job did nothing more"
    if run.status == RunStatus.WAITING:
        _enqueue_own(session, queue, run)
        return f"run #{run_id} waits: {run.wait_text}"
    if run.status == RunStatus.FAILED:
        raise RunFailed(f"run #{run_id} failed: {run.message}")
    return f"run #{run_id} {run.status}: {run.message}"


class _MeasuresClock:
    """A worker that measures its machine's clock on its heartbeats (:mod:`.clocks`: at most every few minutes), when
    its command gave it a :class:`~.clocks.ClockWatch`."""

    clock_watch: ClockWatch | None = None

    def heartbeat(self, *args, **kwargs):
        super().heartbeat(*args, **kwargs)  # type: ignore[misc]
        if self.clock_watch is not None:
            self.clock_watch.check(self.connection)  # type: ignore[attr-defined]


class _SimpleColcwWorker(_MeasuresClock, SimpleWorker):
    """RQ's ``SimpleWorker`` (every job in the worker's process), measuring its clock as :class:`ColcwWorker` does."""


class ColcwWorker(_MeasuresClock, Worker):
    """RQ's worker, which forks a work horse for each job (a bulk run's memory, and a crash, end with the horse), but
    for a run of one record a person waits for (its job's :data:`IN_PROCESS` flag: a rep's export of one document),
    which it runs in its own process as RQ's ``SimpleWorker`` does: on the database and ConnectWise connections it
    keeps from one such run to the next, with the statements they compiled (the horses it forks later start with
    those too). Its job timeout holds as in a horse (SIGALRM in the worker's main thread)."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        if not job.meta.get(IN_PROCESS):
            super().execute_job(job, queue)
            return
        self.prepare_execution(job)
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)

    def get_heartbeat_ttl(self, job: Job) -> int:
        if job.meta.get(IN_PROCESS):  # no horse to watch: nothing renews it until the job ends (as SimpleWorker's)
            return SimpleWorker.get_heartbeat_ttl(self, job)  # type: ignore[arg-type]
        return super().get_heartbeat_ttl(job)


def work(queue: JobQueue, *, burst: bool = False, simple: bool = False, live_only: bool = False,
         clock_watch: ClockWatch | None = None) -> None:
    """Run an RQ worker on colcw's queues, the live queue first (with RQ's scheduler, which retries need):
    :class:`ColcwWorker`, or with ``simple`` RQ's ``SimpleWorker`` (every job in the worker's process). With
    ``live_only`` it listens on the live queue alone: urgent runs then never wait behind a bulk run. ``clock_watch``:
    measures the machine's clock on the worker's heartbeats (:mod:`.clocks`)."""
    worker_class = _SimpleColcwWorker if simple else ColcwWorker
    worker = worker_class([queue.live] if live_only else list(queue.queues), connection=queue.connection)
    worker.clock_watch = clock_watch
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
