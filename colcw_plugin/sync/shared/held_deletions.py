"""Deletions the mass-delete guard holds back, as their links keep them, and the alert that stands while one is held.

A held deletion lives on its link (``Link.synced_values[DELETION]``: ``held``, the run that held it); the Connection
and jobs pages' alert (``LiveSettings.alert``) stands while one is held, until Apply anyway has marked them, an admin
dismisses them, or no link holds one any more. Live updates (sync/inbound/reconcile.py) hold, apply and dismiss them;
a link a person points at another company or clears (sync/customers/links.py) takes its hold with it, and
:func:`end_alert_unless_held` takes the alert down in the same save when that was the last one, which no pass would do
before the next one ran. While it stands, the Connection page says how many of the links its pass held back still wait
(:func:`shown_alert`: counted when shown, not the number stored with it). Shared here so neither feature reaches into
the other.
"""

from __future__ import annotations

import re

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from ...models import ACTIVE_RUN_STATUSES, Link, LiveSettings, SyncRun

# A deletion the guard held back, or one an admin dismissed, as its link keeps it (in ``synced_values``, beside the
# agreed values: no field is named so): {"state": "held" | "dismissed", "at": ISO time, "run": id, "by": who}.
DELETION = "colcw:deletion"
HELD, DISMISSED = "held", "dismissed"


def deletion_state(link: Link) -> str:
    """``held``, ``dismissed`` or "" for a link (see :data:`DELETION`)."""
    mark = (link.synced_values or {}).get(DELETION)
    return str(mark.get("state") or "") if isinstance(mark, dict) else ""


def _state():
    return Link.synced_values[DELETION]["state"].as_string()


def marked_links(session: Session, state: str | None = None) -> list[Link]:
    """The links whose deletion is held back (or dismissed, or either: ``state`` None)."""
    cond = _state().in_((HELD, DISMISSED)) if state is None else _state() == state
    return list(session.execute(select(Link).where(cond).order_by(Link.id)).scalars())


def held_links(session: Session) -> list[Link]:
    """The links whose deletion in ConnectWise the guard holds back, waiting for Apply anyway or Dismiss."""
    return marked_links(session, HELD)


def end_alert_unless_held(session: Session) -> bool:
    """Take the mass-delete guard's alert down when no link holds a deletion back any more (their links pointed at
    another company or cleared in this transaction: flushed first), in one statement, so an alert a pass raises
    meanwhile is never taken down by mistake: the alert stays while the pass that raised it is queued, running or
    waiting (it marks the links it holds after raising the alert, and takes the alert down itself at its end when none
    is left held). Whether it was taken down. Does not commit."""
    still_held = exists().where(_state() == HELD)
    raising = select(SyncRun.id).where(SyncRun.status.in_(ACTIVE_RUN_STATUSES))
    done = session.execute(
        update(LiveSettings)
        .where(LiveSettings.alert != "", ~still_held,
               or_(LiveSettings.alert_run_id.is_(None), LiveSettings.alert_run_id.not_in(raising)))
        .values(alert="", alert_at=None, alert_run_id=None)
        .execution_options(synchronize_session="fetch"))
    return bool(done.rowcount)


def not_marked(n: int) -> str:
    """What the alert says, as the pass raises it, of the links it held back (:func:`shown_alert` says it as it is
    when shown)."""
    return f"Those {n} link{'s were' if n != 1 else ' was'} not marked"


_NOT_MARKED = re.compile(r"Those (\d+) links? (?:were|was) not marked")


def shown_alert(session: Session, live: LiveSettings) -> str:
    """The alert as the pages show it: the number of links the pass that raised it held back, stored with it, is said
    as it is now when some no longer wait (linked to another company or cleared on the customer's page, restored in
    ConnectWise, deleted in ChannelOnline), as are deletions earlier passes hold back, which Apply anyway and Dismiss
    take too. One statement while the count is the stored one (call it only while an alert stands)."""
    said = live.alert or ""
    found = _NOT_MARKED.search(said)
    if found is None:
        return said
    raised = int(found.group(1))
    run = Link.synced_values[DELETION]["run"].as_integer()
    own = func.count().filter(run == live.alert_run_id) if live.alert_run_id is not None else func.count()
    still, held = session.execute(select(own, func.count()).where(_state() == HELD)).one()
    others = held - still
    if still == raised and not others:
        return said
    if not still and live.alert_run_id is not None and session.execute(select(SyncRun.id).where(
            SyncRun.id == live.alert_run_id, SyncRun.status.in_(ACTIVE_RUN_STATUSES))).first() is not None:
        return said  # the pass that raised it has not marked its links yet (it marks them all in one commit)
    if still == raised:
        now = not_marked(raised)
    elif not still:
        now = (f"None of those {raised} link{'s' if raised != 1 else ''} is held back any more (linked to another "
               "company, cleared, restored in ConnectWise or deleted in ChannelOnline since)")
    else:
        now = (f"Of those {raised} links, {still} {'is' if still == 1 else 'are'} still held back, not marked (the "
               "others were linked to another company, cleared, restored in ConnectWise or deleted in ChannelOnline "
               "since)")
    wait = "waits" if others == 1 else "wait"
    if others and still:
        now += f", and {others} held back by earlier passes {wait} with {'it' if still == 1 else 'them'}"
    elif others:
        now += f", but {others} held back by earlier passes still {wait}"
    return said[:found.start()] + now + said[found.end():]
