"""Runs that lost their worker or their job: mark them interrupted and resume them, re-queue them, cancel.

* :func:`detect_interrupted` marks a run ``interrupted`` when it is still ``running`` and nothing is working on
  it any more: its heartbeat is old and the liveness key expired (the RQ job is not waiting), or, at once
  whatever its heartbeat's age, RQ already closed its attempt's job (:meth:`.JobQueue.attempt`: its worker saw
  the work horse die — "Work-horse terminated unexpectedly"), and resumes it at once — no person needed — up to
  ``auto_resumes`` times; after that the records it did not reach end "not attempted" (interrupted) and Resume or
  Retry are a person's.
  :func:`resume` re-enqueues the same run; services skip the records it already completed
  (``RunRecorder.completed_keys``). Either resume removes the dead attempt's job from RQ's started and failed
  registries (``enqueue_existing``): it would turn Failed there later and offer a Requeue of a run that went on.
* :func:`requeue_lost` re-enqueues queued runs that RQ does not hold (Redis lost them, or a
  process died between the commit and the enqueue), runs marked interrupted to be resumed that were never queued (the
  scheduler died between the two), and waiting runs whose next attempt is overdue,
  and releases delayed jobs no RQ scheduler moved: a recorded run is never silently dropped.
* :func:`retry` queues a run that redoes an ended run's failed records — once: a run retried already gives its
  retry back, and the run's stale jobs leave RQ's failed and started registries (the queue dashboard's Requeue of
  a failed one is a retry).
* :func:`cancel` withdraws a queued or waiting run or gives up an interrupted one: the records it
  did not reach end "not attempted" (cancelled). A running run is asked to stop (status ``cancelling``,
  the request in its row, so any worker on any machine sees it): its worker stops it at the next safe
  boundary and closes it as cancelled (:mod:`.runs`); if that worker died, :func:`detect_interrupted`
  closes it as cancelled instead of resuming it — or, when every record it selected already had its outcome (the
  worker died after its last record), with its own status and a note that the cancel came after its last record.
* :func:`stop_all` does that to every active run and waits a few seconds for the running ones to stop (Reset anyway).

The scheduler calls the first two every tick. Each takes its runs one by one: one run whose handling fails (Redis or
RQ raising over its jobs) is logged and left to the next tick, and the pass goes on with the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...errors import QueueBusy
from ...models import (
    ACTIVE_RUN_STATUSES,
    RunStatus,
    SyncRun,
    actor_label,
    cancelled_message,
    last_heartbeat,
    late_cancel_note,
    stop_request_message,
    stop_requested_by,
)
from .history import failed_items, redone_records, retry_params
from .kinds import KindRegistry, done_of, selected_nouns
from .queue import (
    NOT_QUEUED_BUSY_MESSAGE,
    NOT_QUEUED_MESSAGE,
    JobQueue,
    Submitted,
    canonical_params,
    enqueue_existing,
    submit,
)
from .recorder import INTERRUPTED, RETRY_FIX, RunRecorder, close_cancelled, describe_recorder, with_note

log = logging.getLogger(__name__)

CANCELLABLE = (RunStatus.QUEUED, RunStatus.WAITING, RunStatus.INTERRUPTED)  # cancelled at once
STOPPABLE = (RunStatus.RUNNING,)  # asked to stop: its worker cancels it at the next safe boundary
# How long the scheduler's housekeeping (resuming, requeueing) waits for another request queueing a run's work before
# it leaves the run to the next tick: not a page's minute, which would hold the tick that long.
REQUEUE_LOCK_WAIT_SECONDS = 2.0
# The end of the message of a run marked interrupted that is resumed by itself (detect_interrupted).
RESUMED_AUTOMATICALLY = "; resumed automatically, records already done are skipped."


def detect_interrupted(session: Session, queue: JobQueue, *, stale_seconds: float | None = None,
                       now: dt.datetime | None = None, kinds: KindRegistry | None = None) -> list[int]:
    """Mark runs whose worker died as ``interrupted``; return their ids. A run an admin had asked to stop is
    closed as cancelled instead (its worker will never acknowledge the request). One interrupted too often to
    resume by itself records what it did not reach as not attempted, named as the run's kind names them
    (``kinds``; else "customer #12"); its message counts its records so too ("after 2 of 4 companies")."""
    stale = stale_seconds if stale_seconds is not None else queue.settings.interrupted_after_seconds
    cutoff = (now or utcnow()) - dt.timedelta(seconds=stale)
    runs = session.execute(select(SyncRun).where(SyncRun.status.in_((RunStatus.RUNNING, RunStatus.CANCELLING)))
                           .order_by(SyncRun.id)).scalars()
    found = []
    for run in list(runs):
        run_id = run.id
        try:
            if _judge(session, queue, run, cutoff, kinds):
                found.append(run_id)
        except Exception:  # noqa: BLE001 - one run's trouble must not keep the pass from the other runs
            session.rollback()
            log.exception("run %s: judging whether its worker died failed; the pass goes on with the other runs",
                          run_id)
    session.commit()
    return found


def _judge(session: Session, queue: JobQueue, run: SyncRun, cutoff: dt.datetime, kinds: KindRegistry | None) -> bool:
    """One running (or stopping) run of :func:`detect_interrupted`: True when it was taken for dead (marked
    interrupted and resumed, or closed)."""
    if run.heartbeat_at is not None and run.heartbeat_at < cutoff:
        if queue.is_working(run.rq_job_id, run.id):
            return False
    elif not queue.attempt(run.rq_job_id, run.id).ended:
        # Heard from lately: taken for dead only when RQ already closed its attempt's job (the worker saw its
        # work horse die, or RQ gave it up once its liveness key expired): a slow worker's job is still started.
        return False
    if run.status == RunStatus.CANCELLING:
        return _close_stopping(session, run, kinds)
    again = (run.interruptions or 0) < queue.settings.auto_resumes
    job = kinds.get(run.kind) if kinds is not None else None
    nouns = selected_nouns(job, run.selection)  # "after 2 of 4 companies", as its kind names them
    so_far = done_of(run.done, run.total, nouns) if run.total else f"{run.done:,} of ? {nouns[1]}"
    stopped = f"the worker stopped after {so_far} ({last_heartbeat(run.heartbeat_at)})"
    message = (f"{INTERRUPTED}{stopped}{RESUMED_AUTOMATICALLY}" if again
               else f"{INTERRUPTED}{stopped}, for the {_ordinal(run.interruptions + 1)} time. Resume it to finish "
                    "the rest (records already done are skipped), or Retry what was not attempted.")
    result = session.execute(update(SyncRun).where(
        SyncRun.id == run.id, SyncRun.status == RunStatus.RUNNING, SyncRun.heartbeat_at == run.heartbeat_at).values(
        status=RunStatus.INTERRUPTED, finished_at=None if again else utcnow(), message=message,
        interruptions=SyncRun.interruptions + 1, waiting_reason=""))  # the dead attempt's wait is over
    session.commit()
    if not result.rowcount:
        return False
    log.warning("sync run %s marked interrupted", run.id)
    if again:
        _queue_again(session, queue, run.id, stopped)
    else:
        recorder = RunRecorder(session.get_bind(), run.id)
        recorder.close_unattempted("interrupted: its worker stopped",
                                   "Resume the run, or use Retry on its page to re-run them.",
                                   recorder.unreached_labels(session, job.record_labels if job else None))
        recorder.flush()
    return True


def _queue_again(session: Session, queue: JobQueue, run_id: int, stopped: str) -> bool:
    """Queue a run marked interrupted to be resumed (its end not set) again, its message kept ("resumed
    automatically"): True when it is queued in RQ. Another run of the same work active: it stays interrupted for a
    person, saying so (:func:`_left_to_other`). Not queued now (another request queueing the same work, Redis failed,
    or RQ raised): recorded as queued, so :func:`requeue_lost` queues it at a later tick."""
    session.expire_all()
    run = session.get(SyncRun, run_id)
    run.status = RunStatus.QUEUED
    try:
        if not enqueue_existing(session, queue, run, lock_wait=min(REQUEUE_LOCK_WAIT_SECONDS,
                                                                   queue.settings.submit_lock_wait_seconds)):
            session.rollback()
            _left_to_other(session, run_id, stopped)
            return False
    except Exception as e:  # noqa: BLE001 - whatever failed, the run must not stay interrupted (see below)
        # Left interrupted, nothing would resume it but a later tick (its message says it is resumed automatically).
        # (Queued already when what failed came after its enqueue.)
        session.rollback()
        why = e if isinstance(e, QueueBusy) else "Redis failed" if isinstance(e, RedisError) else repr(e)
        log.warning("run %s: not resumed at once (%s); requeue_lost queues it", run_id, why,
                    exc_info=not isinstance(e, QueueBusy))
        session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status == RunStatus.INTERRUPTED)
                        .values(status=RunStatus.QUEUED))
        session.commit()
        return False
    return True


def _stopped_of(message: str) -> str:
    """What a run marked interrupted to be resumed says of its worker's stop ("the worker stopped after 2 of 4 …"), from
    its message."""
    text = message or ""
    return text.removeprefix(INTERRUPTED).removesuffix(RESUMED_AUTOMATICALLY)


def _left_to_other(session: Session, run_id: int, stopped: str) -> None:
    """An interrupted run not resumed because another run of the same work is queued, running or waiting: it stays
    interrupted for a person, its message saying so and which run (it said it was resumed automatically)."""
    run = session.get(SyncRun, run_id)
    wanted = canonical_params(run.params)
    other = next((o for o in session.execute(select(SyncRun).where(
        SyncRun.kind == run.kind, SyncRun.id != run_id, SyncRun.status.in_(ACTIVE_RUN_STATUSES)).order_by(SyncRun.id))
        .scalars() if canonical_params(o.params) == wanted), None)
    who = f"run #{other.id} ({other.status})" if other is not None else "another run"
    message = (f"{INTERRUPTED}{stopped}. Not resumed: {who} does the same work now. Resume this run once that one has "
               "ended (records already done are skipped).")
    session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status == RunStatus.INTERRUPTED)
                    .values(message=message, finished_at=utcnow()))
    session.commit()
    log.warning("run %s: not resumed, %s does the same work", run_id, who)


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lists_its_records(run: SyncRun) -> bool:
    """Whether the run selected its records by id (those it did not reach end "not attempted", for Retry)."""
    return bool((run.selection or {}).get("ids"))


def _close_stopping(session: Session, run: SyncRun, kinds: KindRegistry | None = None) -> bool:
    """A run asked to stop whose worker died before it stopped: cancelled, as the admin asked (compare-and-set
    on its heartbeat, as for an interrupted run: a worker that wrote meanwhile is alive). A run whose every
    selected record already had its outcome was not stopped by the request (its worker died after its last record,
    before it closed the run): it keeps its own status, its message saying the cancel came after its last record,
    as a late cancel does when its worker lives (:meth:`.recorder.RunRecorder.finish`). Its message names its
    records as its kind does (``kinds``; else "customer", "quote / order" by what it selected)."""
    who = stop_requested_by(run.message)
    nouns = selected_nouns(kinds.get(run.kind) if kinds is not None else None, run.selection)
    heartbeat = f"({last_heartbeat(run.heartbeat_at)})"  # in UTC: pages show it in their zone (SyncRun.message_in)
    recorder = RunRecorder(session.get_bind(), run.id, run=run)
    if recorder.reached_all():
        recorder.close()
        status = recorder.own_status()
        message = with_note(with_note(describe_recorder(recorder), late_cancel_note(who)),
                            f"Its worker stopped before it closed the run {heartbeat}.")
        closed = "closed with its own status: every record had its outcome"
    else:
        status, message = RunStatus.CANCELLED, cancelled_message(who, "running", run.reached, run.total,
                                                                  listed=_lists_its_records(run), nouns=nouns)
        closed = "closed as cancelled"
    result = session.execute(update(SyncRun).where(
        SyncRun.id == run.id, SyncRun.status == RunStatus.CANCELLING, SyncRun.heartbeat_at == run.heartbeat_at)
        .values(status=status, finished_at=utcnow(), waiting_reason="", next_try_at=None,
                give_up_at=None, message=message))
    session.commit()
    if not result.rowcount:
        recorder.close()
        return False
    log.warning("sync run %s: its worker stopped after it was asked to stop; %s", run.id, closed)
    if status == RunStatus.CANCELLED:
        close_cancelled(recorder, who, note=f" Its worker stopped before it acknowledged {heartbeat}.", nouns=nouns)
    return True


def requeue_lost(session: Session, queue: JobQueue, *, older_than_seconds: float | None = None,
                 now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue queued runs that RQ does not hold (see the module doc)."""
    age = older_than_seconds if older_than_seconds is not None else queue.settings.lost_after_seconds
    cutoff = (now or utcnow()) - dt.timedelta(seconds=age)
    queue.release_overdue()
    runs = session.execute(select(SyncRun).where(or_(
        and_(SyncRun.status == RunStatus.QUEUED, SyncRun.created_at < cutoff),
        and_(SyncRun.status == RunStatus.WAITING, SyncRun.next_try_at < cutoff),
        # marked interrupted to be resumed and never queued: the scheduler that marked it stopped before it queued it
        # (detect_interrupted's two writes; the same tick queues the rest, so none of its own is under way here)
        and_(SyncRun.status == RunStatus.INTERRUPTED, SyncRun.finished_at.is_(None))))).scalars()
    requeued = []
    for run in list(runs):
        run_id = run.id
        try:
            if _requeue_one(session, queue, run):
                requeued.append(run_id)
        except Exception:  # noqa: BLE001 - one run's trouble must not keep the pass from the other runs
            session.rollback()
            log.exception("run %s: re-queueing it failed; the next tick looks again, the pass goes on", run_id)
    return requeued


def _requeue_one(session: Session, queue: JobQueue, run: SyncRun) -> bool:
    """One queued, overdue waiting or unqueued resumed run of :func:`requeue_lost`: True when it was enqueued again."""
    if queue.is_working(run.rq_job_id, run.id):
        return False
    if run.status == RunStatus.INTERRUPTED:
        log.warning("run %s: marked interrupted to be resumed but never queued; queueing it now", run.id)
        return _queue_again(session, queue, run.id, _stopped_of(run.message))
    if run.message == NOT_QUEUED_MESSAGE:
        run.message = "Queued by the scheduler once the job queue (Redis) answered again."
    elif run.message == NOT_QUEUED_BUSY_MESSAGE:
        run.message = "Queued by the scheduler."
    try:  # (a short wait: the scheduler's tick must not stand still for a page's minute)
        queued = enqueue_existing(session, queue, run, lock_wait=min(REQUEUE_LOCK_WAIT_SECONDS,
                                                                     queue.settings.submit_lock_wait_seconds))
    except QueueBusy:  # another request is queueing the same work right now: the next tick looks again
        session.rollback()
        log.info("run %s: its work is being queued by another request; the next tick looks again", run.id)
        return False
    if not queued:
        session.rollback()
    return queued


def resume(session: Session, queue: JobQueue, run_id: int, *, actor: dict | None = None,
           kinds: KindRegistry | None = None) -> Submitted:
    """Re-enqueue an interrupted run (the same run; completed records are skipped). :class:`~.queue.Submitted`:
    ``duplicate`` (and not ``enqueued``) when the same work is already queued, running or waiting: the run is left
    interrupted. RedisError: not queued. Its message says who resumed it and how far it got, its records counted as
    its kind names them (``kinds``; else "customers", "quotes / orders" by what it selected): "Resumed by … after 2
    of 4 companies."."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"Run #{run_id} does not exist.")
    if run.status != RunStatus.INTERRUPTED:
        raise ValueError(f"Run #{run_id} is {run.status}; only an interrupted run can be resumed.")
    run.status = RunStatus.QUEUED
    nouns = selected_nouns(kinds.get(run.kind) if kinds is not None else None, run.selection)
    run.message = f"Resumed by {actor_label(actor)} after {done_of(run.reached, run.total, nouns)}."
    run.waiting_reason = ""
    if enqueue_existing(session, queue, run):
        return Submitted(run, duplicate=False, enqueued=True)
    session.rollback()
    return Submitted(session.get(SyncRun, run_id), duplicate=True, enqueued=False)


@dataclass(frozen=True)
class Retried:
    """What :func:`retry` did: ``run`` is the retry, queued now (``submitted`` says how: or the same work already
    active, or recorded but not queued; ``redone`` what it redoes, in words: "the failed records", see
    :func:`~.history.redone_records`), or the one made before when ``already`` (nothing was queued, no
    ``submitted``)."""

    run: SyncRun
    already: bool
    submitted: Submitted | None = None
    redone: str = ""


def retry(session: Session, queue: JobQueue, kinds: KindRegistry, run_id: int, *,
          actor: dict | None = None) -> Retried | None:
    """Queue a run that redoes what run ``run_id`` failed or did not reach (Retry on its page, Requeue of its failed
    job on the queue dashboard); None when it has nothing to redo. A run is retried once: when it has a retry already,
    that run is given back (``Retried.already``) and nothing is queued. Either way the run's stale jobs leave RQ's
    failed and started registries (:meth:`.JobQueue.remove_stale`: a dead worker's turns Failed later), so that the
    dashboard does not offer to redo it again. RedisError: not queued.

    Of two retries of one run at once, on any machines, one queues: each locks the run's row (``FOR UPDATE``) before
    it looks for a retry, and holds it until its retry is committed, so the second finds the first's."""
    session.commit()  # the lock is this transaction's: nothing of the caller's is held in it
    run = session.execute(select(SyncRun).where(SyncRun.id == run_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if run is None:
        session.rollback()
        raise LookupError(f"Run #{run_id} does not exist.")
    earlier = session.execute(select(SyncRun).where(SyncRun.retry_of_id == run_id).order_by(SyncRun.id)
                              .limit(1)).scalar_one_or_none()
    failed = failed_items(session, run_id) if earlier is None else []  # (read once: the params and their words)
    params = None if earlier is not None else retry_params(session, kinds, run, failed)
    if params is None:
        session.rollback()  # releases the row
        if earlier is None:
            return None
        queue.remove_stale(run_id)
        return Retried(earlier, already=True)
    new = submit(session, queue, kinds, run.kind, params, trigger="retry", actor=actor, retry_of_id=run_id)
    session.commit()  # releases the row (a duplicate found committed nothing)
    queue.remove_stale(run_id)
    return Retried(new.run, already=False, submitted=new, redone=redone_records(failed))


def cancel(session: Session, queue: JobQueue, run_id: int, *, actor: dict | None = None,
           kinds: KindRegistry | None = None) -> SyncRun:
    """Cancel a queued run (before a worker takes it) or a waiting one, give up an interrupted one, or ask a
    running one to stop; the run as it is then (``cancelled``, or ``cancelling`` for a running run).

    A compare-and-set on the status, so of a worker claiming the run and an admin cancelling it
    exactly one wins (a run attempted in the foreground, without the queue's claim, writes its start as a
    compare-and-set: recorder.RunCancelled); the RQ job is then removed (a stray delivery would find nothing to do).
    A running run is only asked to stop: its status becomes ``cancelling`` and its message says who asked and
    when; its worker, on whichever machine, stops at the next safe boundary (between records or pages, never
    between a write and the link or id that records it) and closes it as cancelled; if that worker died, the
    scheduler's :func:`detect_interrupted` does. Asking again changes nothing. Cancelling is also how a queued
    run leaves for good: deleting its job in rq-dashboard alone does not, because the scheduler re-queues
    queued runs RQ lost.
    """
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"Run #{run_id} does not exist.")
    who = actor_label(actor)
    # Its records named as a run cancelled while running names them (``kinds``: the run's kind says how).
    job = kinds.get(run.kind) if kinds is not None else None
    changed = stopping = 0
    for _ in range(3):  # the run may move on between two compare-and-sets (queued → running → waiting)
        before = run.status
        changed = session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(CANCELLABLE)).values(
            status=RunStatus.CANCELLED, finished_at=utcnow(), waiting_reason="", next_try_at=None, give_up_at=None,
            message=cancelled_message(who, before, run.reached, run.total, listed=_lists_its_records(run),
                                      nouns=selected_nouns(job, run.selection)))).rowcount
        if not changed:
            stopping = session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(STOPPABLE))
                                       .values(status=RunStatus.CANCELLING, stop_requested_at=utcnow(),
                                               message=stop_request_message(who))).rowcount
        session.commit()
        session.expire_all()
        run = session.get(SyncRun, run_id)
        if changed or stopping or run.status not in (*CANCELLABLE, *STOPPABLE):
            break
    if stopping or run.status == RunStatus.CANCELLING:
        if stopping:
            log.info("sync run %s: %s asked it to stop", run_id, who)
        return run
    if not changed:
        raise ValueError(f"Run #{run_id} is {run.status}; only a queued, running, waiting or interrupted run can "
                         "be cancelled.")
    recorder = RunRecorder(session.get_bind(), run.id)
    recorder.close_unattempted(f"the run was cancelled by {who}", RETRY_FIX,
                               recorder.unreached_labels(session, job.record_labels if job else None))
    recorder.flush()
    session.expire_all()
    run = session.get(SyncRun, run_id)
    queue.withdraw(run)
    return run


STOP_ALL_WAIT_SECONDS = 8.0  # how long stop_all waits for running runs to stop (a page waits on it: a few seconds)
_STOP_ALL_STEP = 0.25


def stop_all(session: Session, queue: JobQueue, *, actor: dict | None = None,
             wait_seconds: float | None = None, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic, kinds: KindRegistry | None = None) -> list[int]:
    """Stop every active run, as :func:`cancel` stops one (Reset anyway): queued and waiting runs are cancelled at
    once, running ones asked to stop; then wait up to ``wait_seconds`` (:data:`STOP_ALL_WAIT_SECONDS` unless given)
    for those to stop: their workers, on any machine, stop at the next safe boundary and close them. A run queued
    meanwhile (a schedule, a rep) is cancelled too. Returns the ids of the runs still running or stopping when the
    wait ran out (empty: none is active, and no worker still works on one), oldest first. ``kinds``: the runs' kinds,
    so that a cancelled run's message names its records as its kind does (:func:`cancel`)."""
    deadline = clock() + max(0.0, STOP_ALL_WAIT_SECONDS if wait_seconds is None else wait_seconds)
    stopping: dict[int, str | None] = {}  # runs asked to stop: their job, until its worker lets go of it
    while True:
        for run_id, status, job_id in _active(session):
            if status == RunStatus.CANCELLING:
                stopping[run_id] = job_id
                continue
            try:
                run = cancel(session, queue, run_id, actor=actor, kinds=kinds)
            except (LookupError, ValueError):  # it ended (or went) meanwhile
                session.rollback()
                continue
            except RedisError:  # cancelled in the database; its job stays in RQ (Reset's purge says so)
                log.warning("run %s: its job could not be withdrawn: Redis failed", run_id, exc_info=True)
                session.rollback()
                continue
            if run.status == RunStatus.CANCELLING:
                stopping[run_id] = run.rq_job_id
        still = [run_id for run_id, _, _ in _active(session)]
        if not still:
            # Closed by their workers, which write nothing after that: wait for them to let go of their jobs too,
            # so that a job's end does not land in a queue about to be purged.
            stopping = {run_id: job for run_id, job in stopping.items() if _job_working(queue, job, run_id)}
            if not stopping:
                return []
        if clock() >= deadline:
            return still or sorted(stopping)
        sleep(_STOP_ALL_STEP)


def _active(session: Session) -> list[tuple[int, str, str | None]]:
    """(id, status, job) of every active run, as committed now (no transaction left open)."""
    session.expire_all()
    rows = session.execute(select(SyncRun.id, SyncRun.status, SyncRun.rq_job_id)
                           .where(SyncRun.status.in_(ACTIVE_RUN_STATUSES)).order_by(SyncRun.id)).all()
    session.commit()
    return [tuple(row) for row in rows]


def _job_working(queue: JobQueue, job_id: str | None, run_id: int) -> bool:
    try:
        return queue.is_working(job_id, run_id)
    except RedisError:
        return False  # (the run's row says it ended: nothing more is written to the database)
