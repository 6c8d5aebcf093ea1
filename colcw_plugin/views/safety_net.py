"""The live updates' safety net as the pages say it: which schedules are its two (the pass every 15 minutes
that catches missed callbacks, the daily deletion check; made by the Live updates switch,
:data:`~colcw_plugin.sync.inbound.switch.SCHEDULES`), what stops without one, and which are deleted or disabled.

The jobs page's Delete (and Disable) of one says what stops and how to get it back; the Connection page warns
while Live updates are on and one is missing, with Restore (or saving Live updates) making it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..models import Schedule
from ..sync.inbound import RECONCILE_KIND
from ..sync.inbound.switch import SCHEDULES

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


def mode(schedule: Schedule) -> str | None:
    """The safety-net mode ("changes" or "deletions") a schedule runs, or None for any other schedule (a forced
    deletion pass included)."""
    params = schedule.params or {}
    if schedule.kind != RECONCILE_KIND or params.get("force") or params.get("mode") not in STOPS:
        return None
    return params["mode"]


def gaps(schedules: Iterable[Schedule]) -> list[Gap]:
    """The safety net's schedules of which no enabled one is left, deleted or disabled."""
    schedules = list(schedules)
    out = []
    for name, params, _timing in SCHEDULES:
        mine = [s for s in schedules if mode(s) == params["mode"]]
        if not any(s.enabled for s in mine):
            out.append(Gap(params["mode"], name, "disabled" if mine else "deleted", STOPS[params["mode"]]))
    return out


def without(schedule: Schedule, schedules: Iterable[Schedule]) -> str:
    """What stops once ``schedule`` no longer runs, and how to get it back ("" when it is not the safety net's, or
    another enabled schedule runs the same passes)."""
    m = mode(schedule)
    if m is None or any(s.id != schedule.id and s.enabled and mode(s) == m for s in schedules):
        return ""
    return f"Without it, {STOPS[m]}. {HOW_BACK}"
