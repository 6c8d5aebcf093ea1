"""The scheduler: fires due schedules exactly once, and keeps the run history healthy.

Design (why not ``rq cron`` or RQ's own scheduler): ``rq cron`` has no leader lock and fires
interval jobs at start-up; RQ's scheduler only delays single jobs. Our schedules are wall-clock
times in IANA zones edited on a page, so colcw runs its own tick loop:

* **Exactly once per period.** Each schedule row holds its ``next_run_at`` (UTC). A tick selects
  the due schedules and *claims* each with a compare-and-set in the database::

      UPDATE colcw_schedules SET next_run_at = :following, last_due_at = :due ...
      WHERE id = :id AND enabled AND next_run_at = :due

  and creates the run record in the same transaction. Only the process whose UPDATE changed the
  row fires; any other scheduler (a restart, a second one started by mistake, on another
  machine) finds ``next_run_at`` moved and does nothing. PostgreSQL's row lock makes the second
  UPDATE wait and then re-check the condition, so this holds under real concurrency.
* **Nothing silently skipped.** The run is committed before it is enqueued; if the process dies
  in between, the next tick's :func:`~.recovery.requeue_lost` enqueues it. Periods
  missed while no scheduler ran are fired once (not once per missed period) on the next tick,
  and the run says it was late. If the same job is already queued or running, the period is
  recorded on the schedule as skipped, with the run it waited for. The claim is made under the job's
  queue lock (:meth:`~.queue.JobQueue.lock`), taken first: when another request is queueing the same job
  (the lock busy) or Redis fails before the run is committed, nothing is claimed and the next tick fires
  the schedule; the other due schedules of the tick fire all the same.
* **One active ticker.** A Redis lock (``colcw:scheduler:leader``, renewed every tick, expiring
  after three ticks) makes a second scheduler stand by and take over when the first dies. The
  lock only saves work: correctness comes from the compare-and-set above, which holds even if
  the lock expires under a paused leader.

Each tick also marks runs whose worker died as interrupted and purges history older than
``COLCW_HISTORY_DAYS`` (at most hourly).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import LockError, RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...errors import QueueBusy
from ...models import Schedule, stored_time
from ...models.runs import started_outcome
from .clocks import ClockWatch
from .history import maybe_purge
from .kinds import KindRegistry
from .queue import NOT_QUEUED_MESSAGE, JobQueue, find_active, new_job_id, work_key
from .recovery import detect_interrupted, requeue_lost
from .runs import create_run
from .schedules import Timing, next_run_after

log = logging.getLogger(__name__)

LEADER_KEY = "colcw:scheduler:leader"


@dataclass
class Fired:
    schedule_id: int
    due_at: dt.datetime
    run_id: int | None
    skipped_for: int | None = None  # the active run of the same job, when the period was skipped


def tick(session: Session, queue: JobQueue, kinds: KindRegistry, *, now: dt.datetime | None = None) -> list[Fired]:
    """Fire every schedule due at ``now`` (naive UTC) that this process manages to claim. A schedule whose job
    another request is queueing at that moment, or that Redis failed to queue, is not claimed: it stays due, and the
    next tick fires it (:func:`fire`); the other due schedules fire all the same."""
    now = now or utcnow()
    due = session.execute(select(Schedule.id, Schedule.next_run_at).where(
        Schedule.enabled.is_(True), Schedule.next_run_at <= now).order_by(Schedule.next_run_at)).all()
    session.rollback()  # read snapshot done; each claim is its own transaction
    fired = []
    for schedule_id, due_at in due:
        try:
            result = fire(session, queue, kinds, schedule_id, due_at, now=now)
        except (QueueBusy, RedisError) as e:  # nothing claimed (rolled back): the next tick fires it
            session.rollback()
            log.warning("schedule %s: not fired this tick (%s); the next tick fires it", schedule_id,
                        e if isinstance(e, QueueBusy) else "Redis failed", exc_info=not isinstance(e, QueueBusy))
            continue
        if result is not None:
            fired.append(result)
    return fired


# How long a tick waits for another request queueing a due schedule's job (JobQueue.lock) before it leaves the
# schedule due for the next tick: not the pages' minute, which would hold the tick (and its leader lock) that long.
FIRE_LOCK_WAIT_SECONDS = 2.0


def fire(session: Session, queue: JobQueue, kinds: KindRegistry, schedule_id: int, due_at: dt.datetime, *,
         now: dt.datetime) -> Fired | None:
    """Claim one due period of one schedule and start its run; None if another process claimed it.

    The job's queue lock is taken first, the claim made under it: :class:`~colcw_plugin.errors.QueueBusy` (another
    request queueing the same job for longer than :data:`FIRE_LOCK_WAIT_SECONDS`) or a RedisError before the run
    was committed leaves the period unclaimed (rolled back), still due, so the next tick (of whichever scheduler
    leads) fires it; the claim's compare-and-set keeps it to one run. A run committed before Redis failed to queue
    it is queued by :func:`~.recovery.requeue_lost`."""
    schedule = session.get(Schedule, schedule_id)
    if schedule is None:
        return None
    key = work_key(schedule.kind, schedule.params or {})
    session.rollback()  # no transaction (nor row lock) is held while the queue's lock is waited for
    with queue.lock(key, wait=min(FIRE_LOCK_WAIT_SECONDS, queue.settings.submit_lock_wait_seconds)):
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            session.rollback()
            return None
        following = next_run_after(Timing.of(schedule), now)
        claimed = session.execute(update(Schedule).where(
            Schedule.id == schedule_id, Schedule.enabled.is_(True), Schedule.next_run_at == due_at).values(
            next_run_at=following, last_due_at=due_at, last_fired_at=now)).rowcount
        if claimed != 1:
            session.rollback()
            return None
        # The row is ours until the commit: its job as it is now must be the one locked (edited meanwhile: next tick).
        session.refresh(schedule)
        if work_key(schedule.kind, schedule.params or {}) != key:
            session.rollback()
            return None
        existing = find_active(session, queue, schedule.kind, schedule.params or {})
        if existing is not None:
            session.execute(update(Schedule).where(Schedule.id == schedule_id).values(
                last_outcome=f"Skipped the run due {stored_time(due_at)}: run #{existing.id} of the same "
                             f"job was still {existing.status}."))
            session.commit()
            log.info("schedule %s: skipped, run %s still %s", schedule_id, existing.id, existing.status)
            return Fired(schedule_id, due_at, None, skipped_for=existing.id)
        run = create_run(session, kinds, schedule.kind, schedule.params or {}, trigger="schedule",
                         actor={"name": f"schedule: {schedule.name}"}, schedule_id=schedule_id)
        run.rq_job_id = new_job_id(run.id)
        if now - due_at > dt.timedelta(minutes=5):
            run.message = f"Started late: it was due {stored_time(due_at)} (no scheduler was running)."
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(
            last_run_id=run.id, last_outcome=started_outcome(run.id)))
        session.commit()  # the claim and the run together: a crash after this is healed by requeue_lost
        try:
            queue.enqueue(run)
        except RedisError:  # committed: requeue_lost queues it once Redis answers (its page says so meanwhile)
            log.warning("schedule %s: run %s recorded but not queued: Redis failed", schedule_id, run.id,
                        exc_info=True)
            if not run.message:
                run.message = NOT_QUEUED_MESSAGE
            session.commit()
    log.info("schedule %s fired run %s (due %s)", schedule_id, run.id, due_at)
    return Fired(schedule_id, due_at, run.id)


def maintenance(session: Session, queue: JobQueue, *, history_days: int, kinds: KindRegistry | None = None) -> None:
    """Mark dead runs interrupted, re-enqueue lost ones, purge old history (hourly)."""
    detect_interrupted(session, queue, kinds=kinds)
    requeue_lost(session, queue)
    purged = maybe_purge(session, queue.connection, history_days)
    if purged:
        log.info("purged %s runs older than %s days", purged, history_days)


def missing_processes(queue: JobQueue, command: str = "flask colcw") -> list[str]:
    """What keeps runs from starting by themselves, for the jobs pages: a queue no worker listens on (colcw's general
    queue: bulk runs; its live queue: live updates and one-record runs — a worker started with ``--queues live``
    takes only those, one started without takes both), no scheduler leading (its leader lock lives three ticks
    after its last), Redis not answering. Each process may run on another machine: only Redis, which they all
    share, can tell. ``command``: colcw's commands as typed for this app ("flask --app host_stub colcw"), so that
    the command said can be run as it is."""
    try:
        general, live = queue.workers(), queue.workers(queue.live)
        leading = bool(queue.connection.exists(LEADER_KEY))
    except RedisError:
        return ["The job queue (Redis) does not answer: runs are neither queued nor started until it does. Check "
                "REDIS_URL and that Redis is running."]
    missing = []
    start = f"Start one with “{command} worker” (on any machine that shares this database and Redis)."
    if not general and not live:
        missing.append(f"No colcw worker is running: queued runs wait until one starts. {start}")
    elif not general:
        missing.append(f"No colcw worker takes the general queue (“{queue.name}”): bulk runs (exports and imports of "
                       "many records, scheduled jobs) stay queued until one does; the running worker takes only live "
                       f"updates and one-record runs (“--queues live”). {start}")
    elif not live:
        missing.append(f"No colcw worker takes the live queue (“{queue.live.name}”): live updates and one-record runs "
                       f"stay queued until one does. {start}")
    if not leading:
        missing.append("The colcw scheduler is not running: scheduled jobs do not start, and runs whose worker "
                       f"stopped are not resumed, until it runs. Start it with “{command} scheduler”.")
    return missing


def run_scheduler(new_session: Callable[[], Session], queue: JobQueue, kinds: KindRegistry, *, history_days: int,
                  once: bool = False, interval: float = 10.0, stop: threading.Event | None = None,
                  say: Callable[[str], None] = log.info, clock_watch: ClockWatch | None = None) -> int:
    """The tick loop: one fresh session per tick. Returns the number of runs fired. ``clock_watch``: measures the
    machine's clock on the ticks, leading or not (:mod:`.clocks`: at most every few minutes)."""
    stop = stop or threading.Event()
    lock = queue.connection.lock(LEADER_KEY, timeout=max(int(interval * 3), 5), thread_local=False)
    token = uuid.uuid4().hex.encode()
    leading = False
    total = 0
    while not stop.is_set():
        session = new_session()
        if clock_watch is not None:
            clock_watch.check(queue.connection)
        try:
            if leading:
                try:
                    lock.reacquire()
                except LockError:
                    leading = False
                    log.warning("colcw scheduler: lost the leader lock; standing by")
            if not leading:
                leading = lock.acquire(blocking=False, token=token)
                if leading:
                    log.info("colcw scheduler: leading")
                elif once:
                    say("Another colcw scheduler is running; this one did nothing.")
                    return 0
            if leading:
                fired = tick(session, queue, kinds)
                total += sum(1 for f in fired if f.run_id)
                maintenance(session, queue, history_days=history_days, kinds=kinds)
        except Exception:  # noqa: BLE001 - a database or Redis blip must not stop the scheduler
            session.rollback()
            log.exception("colcw scheduler tick failed; retrying in %ss", interval)
        finally:
            session.close()
        if once:
            break
        stop.wait(interval)
    if leading and lock.owned():
        lock.release()
    return total
