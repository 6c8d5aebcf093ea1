"""colcw's own tables (prefix ``colcw_``) on the host's database.

They live on their own Alembic history (``colcw_plugin/migrations``), so colcw can be added
to an existing host database and upgraded independently.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from host_stub.extensions import db
from host_stub.models import utcnow


class Settings(db.Model):
    """The ConnectWise connection and the connection options (one row)."""

    __tablename__ = "colcw_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_url: Mapped[str] = mapped_column(String(255), default="")
    company_id: Mapped[str] = mapped_column(String(100), default="")
    auth_mode: Mapped[str] = mapped_column(String(20), default="api_keys")  # api_keys | integrator
    public_key: Mapped[str] = mapped_column(String(255), default="")  # API member public key / integrator username
    secret_encrypted: Mapped[str] = mapped_column(Text, default="")  # private key / integrator password (encrypted)
    client_id: Mapped[str] = mapped_column(String(100), default="")
    allow_http: Mapped[bool] = mapped_column(Boolean, default=False)
    opportunity_field_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allow_empty_opportunity_name: Mapped[bool] = mapped_column(Boolean, default=False)
    use_logged_in_rep: Mapped[bool] = mapped_column(Boolean, default=False)
    category_mode: Mapped[str] = mapped_column(String(20), default="names")  # names | mapping
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class ConfigChange(db.Model):
    """Who changed which setting and when (never the secret values)."""

    __tablename__ = "colcw_config_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), default="")
    area: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(Text, default="")


class RepMapping(db.Model):
    """A host sales rep → ConnectWise member, location and business unit (department)."""

    __tablename__ = "colcw_rep_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    member_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    member_identifier: Mapped[str] = mapped_column(String(30), default="")
    location_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location_name: Mapped[str] = mapped_column(String(100), default="")
    department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    department_name: Mapped[str] = mapped_column(String(100), default="")


class ProductTypeMapping(db.Model):
    """Host product type (Product, Service, Labor) → ConnectWise product type."""

    __tablename__ = "colcw_product_type_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_type: Mapped[str] = mapped_column(String(10), unique=True)
    cw_type_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_type_name: Mapped[str] = mapped_column(String(100), default="")


class CategoryMapping(db.Model):
    """Host category / sub-category → ConnectWise category / sub-category (category_mode = mapping)."""

    __tablename__ = "colcw_category_mappings"
    __table_args__ = (UniqueConstraint("host_category", "host_subcategory"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    host_category: Mapped[str] = mapped_column(String(100))
    host_subcategory: Mapped[str] = mapped_column(String(100), default="")
    cw_category_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_category_name: Mapped[str] = mapped_column(String(100), default="")
    cw_subcategory_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_subcategory_name: Mapped[str] = mapped_column(String(100), default="")


class ManufacturerAlias(db.Model):
    """Host manufacturer name → ConnectWise manufacturer (when the names differ)."""

    __tablename__ = "colcw_manufacturer_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_name: Mapped[str] = mapped_column(String(100), unique=True)
    cw_manufacturer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_manufacturer_name: Mapped[str] = mapped_column(String(100), default="")


class Link(db.Model):
    """The durable identity of a synced record: host record ↔ ConnectWise id.

    ``entity`` is ``customer`` (↔ company), ``contact`` (↔ contact) or ``document`` (↔ opportunity;
    several documents may share one opportunity). ``fingerprint`` is a hash of the mapped
    fields at the last sync, used to skip unchanged records.
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
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    synced_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- the link table's access: the durable identity of every synced record (host id ↔ ConnectWise id) ---

CUSTOMER, CONTACT, DOCUMENT = "customer", "contact", "document"


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
             fingerprint: str = "", cw_last_updated: str = "", status: str = "ok") -> Link:
    """Create or repoint the link of a host record (flushes, does not commit)."""
    link = get_link(session, entity, host_id)
    now = utcnow()
    if link is None:
        link = Link(entity=entity, host_id=host_id, cw_id=cw_id, linked_at=now)
        session.add(link)
    elif link.cw_id != cw_id:
        link.linked_at = now
    link.cw_id = cw_id
    link.cw_identifier = cw_identifier
    link.fingerprint = fingerprint
    link.cw_last_updated = cw_last_updated
    link.status = status
    link.synced_at = now
    session.flush()
    return link


def remove_link(session: Session, entity: str, host_id: int) -> None:
    session.execute(delete(Link).where(Link.entity == entity, Link.host_id == host_id))


def fingerprint(data: Mapping[str, Any]) -> str:
    """A stable hash of mapped field values, to tell whether a record changed since its last sync."""
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class RunStatus(enum.StrEnum):
    """Where a run is: the one list of run statuses every page, job and query uses."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return RUN_STATUS_LABELS[self]


RUN_STATUS_LABELS = {RunStatus.QUEUED: "Queued", RunStatus.RUNNING: "Running", RunStatus.SUCCEEDED: "Succeeded",
                     RunStatus.PARTIAL: "Partly failed", RunStatus.FAILED: "Failed",
                     RunStatus.INTERRUPTED: "Interrupted", RunStatus.CANCELLED: "Cancelled"}
ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)  # a worker will or does work on it
FINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.INTERRUPTED,
                      RunStatus.CANCELLED)
ENDED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.INTERRUPTED)  # can retry


def actor_label(actor: Mapping[str, Any] | None) -> str:
    """How run records and export states name who acted: the e-mail, else the name, else "system"."""
    actor = actor or {}
    return actor.get("email") or actor.get("name") or "system"


class SyncRun(db.Model):
    """One run of a synchronisation job (created before it is enqueued)."""

    __tablename__ = "colcw_sync_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # customer_import | customer_export | quote_export
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED, index=True)  # a RunStatus
    trigger: Mapped[str] = mapped_column(String(20), default="manual")  # manual | schedule | event | cli | retry
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    requested_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retry_of_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rq_job_id: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # totals by action, all records
    entity_counts: Mapped[dict] = mapped_column(JSON, default=dict)  # {entity: {action: n}}
    api_requests: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")

    @property
    def records_summary(self) -> str:
        """What the run did, per kind of record: "customers: 6 created, 20 updated; contacts: 62 unchanged"."""
        return summarize_counts(self.entity_counts or {}, self.counts or {})

    items: Mapped[list[SyncItem]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                 order_by="SyncItem.id", passive_deletes=True)


RECORD_ACTIONS = ("created", "updated", "unchanged", "skipped", "failed")
ENTITY_PLURALS = {"customer": "customers", "contact": "contacts", "document": "quotes / orders", "line": "lines"}


def summarize_counts(entity_counts: dict, counts: dict) -> str:
    """Counts by action, per kind of record when the run recorded more than one kind."""

    def actions(c: dict) -> str:
        return ", ".join(f"{c[a]} {a}" for a in RECORD_ACTIONS if c.get(a))

    if len(entity_counts) > 1:
        order = list(ENTITY_PLURALS)
        kinds = sorted(entity_counts, key=lambda e: order.index(e) if e in order else len(order))
        return "; ".join(f"{ENTITY_PLURALS.get(e, e + 's')}: {actions(entity_counts[e])}" for e in kinds
                         if actions(entity_counts[e]))
    return actions(counts) or "nothing to do"


class SyncItem(db.Model):
    """The outcome for one record in a run."""

    __tablename__ = "colcw_sync_items"
    __table_args__ = (Index("ix_colcw_sync_items_entity_at", "entity", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("colcw_sync_runs.id", ondelete="CASCADE"), index=True,
                                               nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    entity: Mapped[str] = mapped_column(String(20))  # customer | contact | document | line
    direction: Mapped[str] = mapped_column(String(10))  # export | import
    host_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(20))  # created | updated | unchanged | skipped | failed
    message: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[SyncRun | None] = relationship(back_populates="items")


class CompanyScan(db.Model):
    """One ConnectWise company as last seen by "Import / map customers from ConnectWise".

    The scan is kept so "Map Customers" opens the mapping table without reading every company
    again; ``norm_name`` and ``norm_phone`` let the page point out likely duplicates quickly.
    """

    __tablename__ = "colcw_company_scan"
    id: Mapped[int] = mapped_column(primary_key=True)
    cw_id: Mapped[int] = mapped_column(Integer, unique=True)
    identifier: Mapped[str] = mapped_column(String(160), default="")
    name: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    norm_name: Mapped[str] = mapped_column(String(160), default="", index=True)
    norm_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DocumentExport(db.Model):
    """A quote's or sales order's export state (one row per exported document).

    ``fingerprint`` is the hash of the document's exported header and lines, so a later save can
    tell whether it changed; ``exported_at`` stays set after a later failed export.
    """

    __tablename__ = "colcw_document_exports"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True)
    opportunity_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    opportunity_name: Mapped[str] = mapped_column(String(100), default="")
    created_opportunity: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="never")  # never | exported | failed
    changed_since_export: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    name_at_export: Mapped[str] = mapped_column(String(250), default="")
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    exported_by: Mapped[str] = mapped_column(String(200), default="")
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")


class DocumentLineExport(db.Model):
    """Which ConnectWise opportunity product (and catalog item) a document line became."""

    __tablename__ = "colcw_document_line_exports"
    __table_args__ = (UniqueConstraint("document_id", "line_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int] = mapped_column(Integer)
    cw_product_id: Mapped[int] = mapped_column(Integer)
    cw_catalog_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    item_number: Mapped[str] = mapped_column(String(100), default="")


class Schedule(db.Model):
    """A synchronisation job run on a timetable ("Schedule this job" on the Synchronization Jobs page).

    ``next_run_at`` (naive UTC) is also the scheduler's claim: a scheduler fires a due schedule
    only if its compare-and-set ``UPDATE ... WHERE next_run_at = :due`` changes the row, so a
    period fires exactly once however many schedulers run (see ``sync/scheduler.py``).
    """

    __tablename__ = "colcw_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    frequency: Mapped[str] = mapped_column(String(10))  # daily | weekly | monthly
    time_of_day: Mapped[str] = mapped_column(String(5))  # "HH:MM", wall-clock time in ``timezone``
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # weekly: 0 Monday .. 6 Sunday
    day_of_month: Mapped[int | None] = mapped_column(Integer, nullable=True)  # monthly: 1..31 (or the last day)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    last_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_outcome: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ReferenceCache(db.Model):
    """Tenant reference lists (opportunity statuses, types, stages) shared by every process for a while.

    A single-document export would otherwise read them again on every run.
    """

    __tablename__ = "colcw_reference_cache"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    rows: Mapped[list] = mapped_column(JSON, default=list)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
