"""Synced items: how many customers, contacts and quotes / orders were exported recently (§5.1 item 1)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ..models import SyncItem, action_in, constant

ENTITIES = {"customer": "Customers", "contact": "Contacts", "document": "Quotes / sales orders"}
EXPORTED = ("created", "updated")
# Export results, through their partial index (the direction in the statement: models.constant). The imports, often
# hundreds of thousands of results a day, are not read.
EXPORTS = SyncItem.direction == constant("export")


def since(days: int = 7, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) - dt.timedelta(days=days)


def exported_counts(session: Session, days: int = 7, now: dt.datetime | None = None) -> dict[str, int]:
    """Records exported (created or updated in ConnectWise) per entity in the last ``days`` days: each record
    once however often it was exported (§5.1: "the number of customers, contacts and quotes or sales orders that
    have been exported"); an item without a host record counts on its own."""
    record = func.coalesce(SyncItem.host_id, -SyncItem.id)
    rows = session.execute(select(SyncItem.entity, func.count(record.distinct())).where(
        EXPORTS, action_in(*EXPORTED), SyncItem.at >= since(days, now),
        SyncItem.entity.in_(list(ENTITIES))).group_by(SyncItem.entity)).all()
    counts = dict.fromkeys(ENTITIES, 0)
    counts.update(dict(rows))
    return counts


def items_query(entity: str, days: int = 7, all_results: bool = False, now: dt.datetime | None = None) -> Select:
    """The export items of ``entity`` in the last ``days`` days, newest first; only successful
    exports unless ``all_results`` (then failures, skips and unchanged records too)."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}")
    q = select(SyncItem).where(EXPORTS, SyncItem.entity == entity, SyncItem.at >= since(days, now))
    if not all_results:
        q = q.where(action_in(*EXPORTED))
    return q.order_by(SyncItem.at.desc(), SyncItem.id.desc())
