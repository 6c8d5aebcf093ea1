"""Deletions the mass-delete guard holds back, as their links keep them, and the alert that stands while one is held.

A held deletion lives on its link (``Link.synced_values[DELETION]``: ``held``, the run that held it); the Connection
and jobs pages' alert (``LiveSettings.alert``) stands while one is held, until Apply anyway has marked them, an admin
dismisses them, or no link holds one any more. Live updates (sync/inbound/reconcile.py) hold, apply and dismiss them;
a link a person points at another company or clears (sync/customers/links.py) takes its hold with it, and
:func:`end_alert_unless_held` takes the alert down in the same save when that was the last one, which no pass would do
before the next one ran. Shared here so neither feature reaches into the other.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select, update
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
