"""Callbacks of colcw's own writes, told when the live-update run takes their hints, not in the web request.

ConnectWise calls back for colcw's own writes too. A company or contact whose callback carries a version of its
record that colcw's own write produced (its link remembers it: sync/shared/own_writes.py) is colcw's write coming
back (echo): nothing to read. The callback's request tells one whose link remembers it already (one look, no wait:
receive.py). The export that wrote a record links it only after ConnectWise answered (a customer's contacts with the
rest of the customer), so a callback naming colcw's member may come first: it is recorded at once, with the version it
carried (:attr:`.hints.Hint.own_version`), and the run that takes it looks again (:func:`set_aside_own`). Who is
named decides only whether the version is kept for that look, never what it is: another tool or person using colcw's
API member is read back like anyone else (the version of a record someone else changed is not one colcw wrote).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, select, tuple_
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...models import CONTACT, CUSTOMER, Link
from ..shared.own_writes import version, versions
from .hints import forget

ECHO_TYPES = {"company": CUSTOMER, "contact": CONTACT}  # ConnectWise's record → its link's kind
# How long after a callback naming colcw's member arrived the run taking it looks for the export that wrote its record
# to link it, and how often it looks meanwhile (a run taking it later looks once). Past that it is read back, which
# compares values with the agreement: a version colcw cannot place costs a read, never a change.
ECHO_WAIT_SECONDS, ECHO_POLL_SECONDS = 1.5, 0.05


def own_version(entity: str, action: str, record: Mapping[str, Any] | None, member: str, own_member: str) -> str:
    """The version to record with a callback's hint (see the module doc): its record's, when it names colcw's own
    member and may be colcw's write ("" otherwise: read regardless). A deletion never is."""
    if entity not in ECHO_TYPES or action == "deleted" or not own_member or member != own_member:
        return ""
    return version(entity, record)


def set_aside_own(session: Session, claimed: Sequence[Row], *, wait_seconds: float = ECHO_WAIT_SECONDS,
                  sleep: Callable[[float], None] = time.sleep) -> list[Row]:
    """The hints of ``claimed`` (:func:`.hints.take_pending`'s rows) to read: those whose every pending callback was
    colcw's own write coming back (each version its ``own_versions`` holds is one a link to the record remembers)
    are forgotten (:func:`.hints.forget`; commits). One not told so yet is looked for again until
    ``wait_seconds`` after its latest callback arrived (each look a fresh read: the export's commit shows); past
    that it is read."""
    candidates = [h for h in claimed if h.entity in ECHO_TYPES and (h.own_versions or "").split()]
    own: list[Row] = []
    latest = _deadline(utcnow(), wait_seconds)  # (a web process's clock ahead of this one's waits no longer)
    while candidates:
        links: dict[tuple[str, int], list[set[str]]] = {}
        for entity, cw_id, agreement in session.execute(
                select(Link.entity, Link.cw_id, Link.synced_values).where(tuple_(Link.entity, Link.cw_id).in_(
                    [(ECHO_TYPES[h.entity], h.cw_id) for h in candidates]))):
            links.setdefault((entity, cw_id), []).append(set(versions(agreement)))
        told = [h for h in candidates if any(set(h.own_versions.split()) <= kept
                                             for kept in links.get((ECHO_TYPES[h.entity], h.cw_id), []))]
        own += told
        now, ids = utcnow(), {h.id for h in told}
        candidates = [h for h in candidates
                      if h.id not in ids and now < min(_deadline(h.last_at, wait_seconds), latest)]
        session.rollback()
        if candidates:
            sleep(ECHO_POLL_SECONDS)
    if own:
        forget(session, own)
    ids = {h.id for h in own}
    return [h for h in claimed if h.id not in ids]


def _deadline(at: dt.datetime, wait_seconds: float) -> dt.datetime:
    return at + dt.timedelta(seconds=wait_seconds)
