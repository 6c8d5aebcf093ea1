"""Opportunity statuses by ConnectWise's flags, never by name (tenants rename them: "Closed - Won", "Gagné").

The quote export picks the status it writes (open for a quote, won for a sales order); live
updates tell what a status someone set in ConnectWise means for the documents linked to the
opportunity (won, lost, closed otherwise, or still open).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...cw import ConnectWiseClient
from ...setup.opportunity_defaults import won_status

STATUS_FIELDS = ["id", "name", "wonFlag", "lostFlag", "closedFlag", "defaultFlag", "inactiveFlag"]
CACHE_KEY = "statuses"  # the shared reference cache's key for the list (quote export and live updates)

OPEN, WON, LOST, CLOSED = "open", "won", "lost", "closed"


def fetch_statuses(client: ConnectWiseClient) -> list[dict]:
    """Every opportunity status with its flags (one request)."""
    return list(client.opportunity_statuses.iterate(fields=STATUS_FIELDS))


def _active(rows: Iterable[dict]) -> list[dict]:
    return sorted((r for r in rows if not r.get("inactiveFlag")), key=lambda r: r.get("id") or 0)


def pick_open_status(statuses: list[dict]) -> dict | None:
    """The status a new quote opportunity gets: the default open one, else the first open one."""
    open_ = [s for s in _active(statuses) if not (s.get("closedFlag") or s.get("wonFlag") or s.get("lostFlag"))]
    return next((s for s in open_ if s.get("defaultFlag")), open_[0] if open_ else None)


def pick_won_status(statuses: list[dict]) -> dict | None:
    """The status a sales order's opportunity gets: a won one (the default won one when several), as the pre-flight
    check looks for it (:func:`~colcw_plugin.setup.opportunity_defaults.won_status`)."""
    return won_status(statuses)


def status_kind(status: Mapping[str, Any] | None) -> str:
    """won, lost, closed (neither: "No Decision" and the like) or open, from a status row's flags."""
    if not status:
        return OPEN
    if status.get("wonFlag") and not status.get("lostFlag"):
        return WON
    if status.get("lostFlag"):
        return LOST
    return CLOSED if status.get("closedFlag") else OPEN


def find_status(statuses: Iterable[dict], ref: Mapping[str, Any] | None) -> dict | None:
    """The status row an opportunity's ``status`` reference points at."""
    sid = (ref or {}).get("id")
    return next((s for s in statuses if s.get("id") == sid), None)
