"""Run history: the filtered list, a run's status log, Retry of failed records, CSV of a log, the
progress JSON, and purging old runs.

No Flask here: the Synchronization Jobs pages, the progress bars and the scheduler call these.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session, undefer

from host_stub.models import utcnow

from ...models import (
    ACTIVE_RUN_STATUSES,
    ENDED_RUN_STATUSES,
    REDO_ACTIONS,
    RUN_STATUS_LABELS,
    RunStatus,
    Schedule,
    SyncItem,
    SyncRun,
    action_in,
)
from ...models.runs import WAIT_TIME_FORMAT, in_zone, started_outcome
from .kinds import KindRegistry, and_list, done_of, selected_nouns
from .queue import Attempt, JobQueue
from .recorder import RETRYING_REQUEST
from .schedules import is_timezone, local_instant

RESULTS = {str(status): label for status, label in RUN_STATUS_LABELS.items()}
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class HistoryFilter:
    """History filters: job type, result, and a date range (inclusive days of ``zone``: the page's, as its times)."""

    kind: str = ""
    result: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    zone: str = "UTC"  # an IANA name

    @classmethod
    def parse(cls, args: dict, *, zone: str = "UTC", today: dt.date | None = None) -> tuple[HistoryFilter, str]:
        """From query arguments, the days being ``zone``'s (the page's); the default is the last 7 days (today in
        ``zone`` and the six before). Returns (filter, error message)."""
        zone = zone if is_timezone(zone) else "UTC"
        today = today or utcnow().replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).date()
        error = ""
        try:
            start = dt.date.fromisoformat(args["start"]) if args.get("start") else None
            end = dt.date.fromisoformat(args["end"]) if args.get("end") else None
        except ValueError:
            start = end = None
            error = "Enter the history dates as YYYY-MM-DD; showing the last 7 days."
        if start is None and end is None:
            start = today - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start and end and end < start:
            error, start, end = "The end date is before the start date; showing the last 7 days.", \
                today - dt.timedelta(days=DEFAULT_DAYS - 1), None
        if (beyond := _beyond_reach(start, end, zone)) is not None:
            error, start, end = beyond, today - dt.timedelta(days=DEFAULT_DAYS - 1), None
        result = args.get("result", "") if args.get("result", "") in RESULTS else ""
        return cls(kind=args.get("kind", "") or "", result=result, start=start, end=end, zone=zone), error

    def as_args(self) -> dict:
        return {k: v for k, v in {"kind": self.kind, "result": self.result,
                                  "start": self.start.isoformat() if self.start else "",
                                  "end": self.end.isoformat() if self.end else ""}.items() if v}


def _day_starts(day: dt.date, zone: str) -> dt.datetime:
    """The UTC instant (naive) ``day`` starts at in ``zone``; OverflowError or ValueError for a day at the calendar's
    edge whose start is not a date Python has (0001-01-01 east of UTC; the day after 9999-12-31)."""
    return local_instant(day, dt.time(), ZoneInfo(zone))


def beyond_reach(start: dt.date | None, end: dt.date | None, zone: str) -> str:
    """Which of ``start`` and ``end`` is so near the calendar's edge (0001-01-01, 9999-12-31) that the history cannot
    search from its start or to its end in ``zone``: "end", "start", or "" when both can be searched."""
    try:
        if end is not None:
            _day_starts(end + dt.timedelta(days=1), zone)  # (9999-12-31 has no next day)
    except (OverflowError, ValueError):
        return "end"
    try:
        if start is not None:
            _day_starts(start, zone)
    except (OverflowError, ValueError):
        return "start"
    return ""


def _beyond_reach(start: dt.date | None, end: dt.date | None, zone: str) -> str | None:
    """What the page says of a From or To :func:`beyond_reach`, and what to do; None when both can be searched."""
    which = beyond_reach(start, end, zone)
    if which == "end":
        return (f"To {end.isoformat()} is past the last day the history can search: enter an earlier day, or leave To "
                "empty to search with no end; showing the last 7 days.")
    if which == "start":
        return (f"From {start.isoformat()} is before the first day the history can search: enter a later day, or "
                "leave From empty to search with no start; showing the last 7 days.")
    return None


def history_query(flt: HistoryFilter) -> Select:
    """Runs matching the filter, newest first (requested from the start of its first day in its zone to the end of
    its last)."""
    q = select(SyncRun).options(undefer(SyncRun.schedule_name)).order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
    if flt.kind:
        q = q.where(SyncRun.kind == flt.kind)
    if flt.result:
        q = q.where(SyncRun.status == flt.result)
    if flt.start:
        q = q.where(SyncRun.created_at >= _day_starts(flt.start, flt.zone))
    if flt.end:
        q = q.where(SyncRun.created_at < _day_starts(flt.end + dt.timedelta(days=1), flt.zone))
    return q


def last_runs(session: Session, kinds: list[str]) -> dict[str, SyncRun]:
    """The latest run of each job type."""
    out = {}
    for kind in kinds:
        run = session.execute(select(SyncRun).where(SyncRun.kind == kind)
                              .order_by(SyncRun.created_at.desc(), SyncRun.id.desc()).limit(1)).scalar()
        if run is not None:
            out[kind] = run
    return out


def schedules_last_runs(session: Session, schedules: Iterable[Schedule]) -> dict[int, SyncRun]:
    """Each schedule's last run as it stands now (queued, running, failed, …), by schedule id, in one query: what
    the Scheduled jobs list and ``colcw schedules list`` show of it. A run no longer kept is left out."""
    schedules = list(schedules)
    ids = {s.last_run_id for s in schedules if s.last_run_id}
    if not ids:
        return {}
    runs = {r.id: r for r in session.execute(select(SyncRun).where(SyncRun.id.in_(ids))).scalars()}
    return {s.id: runs[s.last_run_id] for s in schedules if s.last_run_id in runs}


def last_run_fired_at(schedule: Schedule, run: SyncRun | None) -> dt.datetime | None:
    """When ``schedule``'s last run (``run``: :func:`schedules_last_runs`'s) was fired, naive UTC: the run's own time,
    recorded as the scheduler fired it, not the schedule's last fire, which a later due time skipped while that run
    was still queued or running also sets ("Last run: run #64, fired 17:13 UTC", the skip of 17:15 said apart). What
    the Scheduled jobs list and ``colcw schedules list`` show. Without the run (no longer kept): the schedule's last
    fire when that fire started it, None when a skip came after."""
    if run is not None:
        return run.created_at
    if schedule.last_run_id and schedule.last_outcome == started_outcome(schedule.last_run_id):
        return schedule.last_fired_at
    return None


def runs_by_id(session: Session, ids: list[int]) -> list[SyncRun]:
    """The runs with these ids, as they are now (newest first, as the history lists them; ids of runs that no longer
    exist are left out)."""
    if not ids:
        return []
    session.expire_all()
    return list(session.execute(select(SyncRun).options(undefer(SyncRun.schedule_name)).where(SyncRun.id.in_(ids))
                                .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())).scalars())


def items_query(run_id: int, action: str = "") -> Select:
    """A run's results in the order recorded, only those of ``action`` when given (the failed and not attempted
    through their partial index: :func:`~colcw_plugin.models.action_in`)."""
    q = select(SyncItem).where(SyncItem.run_id == run_id).order_by(SyncItem.id)
    if not action:
        return q
    return q.where(action_in(action) if action in REDO_ACTIONS else SyncItem.action == action)


@dataclass(frozen=True)
class InRun:
    """Records of a list page that an unfinished run is still to export (:func:`not_reached`)."""

    run_id: int
    status: str  # queued, running, waiting or cancelling
    waiting: frozenset[int]

    def note(self) -> tuple[str, str]:
        """What a waiting row says beside its state, and why (its title)."""
        if self.status == "queued":
            return (f"queued in run #{self.run_id}",
                    f"Run #{self.run_id} exports it; the run waits for a worker to start it.")
        if self.status == "waiting":
            return (f"waiting in run #{self.run_id}",
                    f"Run #{self.run_id} waits to try again (ConnectWise was busy or out of reach) and has not reached "
                    "this record yet.")
        if self.status == "cancelling":
            return (f"run #{self.run_id} is stopping",
                    f"Run #{self.run_id} was asked to stop before it reached this record: it may be left as it is.")
        return (f"waiting in run #{self.run_id}", f"Run #{self.run_id} is running and has not finished this record yet.")


def followable(run: SyncRun, kind: str) -> bool:
    """Whether a list of ``kind``'s records follows ``run`` row by row: a run of that kind, still unfinished."""
    return run.kind == kind and run.status in ACTIVE_RUN_STATUSES


def not_reached(session: Session, run: SyncRun, kind: str, entity: str, ids_param: str, ids: Iterable[int]
                ) -> InRun | None:
    """Of ``ids``, the records ``run`` (of ``kind``, its records listed in ``params[ids_param]``) selects and has
    recorded no result for yet, while it is :func:`followable`; None otherwise. One statement: its results for those
    records."""
    if not followable(run, kind):
        return None
    selected = {int(i) for i in (run.params or {}).get(ids_param) or ()} & set(ids)
    if selected:
        selected -= set(session.execute(select(SyncItem.host_id).where(
            SyncItem.run_id == run.id, SyncItem.entity == entity, SyncItem.host_id.in_(sorted(selected)))).scalars())
    return InRun(run.id, run.status, frozenset(selected))


def failed_count(session: Session, run_id: int) -> int:
    """Records of the run that failed or were not attempted (what Retry re-runs)."""
    return session.scalar(select(func.count(SyncItem.id)).where(SyncItem.run_id == run_id,
                                                                action_in(*REDO_ACTIONS))) or 0


def failed_items(session: Session, run_id: int) -> list[SyncItem]:
    """The failed and not attempted records of a run, plus (for a run that ended without recording
    them) the records it selected and never reached, as unsaved items."""
    items = list(session.execute(select(SyncItem).where(SyncItem.run_id == run_id, action_in(*REDO_ACTIONS))
                                 .order_by(SyncItem.id)).scalars())
    run = session.get(SyncRun, run_id)
    selection = (run.selection or {}) if run is not None else {}
    if selection.get("ids") and run.status in ENDED_RUN_STATUSES:
        entity, key = selection["entity"], selection.get("key", "host")
        column = SyncItem.cw_id if key == "cw" else SyncItem.host_id
        seen = set(session.execute(select(column).where(SyncItem.run_id == run_id, SyncItem.entity == entity))
                   .scalars())
        for i in selection["ids"]:
            if i not in seen:
                items.append(SyncItem(run_id=run_id, entity=entity, direction="export", action="not_attempted",
                                      host_id=i if key == "host" else None, cw_id=i if key == "cw" else None))
    return items


# What a person confirmed on a record's page, carried by the run their click started: the target of a document's
# export (a closed, Won or Lost opportunity, a name like another one's: sync/quotes/targets.confirm_token), a new
# company beside look-alikes (sync/customers/exporter.new_company_token), the checklist's warnings (⚠) ticked. A Retry
# is clicked by someone else, later, who confirmed none of it: it never carries them (:func:`retry_params`).
REP_CONFIRMATIONS = ("confirmed", "confirmed_checks")


def retry_params(session: Session, kinds: KindRegistry, run: SyncRun,
                 failed: list[SyncItem] | None = None) -> dict | None:
    """Params of a new run that redoes the failed and not attempted records of ``run`` (None when none can
    be redone): the run's kind says which records those are (see ``JobKind.retry``). A run that stopped
    before selecting anything is redone whole, but for what a person confirmed for it (:data:`REP_CONFIRMATIONS`):
    a Retry never confirms, so what needed a confirmation is refused with how to confirm it on the record's page.
    ``failed``: the run's :func:`failed_items`, when already read."""
    kind = kinds.get(run.kind)
    if kind is None or kind.retry is None:
        return None
    failed = failed_items(session, run.id) if failed is None else failed
    if not failed:
        stopped = run.status in ENDED_RUN_STATUSES and run.status != "succeeded" and not run.selection \
            and (run.total == 0 or run.done < run.total)
        params = dict(run.params or {}) if stopped and run.counts.get("failed", 0) == 0 else None
    else:
        params = kind.retry(session, run, failed)
    return None if params is None else {k: v for k, v in params.items() if k not in REP_CONFIRMATIONS}


def retry_label(session: Session, kinds: KindRegistry, run: SyncRun) -> str | None:
    """The Retry button's text, counting what the retry redoes (a document with three failed lines
    is one document to export again), or None when nothing can be retried."""
    items = failed_items(session, run.id)  # (read once: the params are made from them too)
    params = retry_params(session, kinds, run, items)
    if params is None:
        return None
    actions = {i.action for i in items}
    if not actions:
        return "Run the whole job again"
    kind = kinds[run.kind]
    if kind.retry_entities and all(i.entity in kind.retry_entities for i in items):
        return _retry_by_entity(kind.retry_entities, items)
    return kind.retry_text(params, _redone(actions), records=len(items))


def redone_records(failed: Sequence[SyncItem]) -> str:
    """What a retry redoes, in words for its confirmation, from the run's :func:`failed_items`: "the failed records",
    "the not attempted records", "the failed and not attempted records", or "the whole job" (a run that ended
    without recording its records)."""
    actions = {i.action for i in failed}
    return f"the {_redone(actions)} records" if actions else "the whole job"


def _redone(actions: set[str]) -> str:
    return "failed and not attempted" if actions == set(REDO_ACTIONS) else \
        "not attempted" if actions == {"not_attempted"} else "failed"


def _retry_by_entity(nouns: dict, items: list[SyncItem]) -> str:
    """"Retry the 17 failed customers and 1 failed contact": each kind of record counted once per record, in the
    order the kind names them (``JobKind.retry_entities``), as the run's Records count them."""
    parts = []
    for entity, (one, many) in nouns.items():
        mine = [i for i in items if i.entity == entity]
        if mine:
            n = len({(i.host_id, i.cw_id) if i.host_id or i.cw_id else i.id for i in mine})
            parts.append(f"{n:,} {_redone({i.action for i in mine})} {one if n == 1 else many}")
    return "Retry the " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


CSV_COLUMNS = ("at_utc", "entity", "direction", "action", "label", "channelonline_id", "connectwise_id", "message",
               "resolution")


def log_csv(session: Session, run_id: int) -> str:
    """A run's status log as CSV (cells that a spreadsheet would run as formulas are quoted)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in session.execute(items_query(run_id)).scalars():
        writer.writerow([item.at.isoformat(timespec="seconds"), item.entity, item.direction, item.action,
                         _cell(item.label), item.host_id or "", item.cw_id or "", _cell(item.message),
                         _cell(item.resolution)])
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text and text[0] in "=+-@\t\r" else text


# --- progress ----------------------------------------------------------------------------------------


def run_status(session: Session, kinds: KindRegistry, run_id: int) -> dict | None:
    """A run's progress as the JSON the progress bar polls."""
    session.expire_all()
    # With its schedule's name now (a renamed schedule's runs say the new one, as the pages do).
    run = session.execute(select(SyncRun).options(undefer(SyncRun.schedule_name)).where(SyncRun.id == run_id)).scalar()
    if run is None:
        return None
    final = run.has_ended
    # The percent its progress bar shows (SyncRun.percent: the records it reached, of its total, 100 once it has
    # closed or is finishing), and those records ("reached"); "done" counts those it closed "not attempted" too.
    # "finishing": running, every record done, not closed yet (its bar says "Finishing").
    return {"id": run.id, "kind": run.kind, "label": kinds.label(run.kind),
            "description": run.description, "status": run.status, "final": final, "finishing": run.finishing,
            "done": run.done, "reached": run.reached, "total": run.total, "percent": run.percent,
            "counts": dict(run.counts or {}), "records": run.records_summary, "message": run.message or "",
            "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "requested_by": run.requested_by_text, "trigger": run.trigger,
            "waiting": run.wait_text, "next_try_at": _iso(run.next_try_at),
            "stop_requested_at": _iso(run.stop_requested_at) if run.status == RunStatus.CANCELLING else None}


# --- what an unfinished run is doing, and whether its worker lives ------------------------------------


@dataclass(frozen=True)
class QueuedBehind:
    """Why a queued run has not started, from what Redis holds of the workers (:func:`queued_behind`): the one
    definition the run's page, its progress bar and a customer's page say it from. ``no_worker``: no colcw worker
    listens on its queue; ``idle``: one that could take it is free (it starts in a moment); else ``runs``, the colcw
    runs those workers are on ("#59 (Export all customers to ConnectWise, running)"), ``others`` the jobs not colcw's
    runs they are on, ``ahead`` the jobs queued before it. ``urgent``: the run goes on the live queue; ``dedicated``:
    a worker serves the live queue alone."""

    no_worker: bool
    idle: bool
    runs: tuple[str, ...] = ()
    others: int = 0
    ahead: int = 0
    urgent: bool = False
    dedicated: bool = False

    @property
    def behind(self) -> str:
        """"run #59 (Export all customers to ConnectWise, running) and 2 runs queued before it": what it waits
        behind ("" when nothing: no worker, or one is free)."""
        if self.no_worker or self.idle:
            return ""
        parts = [("run " if len(self.runs) == 1 else "runs ") + and_list(self.runs)] if self.runs else []
        if self.others:
            parts.append(f"{self.others} other {'job' if self.others == 1 else 'jobs'}")
        if self.ahead:
            parts.append(f"{self.ahead} {'run' if self.ahead == 1 else 'runs'} queued before it")
        return and_list(parts) if parts else "the runs under way"


def queued_behind(session: Session, queue: JobQueue, kinds: KindRegistry | None, run: SyncRun) -> QueuedBehind | None:
    """What a queued ``run`` waits for, from RQ's worker registrations and queue in Redis
    (:meth:`~.queue.JobQueue.busy_with`: whichever machines the workers run on), the runs they work on named from the
    database (their description, else their job's label from ``kinds``). None for a run not queued, or when Redis
    does not answer (nothing can be told)."""
    if run.status != RunStatus.QUEUED:
        return None
    try:
        busy = queue.busy_with(run.kind, run.params)
        if busy is None:
            return QueuedBehind(no_worker=True, idle=False, urgent=queue.is_urgent(run.kind, run.params))
        if busy.idle:
            return QueuedBehind(no_worker=False, idle=True, urgent=busy.urgent, dedicated=busy.dedicated)
        ahead = queue.ahead_of(run)
    except RedisError:
        return None
    ids = [r for r in busy.running if isinstance(r, int) and r != run.id]
    rows = {r.id: r for r in session.execute(select(SyncRun).where(SyncRun.id.in_(ids))).scalars()} if ids else {}

    def what(r: SyncRun) -> str:
        return r.description or (kinds.label(r.kind) if kinds is not None else r.kind.replace("_", " "))

    named = tuple(f"#{i} ({what(rows[i])}, {rows[i].status_label.lower()})" for i in ids if i in rows)
    return QueuedBehind(no_worker=False, idle=False, runs=named, others=len(busy.running) - len(named), ahead=ahead,
                        urgent=busy.urgent, dedicated=busy.dedicated)


def state_text(session: Session, run: SyncRun, zone: str = "UTC", *, queue: JobQueue,
               kinds: KindRegistry | None = None) -> str:
    """What an unfinished run is doing now, in the words every page uses for it (the run's page says its status and
    :meth:`~colcw_plugin.models.SyncRun.wait_text_in`; a customer's page and its flash say this): "queued behind run
    #12 (Import companies from ConnectWise, running)", "queued: waiting for a colcw worker to start it", "waiting to
    retry at 14:30:05 EDT: <why>", "running: <why it pauses>", "running (3 of 40 customers)", "stopping"; "" for an
    ended run. A queued run says what it waits behind as its run's page does (:func:`queued_behind`: the workers
    registered in Redis, not the oldest running run in the database); its times are in ``zone`` (the page's)."""
    status = run.status
    if status == RunStatus.QUEUED:
        note = queued_behind(session, queue, kinds, run)
        if note is None:
            return "queued"
        if note.no_worker:
            return "queued: waiting for a colcw worker to start it"
        if note.idle:
            return "queued: a worker starts it in a moment"
        return f"queued behind {note.behind}"
    if status == RunStatus.WAITING:
        when = f" at {in_zone(run.next_try_at, zone, WAIT_TIME_FORMAT)}" if run.next_try_at is not None else ""
        why = (run.waiting_reason or "ConnectWise was busy or out of reach").rstrip(".")
        return f"waiting to retry{when}: {why}"
    if status == RunStatus.CANCELLING:
        return "stopping: an admin asked it to stop"
    if status == RunStatus.RUNNING:
        reason = run.waiting_reason or ""
        if reason.endswith(RETRYING_REQUEST) and run.next_try_at is not None:  # (RunRecorder.note_retry_wait's)
            what = reason.removesuffix(RETRYING_REQUEST)
            return f"waiting to retry at {in_zone(run.next_try_at, zone, WAIT_TIME_FORMAT)}: {what}"
        if run.waiting_reason:
            text = run.wait_text_in(zone).rstrip(".")
            return f"running, {text[:1].lower()}{text[1:]}"
        if not (run.total and run.total > 1):
            return "running"
        job = kinds.get(run.kind) if kinds is not None else None
        return f"running ({done_of(run.reached, run.total, selected_nouns(job, run.selection))})"  # "3 of 40 customers"
    return ""


@dataclass(frozen=True)
class WorkerNote:
    """What a running run's pages say of its worker (:func:`worker_note`). ``state``: ``stopped`` (RQ reported the
    attempt's process ended), ``silent`` (its liveness key expired: not heard from), ``stalled`` (alive, no progress
    for a while) or ``unknown`` (no progress, and Redis does not answer); ``text`` the sentence, times in the page's
    zone."""

    state: str
    text: str

    @property
    def dead(self) -> bool:
        """Whether its worker stopped, or seems to have (not heard from)."""
        return self.state in ("stopped", "silent")


# A running run's liveness key is written just after it is claimed: younger than this, a missing key says nothing.
_JUST_CLAIMED_SECONDS = 5.0


def worker_note(run: SyncRun, queue: JobQueue, zone: str = "UTC", *, leader_key: str | None = None,
                command: str | None = None, now: dt.datetime | None = None,
                kinds: KindRegistry | None = None) -> WorkerNote | None:
    """Whether a running (or stopping) run's worker still works on it, and what colcw will do when it does not: None
    when there is nothing to say (the run is not running, its worker is alive and it made progress lately).

    One round trip to Redis (:meth:`~.queue.JobQueue.attempt`), none for a run attempted outside the queue (a rep's
    export in the web process, which has no job): pages poll it every few seconds. The worker stopped when RQ closed
    its attempt's job (its worker saw the work horse die: then the scheduler resumes the run at its next check,
    :func:`~.recovery.detect_interrupted`); it is silent when its liveness key expired (its machine may have died:
    the scheduler resumes the run once its heartbeat is ``interrupted_after_seconds`` old); it has made no progress
    when its heartbeat is ``stalled_after_seconds`` old while it lives (a slow ConnectWise: nothing is done).
    ``leader_key``: the colcw scheduler's lock, to say when none runs to resume the run; ``command``: how colcw's
    commands are typed, to say how to start one (None: "ask an admin"); ``kinds``: the run's kind, which names its
    records ("2 of 4 companies done"; else "customers", "quotes / orders" by what it selected)."""
    if run.status not in (RunStatus.RUNNING, RunStatus.CANCELLING):
        return None
    job = kinds.get(run.kind) if kinds is not None else None
    done = f"{done_of(run.done, run.total, selected_nouns(job, run.selection))} done"  # "2 of 4 companies done"
    now = now or utcnow()
    settings = queue.settings
    beat = run.heartbeat_at or run.started_at or run.created_at
    age = (now - beat).total_seconds() if beat is not None else 0.0
    heard = in_zone(beat, zone, WAIT_TIME_FORMAT) if beat is not None else "its start"
    attempt: Attempt | None = None
    if run.rq_job_id:
        try:
            attempt = queue.attempt(run.rq_job_id, run.id, leader_key=leader_key)
        except RedisError:
            if age >= settings.stalled_after_seconds:
                return WorkerNote("unknown", f"No progress since {heard}, and the job queue (Redis) does not answer: "
                                             "whether its worker still runs cannot be told.")
            return None
    if attempt is not None and attempt.ended:
        stopped = in_zone(attempt.ended_at or beat or now, zone, WAIT_TIME_FORMAT)
        return WorkerNote("stopped", f"Its worker stopped at {stopped} ({done}): the job queue reports that "
                                     f"the process running it ended. {_next_step(run, attempt, settings, None, command)}")
    if attempt is not None and not attempt.alive and age >= _JUST_CLAIMED_SECONDS:
        at = beat + dt.timedelta(seconds=settings.interrupted_after_seconds) if beat is not None else None
        return WorkerNote("silent", f"Its worker has not been heard from since {heard} ({done}): its process "
                                    "or its machine may have stopped. "
                                    f"{_next_step(run, attempt, settings, _when(at, now, zone), command)}")
    if age >= settings.stalled_after_seconds and not run.waiting_reason:
        alive = "its worker is alive, waiting on ConnectWise or a long step" if attempt is not None else \
            "it runs in the process that started it"
        return WorkerNote("stalled", f"No progress since {heard}: {alive}; colcw leaves it running.")
    return None


def _when(at: dt.datetime | None, now: dt.datetime, zone: str) -> str | None:
    """"at 14:32:05 EDT", or None once that time has passed (the scheduler's next check then)."""
    return f"at {in_zone(at, zone, WAIT_TIME_FORMAT)}" if at is not None and at > now else None


def _next_step(run: SyncRun, attempt: Attempt, settings, when: str | None, command: str | None) -> str:
    """What colcw does with a run whose worker stopped, and when (``when``: "at 14:32:05 EDT", if it stays silent; None:
    at the scheduler's next check), or what a person must do when no scheduler runs."""
    verb = "closes it as cancelled" if run.status == RunStatus.CANCELLING else \
        "resumes it (records already done are skipped)" if (run.interruptions or 0) < settings.auto_resumes else \
        (f"marks it interrupted (its worker stopped {run.interruptions} times already: it is not resumed again by "
         "itself), for you to Resume it or Retry what it did not reach")
    plan = f"colcw {verb} {when} unless it is heard from again" if when else f"colcw {verb} at its scheduler's next check"
    if attempt.scheduler is False:
        start = f"start one with “{command} scheduler”" if command else "ask an admin to start one"
        return f"{plan}, but no colcw scheduler is running: {start}."
    if when is None:
        return f"colcw {verb} within seconds, at its scheduler's next check."
    return f"{plan}."


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(tzinfo=dt.UTC).isoformat() if value else None


# --- purge -------------------------------------------------------------------------------------------


def purge_history(session: Session, days: int, *, now: dt.datetime | None = None) -> int:
    """Delete finished runs (and their records) created more than ``days`` days ago."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    old = select(SyncRun.id).where(SyncRun.created_at < cutoff, SyncRun.status.not_in(ACTIVE_RUN_STATUSES))
    session.execute(delete(SyncItem).where(SyncItem.run_id.in_(old)))
    result = session.execute(delete(SyncRun).where(SyncRun.id.in_(old)))
    session.commit()
    return result.rowcount


def maybe_purge(session: Session, redis, days: int, *, every_seconds: int = 3600) -> int | None:
    """Purge at most once per ``every_seconds`` across all schedulers (a Redis key says when); None when
    not due."""
    if not redis.set("colcw:history:purged", utcnow().isoformat(), nx=True, ex=every_seconds):
        return None
    return purge_history(session, days)
