"""What pages show of live updates: the Connection page's section, drift on a customer, a document's changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from host_stub.models import Contact

from ...models import (
    CONTACT,
    CUSTOMER_MASTERS,
    CallbackRegistration,
    DocumentDrift,
    InboundHint,
    LiveSettings,
    RecordDrift,
    RunStatus,
    Schedule,
    SyncRun,
    stored_time,
    times_in,
)
from ...models.runs import STORED_TIME_FORMAT, in_zone
from ...setup import callbacks as registrations
from ...setup.live_updates import read_live, shown_url
from ..shared.held_deletions import shown_alert
from ..shared.product_drift import describe_change
from . import RECONCILE_KIND
from .hints import last_received, pending_count


@dataclass
class LivePanel:
    """The Connection page's Live updates section."""

    live: LiveSettings
    url: str
    callbacks: list[CallbackRegistration]
    last: InboundHint | None
    pending: int  # records ConnectWise announced, waiting to be read (not those ``applying`` reads)
    schedules: list[Schedule]
    masters: dict[str, str]
    applying: SyncRun | None = None  # a safety-net pass past the mass-delete guard (Apply anyway), queued or running
    reading: int = 0  # the announced records it reads
    alert: str = ""  # the mass-delete guard's alert as it holds now ("" while none stands: shared.held_deletions)

    def refused(self, zone: str = "UTC") -> str:
        """Callbacks refused since the last one accepted, in words (the page's section and ``colcw live-updates``),
        with their times in ``zone`` (the page's; UTC on the command line); "" while none is."""
        live = self.live
        if not live.refused_at:
            return ""
        count = live.refused_count or 1
        since = in_zone(live.refused_since or live.refused_at, zone, STORED_TIME_FORMAT)
        last = f", the last {in_zone(live.refused_at, zone, STORED_TIME_FORMAT)}" if count > 1 else ""
        net = " or the safety net runs" if any(s.enabled for s in self.schedules) else ""
        return (f"Last callback refused: {live.refused_reason or 'no reason recorded'} ({count} since {since}{last}). "
                "ConnectWise's changes announced by refused callbacks are not read until one is accepted again"
                f"{net}.")


    def state(self, c: CallbackRegistration, zone: str = "UTC") -> str:
        """A callback's state in words (the page's table and ``colcw live-updates``): as of its last check (in
        ``zone``: the page's; UTC on the command line), and not confirmed while the last attempt to register or
        remove the callbacks failed."""
        seen = "switched off by ConnectWise" if c.inactive else "active"
        when = times_in(stored_time(c.checked_at), zone)
        if self.live.last_error:
            return f"not confirmed (the last attempt failed); {seen} when last checked, {when}"
        return f"{seen}, checked {when}"


_ACTIVE = (RunStatus.QUEUED, RunStatus.WAITING, RunStatus.RUNNING)  # (a run asked to stop may not read them)


def applying_run(session: Session) -> SyncRun | None:
    """The safety-net pass run past the mass-delete guard (Apply anyway) that is queued, running or waiting for its
    next try: it reads the records ConnectWise announced that a stopped run held (safety_net's passes)."""
    runs = session.execute(select(SyncRun).where(SyncRun.kind == RECONCILE_KIND, SyncRun.status.in_(_ACTIVE))
                           .order_by(SyncRun.id.desc())).scalars()
    return next((r for r in runs if (r.params or {}).get("force")), None)


def forced_pass(session: Session, stopped_run_id: int | None) -> dict:
    """The params of the safety-net pass Apply anyway runs past the mass-delete guard: the pass the guard stopped,
    again. A changes pass stopped by it is run again as a changes pass (its watermark did not move: it reads the same
    changes, the deletions among them included); a deletions pass or a live update (whose held hints the forced
    deletions pass reads too) as a deletions pass. Run as a deletions pass, a stopped changes pass left its other
    changes for the next scheduled changes pass."""
    stopped = session.get(SyncRun, stopped_run_id) if stopped_run_id is not None else None
    mode = "changes" if stopped is not None and stopped.kind == RECONCILE_KIND and \
        (stopped.params or {}).get("mode", "changes") == "changes" else "deletions"
    return {"mode": mode, "force": True}


def _read_by(session: Session, run: SyncRun) -> int:
    """How many pending hints ``run`` reads: every one while it waits to start (it takes them all then); once it
    runs, those it claimed and those recorded before it started."""
    stmt = select(func.count()).select_from(InboundHint).where(InboundHint.pending.is_(True))
    if run.status == RunStatus.RUNNING and run.started_at is not None:
        stmt = stmt.where(or_(InboundHint.run_id == run.id, InboundHint.last_at <= run.started_at))
    return session.execute(stmt).scalar_one()


def live_panel(session: Session) -> LivePanel:
    live = read_live(session)
    schedules = list(session.execute(select(Schedule).where(Schedule.kind == RECONCILE_KIND)
                                     .order_by(Schedule.id)).scalars())
    pending = pending_count(session)
    applying = applying_run(session) if pending else None
    reading = _read_by(session, applying) if applying is not None else 0
    return LivePanel(live, shown_url(live), registrations.registered(session), last_received(session),
                     pending - reading, schedules, CUSTOMER_MASTERS, applying if reading else None, reading,
                     shown_alert(session, live) if live.alert else "")


# A note the customer page shows: one about a contact the rep since deleted in the host is settled for that contact,
# nothing of it is left to show (the import's untouched check passes it over alike: sync/customers/settled.py). A copy
# of sync/customers/link_batch.py ``NOTE_SHOWN``, which this package may not import; the master's change counts by it.
NOTE_SHOWN = or_(RecordDrift.entity != CONTACT, exists().where(Contact.id == RecordDrift.host_id))
# Built once: the customer page runs it on every view, and a statement's cache key costs more to compute
# than the statement itself costs to run.
_CUSTOMER_DRIFT = (select(RecordDrift).where(RecordDrift.customer_id == bindparam("customer_id", type_=Integer),
                                             NOTE_SHOWN)
                   .order_by(RecordDrift.entity.desc(), RecordDrift.host_id, RecordDrift.field))


def customer_drift(session: Session, customer_id: int) -> list[RecordDrift]:
    """ConnectWise changes not taken and conflicts for a customer and its contacts (the customer page)."""
    return list(session.execute(_CUSTOMER_DRIFT, {"customer_id": customer_id}).scalars())


@dataclass
class DocumentChanges:
    """A document's products changed in ConnectWise since its export, in words."""

    opportunity_id: int
    lines: list[str]
    detected_at: object


def changes_of(row: DocumentDrift | None) -> DocumentChanges | None:
    """A document's drift row (read with its panel) in words."""
    if row is None or not row.changes:
        return None
    return DocumentChanges(row.opportunity_id, [describe_change(c) for c in row.changes], row.detected_at)
