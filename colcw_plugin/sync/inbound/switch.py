"""The Live updates switch: register or remove the callbacks, schedule or pause the safety net.

On: the callbacks for companies, contacts and opportunities are registered (reused when they exist) and two
schedules are made if missing: the safety net every 15 minutes and the deletion check daily at 03:30 UTC (both
editable on the jobs page); those it disabled when switched off are enabled again. Switched on (from off), a
safety-net pass is queued at once: it reads what changed in ConnectWise since its last pass, so what changed while
Live updates were off comes back now, not at the next scheduled pass (:func:`catch_up`). Off: colcw's callbacks are
removed and every enabled safety-net schedule of both modes disabled (:func:`ensure_schedules`). Saving the
connection while on registers again (the callbacks belong to the tenant the connection names). A failure to reach
ConnectWise is kept on the page and never quoted with the URL's secret. The pages say what stops while one of the two
schedules is deleted or disabled (:func:`safety_net_gaps`, :func:`stops_without`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...cw import ConnectWiseClient, ConnectWiseError
from ...cw.errors import AuthenticationFailed, DiscoveryError, NetworkError, TLSFailed
from ...errors import QueueBusy
from ...models import Schedule
from ...setup import callbacks as registrations
from ...setup.connection import NotConfigured
from ...setup.live_updates import (
    LiveInput,
    callback_url,
    check_url,
    get_live,
    reachable,
    read_live,
    save_live,
    shown_url,
    url_secret,
)
from ...setup.secrets import SecretBox, SecretError
from ...text import CONNECTWISE_BUSY
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue, submit
from ..jobs.schedules import (
    Timing,
    create_schedule,
    enabling_refused,
    free_name,
    lock_schedule_writes,
    set_enabled,
)
from . import RECONCILE_KIND
from .hints import LIVE_ACTOR, ensure_run, pending_count
from .master import Redecided, redecide

REGISTER_FAILED = "The callbacks could not be registered: "
ClientFactory = Callable[[Session], AbstractContextManager[ConnectWiseClient]]
SCHEDULES = (("ConnectWise safety net", {"mode": "changes"}, Timing.every(15)),
             ("ConnectWise deletion check", {"mode": "deletions"}, Timing("daily", dt.time(3, 30), "UTC")))

# What stops while no enabled schedule runs a mode's passes.
STOPS = {
    "changes": "missed callbacks are no longer caught (a change made in ConnectWise whose callback never arrived "
               "stays unseen until an import), and callbacks ConnectWise switched off stay off",
    "deletions": "deletions are no longer found (a record deleted in ConnectWise whose callback never arrived stays "
                 "linked here as if it were still there)",
}
HOW_BACK = ("To get it back, use Restore the safety net under Live updates on the Connection page, or save Live "
            "updates there while they are on.")


@dataclass(frozen=True)
class Gap:
    """One of the safety net's schedules that does not run."""

    mode: str  # "changes" or "deletions"
    name: str  # the name the switch gives it
    state: str  # "deleted" or "disabled"
    stops: str  # what stops without it


def safety_net_mode(schedule: Schedule) -> str | None:
    """The safety-net mode ("changes" or "deletions") a schedule runs, or None for any other schedule (a forced
    deletion pass included)."""
    params = schedule.params or {}
    if schedule.kind != RECONCILE_KIND or params.get("force") or params.get("mode") not in STOPS:
        return None
    return params["mode"]


def safety_net_gaps(schedules: Iterable[Schedule]) -> list[Gap]:
    """The safety net's schedules of which no enabled one is left, deleted or disabled."""
    schedules = list(schedules)
    out = []
    for name, params, _timing in SCHEDULES:
        mine = [s for s in schedules if safety_net_mode(s) == params["mode"]]
        if not any(s.enabled for s in mine):
            out.append(Gap(params["mode"], name, "disabled" if mine else "deleted", STOPS[params["mode"]]))
    return out


def stops_without(schedule: Schedule, schedules: Iterable[Schedule]) -> str:
    """What stops once ``schedule`` no longer runs, and how to get it back ("" when it is not the safety net's, or
    another enabled schedule runs the same passes)."""
    m = safety_net_mode(schedule)
    if m is None or any(s.id != schedule.id and s.enabled and safety_net_mode(s) == m for s in schedules):
        return ""
    return f"Without it, {STOPS[m]}. {HOW_BACK}"


def ensure_schedules(session: Session, actor: str, *, enabled: bool) -> list[Schedule]:
    """The safety net's schedules: made when missing (enabled), enabled or disabled as asked (not audited one by one:
    the live updates' change that asks records it); for each mode, the schedule that runs it (the first enabled one,
    else the first), or none when switched off with none left.

    Off disables every enabled schedule of a mode (the switch's and an admin's own), marking each
    (``Schedule.paused_by_live_switch``). On enables again those it marked, and no other: not a copy an admin
    disabled, nor one that would now always meet an enabled schedule (one enabled meanwhile;
    :func:`~colcw_plugin.sync.jobs.schedules.enabling_refused`). A mode with none marked (switched off before
    colcw_0010, or an admin enabled or disabled them since) keeps its enabled schedule, else enables its first, else
    gets a new one: a disabled copy beside an enabled one would run at the same minutes and the scheduler would skip
    one of the two every time (:func:`~colcw_plugin.sync.jobs.schedules.meets`)."""
    # Take turns with any other process's schedule writes first, then read: two processes switching Live updates on
    # at once would otherwise both find no schedule, and the second, let through once the first committed, would
    # meet the first's schedule (its name, its runs) and be refused. Read after the lock, it finds it and reuses it.
    lock_schedule_writes(session)
    existing = list(session.execute(select(Schedule).where(Schedule.kind == RECONCILE_KIND)
                                    .order_by(Schedule.id).execution_options(populate_existing=True)).scalars())
    out = []
    for name, params, timing in SCHEDULES:
        mine = [s for s in existing if safety_net_mode(s) == params["mode"]]
        if not enabled:
            for s in mine:
                if s.enabled:
                    set_enabled(session, s, False, actor=actor, audited=False)
                    s.paused_by_live_switch = True
            session.flush()
            if mine:
                out.append(next((s for s in mine if s.paused_by_live_switch), mine[0]))
            continue
        for s in mine:
            if s.paused_by_live_switch and not s.enabled and not enabling_refused(session, s):
                set_enabled(session, s, True, actor=actor, audited=False)
            s.paused_by_live_switch = False
        session.flush()
        row = next((s for s in mine if s.enabled), None) or next(iter(mine), None)
        if row is None:
            # (an admin's own schedule may have its name: schedule names differ)
            row = create_schedule(session, name=free_name(session, name), kind=RECONCILE_KIND, params=params,
                                  timing=timing, actor=actor, audited=False)
        elif not row.enabled:
            set_enabled(session, row, True, actor=actor, audited=False)
        out.append(row)
    return out


def register_callbacks(session: Session, box: SecretBox, client_for: ClientFactory) -> str:
    """(Re-)register the callbacks for the stored settings; the outcome in words (errors kept on the row).
    Commits (what was saved before it stays saved when ConnectWise fails)."""
    return _register(session, box, client_for)[0]


def _register(session: Session, box: SecretBox, client_for: ClientFactory) -> tuple[str, Exception | None]:
    session.commit()
    live = get_live(session)
    secret = url_secret(live, box)
    try:
        with client_for(session) as client:
            done = registrations.register(session, client, live, callback_url(live, box), shown_url(live))
    except (ConnectWiseError, NotConfigured, SecretError) as e:
        session.rollback()
        live = get_live(session)
        live.last_error = REGISTER_FAILED + registrations.masked(str(e), secret)
        session.commit()
        return live.last_error, e
    session.commit()
    return done.summary(), None


# What says the connection itself does not work (keys, company, site), not only the callbacks.
CONNECTION_FAILS = (AuthenticationFailed, DiscoveryError, TLSFailed, NetworkError, NotConfigured, SecretError)


@dataclass(frozen=True)
class Recheck:
    """What saving the connection did to the callbacks (the page and ``colcw configure`` say it alike).

    ``messages`` are (category, text): ``warning`` for what needs attention, ``info`` for what was done.
    """

    live: bool  # Live updates are on: the callbacks were registered again for the connection saved
    failed: bool = False  # registering failed (the reason is kept on the settings row, shown with the section)
    # ... because of the connection itself (refused, not reached, or its company lookup busy): the check meets it too
    connection_fails: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)


def recheck_callbacks(session: Session, box: SecretBox, client_for: ClientFactory, *, queue: JobQueue | None = None,
                      kinds: KindRegistry | None = None) -> Recheck:
    """After the connection was saved (page or command line): with Live updates on, register the callbacks
    again (they belong to the tenant the connection names), which also clears an earlier error, or keeps
    why not. A failure that shows the connection does not work says so first. With ``queue`` and ``kinds`` (the
    composition root's), a connection that works again reads at once the records callbacks announced while it did
    not (their hints pending: a live-update run met the refusal), not at the next safety-net pass
    (:func:`read_pending`). Commits."""
    if not read_live(session).enabled:
        return Recheck(live=False)
    before = get_live(session).last_error
    summary, error = _register(session, box, client_for)
    if error is None:
        messages = [("info", summary)]
        if before:
            messages.append(("info", "The callbacks' earlier error is cleared."))
        pending = read_pending(session, queue, kinds)
        if pending is not None:
            messages.append(pending)
        return Recheck(live=True, messages=messages)
    if isinstance(error, CONNECTION_FAILS):
        why = summary.removeprefix(REGISTER_FAILED)  # (the URL's secret is masked in it)
        busy = CONNECTWISE_BUSY.get(error.kind) if isinstance(error, DiscoveryError) else None
        if busy:  # the company lookup rate-limited or failed: nothing in the connection is wrong
            return Recheck(live=True, failed=True, connection_fails=True, messages=[(
                "warning", f"The connection was saved, but {busy} when colcw registered the callbacks ({why}). "
                           "Save the connection again in a few minutes to register them.")])
        # Refused, or not reached at all (nothing answered: no one refused anything).
        unreached = isinstance(error, (NetworkError, TLSFailed)) or (
            isinstance(error, DiscoveryError) and error.kind in ("unreachable", "tls", "tls_without_scheme"))
        what = "colcw could not reach ConnectWise" if unreached else "ConnectWise refused it"
        return Recheck(live=True, failed=True, connection_fails=True, messages=[(
            "warning", f"The connection was saved, but it does not work: {what} when colcw registered the "
                       f"callbacks ({why}). Correct it and save again; Test Connection shows which step fails.")])
    return Recheck(live=True, failed=True, messages=[("warning", summary)])


def read_pending(session: Session, queue: JobQueue | None, kinds: KindRegistry | None) -> tuple[str, str] | None:
    """Queue the live-update run that reads the records whose callbacks came while the connection did not work (their
    hints pending), once it works again; the note saying so, or None when none is pending (or nothing can queue).
    One already waiting in the queue takes them (:func:`~.hints.ensure_run`). Commits."""
    if queue is None or kinds is None:
        return None
    n = pending_count(session)
    if not n:
        return None
    what = (f"{'The record' if n == 1 else f'The {n} records'} ConnectWise announced while the connection did not "
            f"work {'is' if n == 1 else 'are'}")
    try:
        run = ensure_run(session, queue, kinds)
    except RedisError:
        session.rollback()
        return "warning", (f"{what} read by the next live update or safety-net pass: the run that reads "
                           f"{'it' if n == 1 else 'them'} now could not be queued (Redis did not answer).")
    if run is None:  # one is waiting in the queue already (or being queued): it takes them
        return "info", f"{what} read by the live-update run already waiting in the queue."
    return "info", f"{what} read now: run #{run.id}."


def remove_callbacks(session: Session, client_for: ClientFactory) -> str:
    """Remove colcw's callbacks from ConnectWise; when ConnectWise cannot be reached, say which to remove.
    Commits."""
    session.commit()
    rows = registrations.registered(session)
    if not rows:
        return ""
    try:
        with client_for(session) as client:
            done = registrations.unregister(session, client)
    except (ConnectWiseError, NotConfigured, SecretError) as e:
        session.rollback()
        ids = ", ".join(str(r.cw_id) for r in registrations.registered(session))
        live = get_live(session)
        live.last_error = (f"The callbacks (ids {ids}) could not be removed from ConnectWise ({e}). Switch Live updates off "
                           "again once ConnectWise answers, or remove them with the API (DELETE system/callbacks/{id}).")
        session.commit()
        return live.last_error
    session.commit()
    n = done.removed
    text = f"Removed {n} callback{'s' if n != 1 else ''} from ConnectWise."
    return f"{text} {registrations.forgotten_note(done.forgotten)}" if done.forgotten else text


def apply_live(session: Session, box: SecretBox, client_for: ClientFactory, data: LiveInput, actor: str, *,
               check: Callable[[str], str] = reachable, queue: JobQueue | None = None,
               kinds: KindRegistry | None = None) -> list[tuple[str, str]]:
    """Save the Live updates section and act on it; the messages for the page as (category, text):
    ``warning`` for what needs attention, ``info`` for what was done.

    Switched on (it was off) with ``queue`` and ``kinds``, a safety-net pass is queued at once to catch up what
    changed in ConnectWise meanwhile (:func:`catch_up`). A change of the master for customer data decides again what live updates recorded as differing
    (:mod:`.master`): with ``queue`` and ``kinds`` (and Live updates on) a live-update run reads the records
    ConnectWise now gives at once; without, the next live-update run or safety-net pass does.

    Raises :class:`~colcw_plugin.errors.FieldErrors` for bad input (nothing saved). Commits.
    """
    before = read_live(session)
    master_before, was_on = before.customer_master, before.enabled
    live, warnings = save_live(session, box, data, actor)
    redecided = redecide(session, live.customer_master) if live.customer_master != master_before else None
    session.commit()
    messages = [("warning", w) for w in warnings]
    if live.enabled:
        problem = check_url(live, box, check)
        if problem:
            messages.append(("warning", problem))
        done = register_callbacks(session, box, client_for)
        messages.append(("warning" if get_live(session).last_error else "info", done))
        ensure_schedules(session, actor, enabled=True)
        if not was_on and queue is not None and kinds is not None:
            session.commit()
            messages.append(catch_up(session, queue, kinds))
    else:
        removed = remove_callbacks(session, client_for)
        if removed:
            messages.append(("warning" if get_live(session).last_error else "info", removed))
        ensure_schedules(session, actor, enabled=False)
    session.commit()
    if redecided is not None and redecided.rows:
        messages.append(_read_again(session, redecided, queue, kinds, live_on=data.enabled))
    return messages


CATCH_UP = {"mode": "changes"}  # the scheduled safety net's work: a pass already queued for it is not doubled


def catch_up(session: Session, queue: JobQueue, kinds: KindRegistry) -> tuple[str, str]:
    """Queue the safety net's "what changed since" pass now (or find the one already queued or running); the note.

    Its watermark is the start of the last pass before Live updates went off (the schedule is disabled while they
    are off), so it reads what ConnectWise changed while they were off, which no callback brought: without it, the
    host showed the old values until the next scheduled pass, and an export meanwhile (ChannelOnline the master)
    could overwrite ConnectWise's change unseen. Commits."""
    since = get_live(session).changes_watermark
    try:
        done = submit(session, queue, kinds, RECONCILE_KIND, dict(CATCH_UP), trigger="event", actor=LIVE_ACTOR)
    except RedisError:
        session.rollback()
        return "warning", ("The pass that catches up what changed in ConnectWise while Live updates were off could "
                           "not be queued (Redis did not answer): the next safety-net pass does it.")
    except QueueBusy:
        session.rollback()
        return "warning", ("The pass that catches up what changed in ConnectWise while Live updates were off was not "
                           "queued: another request was queueing the same pass at that moment. The next safety-net pass "
                           "does it.")
    run = done.run
    if since is None:
        what = "a first safety-net pass compares every linked record with ConnectWise"
    else:
        what = (f"a pass now catches up what changed while it was off (since {since:%Y-%m-%d %H:%M} UTC by "
                "ConnectWise's clock, the last pass before)")
    return "info", f"{what[0].upper()}{what[1:]}: run #{run.id}" + (" (already queued)." if done.duplicate else ".")


def _read_again(session: Session, redecided: Redecided, queue: JobQueue | None, kinds: KindRegistry | None, *,
                live_on: bool) -> tuple[str, str]:
    """Queue the live-update run that reads again what the new master decides (when it can); the note saying so."""
    queued, run_id = False, None
    if redecided.records and live_on and queue is not None and kinds is not None:
        try:
            run = ensure_run(session, queue, kinds)  # None: one is waiting in the queue already, and takes them
            queued, run_id = True, (run.id if run is not None else None)
        except RedisError:  # the hints stay pending: the next run or safety-net pass takes them
            session.rollback()
    return "info", redecided.message(queued=queued, run_id=run_id, live_on=live_on)
