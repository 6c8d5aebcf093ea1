"""Hints: ConnectWise said a record changed. One row per record, however many callbacks said so.

:func:`record_hint` stores a callback's hint (an upsert) and :func:`ensure_run` makes sure a
live-update run will take it: it queues one unless a run is already waiting in the queue. A
waiting run takes every hint recorded before it starts (:func:`take_pending` runs after its
claim), so a burst of callbacks for a few records makes one run reading those records once; a
hint that arrives while a run is working gets the next run (the one working may have read the
record before the change; when it had not taken its hints yet, it takes this one too, and the next
run, finding nothing pending, is not kept: kinds.run_live). Runs of this kind are serialised, so reads apply in order. A hint stays
pending until its record was read and applied (:func:`read_back`), so a run that meets ConnectWise
unreachable reads it on its next attempt.

A callback naming colcw's own member that carries a version of its company or contact is recorded with that version
(``own_versions``, while every callback pending for the record is such a one): the run that takes it reads the record
only if that version is not one colcw's own write produced (:mod:`.echoes`), which the callback's web request no
longer waits to find out.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, Row, case, delete, func, null, select, tuple_, update
from sqlalchemy.orm import Session

from host_stub.bulk import upsert_insert
from host_stub.models import utcnow
from host_stub.snapshots import system_actor

from ...errors import QueueBusy
from ...models import InboundHint, RunStatus, SyncRun
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue, submit
from . import LIVE_KIND, LIVE_SYSTEM

log = logging.getLogger(__name__)
LIVE_ACTOR = system_actor(LIVE_SYSTEM)
TAKE_LIMIT = 5000  # hints one take claims: a run takes another batch only while they come this many at a time


@dataclass(frozen=True)
class Hint:
    entity: str  # company | contact | opportunity
    cw_id: int
    action: str
    member: str = ""
    # The version of its record the callback carried, when it named colcw's own member (own_writes.version): the
    # run reads the record only if it is not one colcw's write produced. "": read regardless.
    own_version: str = ""


# How long the versions of a record's pending hint may run (a few callbacks of colcw's own writes of it); a longer
# list is dropped and the record read.
OWN_VERSIONS_CHARS = 1000


def record_hint(session: Session, hint: Hint) -> None:
    """Store (or add to) the record's pending hint and commit.

    Its ``own_versions`` (see :class:`Hint`): the hint's own version added to those of the callbacks already pending
    when each of them had one; none as soon as one pending callback had none (the record is read)."""
    now = utcnow()
    version = hint.own_version.strip() or None
    stmt = upsert_insert(session)(InboundHint).values(entity=hint.entity, cw_id=hint.cw_id, action=hint.action,
                                                      member=hint.member[:100], hints=1, pending=True, first_at=now,
                                                      last_at=now, own_versions=version)
    own_versions = case(
        (InboundHint.pending.is_(True) & InboundHint.own_versions.is_not(None)
         & (func.length(InboundHint.own_versions) < OWN_VERSIONS_CHARS),
         InboundHint.own_versions + " " + stmt.excluded.own_versions),  # (NULL when this one has none)
        (InboundHint.pending.is_(True), null()),
        else_=stmt.excluded.own_versions)  # the record was read: only this callback is pending now
    session.execute(stmt.on_conflict_do_update(index_elements=["entity", "cw_id"], set_={
        "action": stmt.excluded.action, "member": stmt.excluded.member, "last_at": stmt.excluded.last_at,
        "pending": True, "hints": InboundHint.hints + 1, "own_versions": own_versions}))
    session.commit()


def record_hints(session: Session, hints: Iterable[Hint]) -> int:
    """Store (or add to) the pending hints of several records in one statement; how many records. Flushes, does
    not commit (the caller's change and its hints are one)."""
    now = utcnow()
    rows = {(h.entity, h.cw_id): {"entity": h.entity, "cw_id": h.cw_id, "action": h.action, "member": h.member[:100],
                                  "hints": 1, "pending": True, "first_at": now, "last_at": now} for h in hints}
    if not rows:
        return 0
    stmt = upsert_insert(session)(InboundHint).values(list(rows.values()))
    session.execute(stmt.on_conflict_do_update(index_elements=["entity", "cw_id"], set_={
        "action": stmt.excluded.action, "member": stmt.excluded.member, "last_at": stmt.excluded.last_at,
        "pending": True, "hints": InboundHint.hints + 1, "own_versions": null()}))  # (these are always read)
    session.flush()
    return len(rows)


def take_pending(session: Session, run_id: int, limit: int = TAKE_LIMIT) -> list[Row]:
    """Claim the pending hints for ``run_id`` (at most ``limit``, oldest first) and commit.

    They stay pending until :func:`read_back` says their records were read and applied: an attempt that meets
    ConnectWise unreachable, a worker that dies or a run stopped by the mass-delete guard loses none of them;
    the run's next attempt, or the next run, takes them again. Runs that take hints hold one lock
    (``colcw-inbound``), so two never claim the same hint at once. Each hint as it was claimed (``id``,
    ``entity``, ``cw_id``, ``action``, ``hints``, ``own_versions``, ``last_at``: plain values, which a commit does
    not refresh)."""
    ids = list(session.execute(select(InboundHint.id).where(InboundHint.pending.is_(True))
                               .order_by(InboundHint.last_at, InboundHint.id).limit(limit)).scalars())
    if ids:
        session.execute(update(InboundHint).where(InboundHint.id.in_(ids))
                        .values(taken_at=utcnow(), run_id=run_id))
    session.commit()
    if not ids:
        return []
    return list(session.execute(select(InboundHint.id, InboundHint.entity, InboundHint.cw_id, InboundHint.action,
                                       InboundHint.hints, InboundHint.own_versions, InboundHint.last_at)
                                .where(InboundHint.id.in_(ids)).order_by(InboundHint.id)))


def read_back(session: Session, hints: Sequence[Row]) -> None:
    """The records of ``hints`` (as :func:`take_pending` returned them) were read and applied: they are no longer
    pending, except a record ConnectWise announced again since it was claimed (its count of hints moved on),
    which the next run reads again. Commits."""
    if hints:
        session.execute(update(InboundHint).where(tuple_(InboundHint.id, InboundHint.hints).in_(
            [(h.id, h.hints) for h in hints])).values(pending=False))
    session.commit()


def forget(session: Session, hints: Sequence[Row]) -> None:
    """The callbacks of ``hints`` (as :func:`take_pending` returned them) were colcw's own writes coming back: as if
    they had not been recorded. A hint only they made is deleted; one of a record read before (its earlier
    callbacks counted) is no longer pending. A record announced again since it was claimed stays pending, as in
    :func:`read_back`. Commits."""
    only = [(h.id, h.hints) for h in hints if h.hints == len((h.own_versions or "").split())]
    rest = [(h.id, h.hints) for h in hints if (h.id, h.hints) not in set(only)]
    if only:
        session.execute(delete(InboundHint).where(tuple_(InboundHint.id, InboundHint.hints).in_(only))
                        .execution_options(synchronize_session=False))
    if rest:
        session.execute(update(InboundHint).where(tuple_(InboundHint.id, InboundHint.hints).in_(rest))
                        .values(pending=False, own_versions=None).execution_options(synchronize_session=False))
    session.commit()


def ensure_run(session: Session, queue: JobQueue, kinds: KindRegistry, *, follow_up: int = 0) -> SyncRun | None:
    """Queue a live-update run unless one is already waiting in the queue, or waiting for its next try (that
    try takes every hint pending by then: while ConnectWise is unreachable, bursts do not pile up runs);
    the run queued (or None; also when another process holds the lock, queueing one: :class:`QueueBusy`, and its run
    takes the hints pending). The check and the queueing hold one Redis lock, so web processes and workers on
    several machines queue one run between them. ``follow_up``: how many runs in a row, this one included, were
    queued for records a run left to the next (:func:`follow_up`)."""
    try:
        with queue.lock(f"colcw-{LIVE_KIND}"):
            return _ensure_run(session, queue, kinds, follow_up)
    except QueueBusy:  # another process is queueing one right now: its run (or the one it found waiting) takes them
        session.rollback()
        log.info("a live-update run is being queued by another process; the hints pending go with it")
        return None


def _ensure_run(session: Session, queue: JobQueue, kinds: KindRegistry, follow_up: int) -> SyncRun | None:
    """:func:`ensure_run`'s look and submit, under its lock."""
    waiting = session.execute(select(SyncRun).where(SyncRun.kind == LIVE_KIND,
                                                    SyncRun.status.in_((RunStatus.QUEUED, RunStatus.WAITING)))
                              .order_by(SyncRun.id.desc()).limit(5)).scalars().all()
    if any(queue.is_working(run.rq_job_id, run.id) for run in waiting):
        session.rollback()
        return None
    params: dict = {"wave": uuid.uuid4().hex[:16]}
    if follow_up:
        params[FOLLOW_UP] = follow_up
    return submit(session, queue, kinds, LIVE_KIND, params, trigger="event", actor=LIVE_ACTOR,
                  record_when_queue_down=True).run


# A live-update run's param: it was queued for records an earlier run left to the next (a customer changed in
# ChannelOnline while that run read ConnectWise), the how-manieth such run in a row.
FOLLOW_UP = "follow_up"
# How many such runs in a row at most: a customer that keeps changing while runs read it is then left to the next
# callback or safety-net pass (its hint stays pending), rather than queueing runs for ever.
MAX_FOLLOW_UPS = 3


def follow_up(bind: Engine | Connection, queue: JobQueue | None, kinds: KindRegistry | None,
              params: Mapping[str, object]) -> SyncRun | None:
    """After a run (of ``params``) recorded pending hints for records it left to the next, queue a live-update run
    to read them soon (:func:`ensure_run`: none when one is waiting already, which takes them), unless the run was
    itself the last of :data:`MAX_FOLLOW_UPS` such runs in a row. On a session of its own (the run's holds its
    plans); the queue not answering is logged, the hints waiting for the next callback or pass. The run queued, or
    None."""
    count = int(params.get(FOLLOW_UP) or 0)  # (a callback's run, a safety-net pass, a retry: none before it)
    if queue is None or kinds is None or count >= MAX_FOLLOW_UPS:
        return None
    with Session(bind) as session:
        try:
            return ensure_run(session, queue, kinds, follow_up=count + 1)
        except RedisError:
            session.rollback()
            log.warning("Records left to the next live update are pending; the job queue (Redis) did not answer, so "
                        "the next callback or the safety net reads them")
            return None


def pending_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(InboundHint)
                           .where(InboundHint.pending.is_(True))).scalar_one()


def last_received(session: Session) -> InboundHint | None:
    """The record ConnectWise told us about last."""
    return session.execute(select(InboundHint).order_by(InboundHint.last_at.desc(), InboundHint.id.desc())
                           .limit(1)).scalar_one_or_none()
