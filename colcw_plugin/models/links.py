"""The link table: the durable identity of every synced record (host id ↔ ConnectWise id), and its access."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
    case,
    delete,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from host_stub.extensions import db
from host_stub.models import utcnow


class Link(db.Model):
    """The durable identity of a synced record: host record ↔ ConnectWise id.

    ``entity`` is ``customer`` (↔ company), ``contact`` (↔ contact) or ``document`` (↔ opportunity;
    several documents may share one opportunity). ``fingerprint`` is a hash of the mapped
    fields at the last sync, used to skip unchanged records; ``synced_values`` those values
    themselves (the host's attribute names), what both sides agreed on at the last sync: a field
    that differs from it changed since, on the side where it differs (live updates' conflict rule). A
    document's link keeps there instead its opportunity's close as live updates last read it (``{"close":
    {"status", "by", "date"}}``: sync/inbound/opportunities.py).
    """

    __tablename__ = "colcw_links"
    __table_args__ = (
        UniqueConstraint("entity", "host_id"),
        Index("ix_colcw_links_entity_cw_id", "entity", "cw_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))
    host_id: Mapped[int] = mapped_column(Integer)
    cw_id: Mapped[int] = mapped_column(Integer)
    cw_identifier: Mapped[str] = mapped_column(String(100), default="")
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    cw_last_updated: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok | missing_in_cw | missing_in_host
    synced_values: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    synced_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


CUSTOMER, CONTACT, DOCUMENT = "customer", "contact", "document"


class CreateIntent(db.Model):
    """A ConnectWise record colcw is about to create for a host record (contacts, which ConnectWise
    identifies by nothing unique), committed *before* the POST and deleted with the link's insert; also a
    company whose create went unanswered (``entity`` customer, ``match``: its Company ID and the run), written
    then, so the next pass that finds it by Company ID knows that run created it.

    One left behind means the POST's outcome is unknown — the process died between the create and
    the link, or the answer was lost — so the next export looks the record up before creating it
    again: a record under ``cw_parent_id`` (the company) matching ``match`` (the names sent) that is
    not among ``known_ids`` (what the company held before the POST) and not linked to anything else.
    """

    __tablename__ = "colcw_create_intents"
    __table_args__ = (UniqueConstraint("entity", "host_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))
    host_id: Mapped[int] = mapped_column(Integer)
    cw_parent_id: Mapped[int] = mapped_column(Integer)
    match: Mapped[dict] = mapped_column(JSON)
    known_ids: Mapped[list] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RecordState(enum.StrEnum):
    """Where a host record stands with ConnectWise, as the list pages show and filter it."""

    NOT_LINKED = "not_linked"  # never exported (or its link was cleared)
    SYNCED = "synced"  # as it was at its last sync
    CHANGED = "changed"  # edited in the host since its last sync
    FAILED = "failed"  # its last sync failed (or its ConnectWise record is gone)

    @property
    def tone(self) -> str:
        return {"not_linked": "muted", "synced": "ok", "changed": "warn", "failed": "error"}[self.value]

    @classmethod
    def parse(cls, value: str) -> RecordState | None:
        """The state named ``value`` (a filter's query parameter), or None."""
        try:
            return cls(value)
        except ValueError:
            return None

    @classmethod
    def case(cls, failed, not_linked, changed) -> ColumnElement[str]:
        """The state as SQL from three conditions, in the order they win (else synced)."""
        return case((failed, literal(cls.FAILED.value)), (not_linked, literal(cls.NOT_LINKED.value)),
                    (changed, literal(cls.CHANGED.value)), else_=literal(cls.SYNCED.value))


@dataclass(frozen=True)
class RowState:
    """One row's state on a list page, with the words it shows and the reason on hover."""

    state: RecordState
    label: str
    reason: str


def edited_after(customer: Any, synced_at: dt.datetime | None) -> bool:
    """The customer or one of its contacts (host rows: their ``updated_at``) was saved after ``synced_at``, its link's
    last sync (False without one): All Customers' "Changed since export" (list_status.state_expression's rule), on
    rows already loaded. The one definition the customer's panel, the import popup and live updates use."""
    return synced_at is not None and any(row.updated_at is not None and row.updated_at > synced_at
                                         for row in (customer, *customer.contacts))


def get_link(session: Session, entity: str, host_id: int) -> Link | None:
    return session.execute(select(Link).where(Link.entity == entity, Link.host_id == host_id)).scalar_one_or_none()


def links_for(session: Session, entity: str, host_ids: Iterable[int]) -> dict[int, Link]:
    ids = list(host_ids)
    if not ids:
        return {}
    rows = session.execute(select(Link).where(Link.entity == entity, Link.host_id.in_(ids))).scalars()
    return {r.host_id: r for r in rows}


def find_by_cw(session: Session, entity: str, cw_id: int) -> list[Link]:
    """Links to one ConnectWise record (several for documents sharing an opportunity)."""
    return list(session.execute(select(Link).where(Link.entity == entity, Link.cw_id == cw_id)
                                .order_by(Link.id)).scalars())


def set_link(session: Session, entity: str, host_id: int, cw_id: int, *, cw_identifier: str = "",
             fingerprint: str = "", cw_last_updated: str = "", status: str = "ok",
             values: Mapping[str, Any] | None = None) -> Link:
    """Create or repoint the link of a host record (flushes, does not commit). ``values``: the
    mapped values both sides hold now (kept as ``synced_values``; None keeps what was there)."""
    link = get_link(session, entity, host_id)
    now = utcnow()
    repointed = link is not None and link.cw_id != cw_id
    if link is None:
        link = Link(entity=entity, host_id=host_id, cw_id=cw_id, linked_at=now)
        session.add(link)
    elif repointed:
        link.linked_at = now
    link.cw_id = cw_id
    link.cw_identifier = cw_identifier
    link.fingerprint = fingerprint
    link.cw_last_updated = cw_last_updated
    link.status = status
    link.synced_at = now
    if values is not None:
        link.synced_values = dict(values)
    elif repointed:
        link.synced_values = None  # what was agreed with another record says nothing about this one
    session.flush()
    return link


def remove_link(session: Session, entity: str, host_id: int) -> None:
    session.execute(delete(Link).where(Link.entity == entity, Link.host_id == host_id))


_CANONICAL = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
# Values orjson writes byte for byte as _CANONICAL does (sorted keys, no spaces, UTF-8 unescaped); it writes a
# float, a date or a Decimal otherwise, so a record holding any other type goes the standard library's way.
_PLAIN = frozenset({str, int, bool, type(None)})


def fingerprint(data: Mapping[str, Any]) -> str:
    """A stable hash of mapped field values, to tell whether a record changed since its last sync.

    The hash of their canonical JSON; a bulk import takes thousands, so mapped values of plain types (text,
    numbers, flags: every customer and contact field) are written by orjson, ten times faster and the same bytes
    (tests/unit/test_fingerprint.py), and the links' fingerprints stay what they were."""
    if isinstance(data, dict) and _PLAIN.issuperset(map(type, data.values())):
        try:
            return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:  # a key that is not text: as the standard library writes it
            pass
    return hashlib.sha256(_CANONICAL.encode(data).encode()).hexdigest()
