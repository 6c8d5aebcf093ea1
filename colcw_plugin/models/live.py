"""Live updates from ConnectWise: their settings, the callbacks colcw registered, the hints received,
and what came back that the host did not take (drift, conflicts, products changed in ConnectWise)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from host_stub.extensions import db
from host_stub.models import utcnow

HOST_MASTER, CW_MASTER = "host", "connectwise"
CUSTOMER_MASTERS = {HOST_MASTER: "ChannelOnline", CW_MASTER: "ConnectWise"}
EXTERNAL_STATUS_SOURCE = "ConnectWise"  # the source of the statuses colcw records on host documents


class LiveSettings(db.Model):
    """The Live updates switch and what it needs (one row).

    ``url_secret_encrypted`` is the random secret in the callback URL (encrypted like the
    credentials), a second check beside ConnectWise's signature. ``changes_watermark`` is when
    the last complete safety-net pass started, by ConnectWise's clock (as its answers told it: cw/server_clock.py):
    the next one asks ConnectWise for what changed since then (less an overlap). ``own_member`` is the member ConnectWise names as the author of
    colcw's own writes: the Won/Lost labels name it as colcw. It does not tell colcw's writes from others made
    with the same keys: a callback is colcw's own (echo, not read back) by the record it carries
    (sync/shared/own_writes.py); one naming this member only waits a moment for the export to link it.
    """

    __tablename__ = "colcw_live_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    public_base_url: Mapped[str] = mapped_column(String(255), default="")
    url_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    url_check: Mapped[str] = mapped_column(Text, default="")  # the warning of the last reachability check
    customer_master: Mapped[str] = mapped_column(String(20), default=HOST_MASTER)
    mass_delete_limit: Mapped[str] = mapped_column(String(10), default="10%")
    own_member: Mapped[str] = mapped_column(String(100), default="")
    changes_watermark: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    deletions_checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    alert: Mapped[str] = mapped_column(Text, default="")  # the mass-delete guard's stop, until dealt with
    alert_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    alert_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")  # registering or removing callbacks
    # Callbacks refused since the last one accepted (the right URL, but a bad body or signature): the reason of the
    # last, when it came, how many and since when. An accepted callback clears them (sync.inbound.receive).
    refused_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    refused_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    refused_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    refused_since: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class CallbackRegistration(db.Model):
    """A callback colcw registered in ConnectWise (``/system/callbacks``), so it can reuse or remove it."""

    __tablename__ = "colcw_callbacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    cw_id: Mapped[int] = mapped_column(Integer, unique=True)
    type: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(30), default="owner")
    url_shown: Mapped[str] = mapped_column(String(300), default="")  # the URL with its secret masked
    inactive: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class InboundHint(db.Model):
    """ConnectWise said a record changed (a callback): one row per record, however many callbacks.

    The callback's body is only a hint: a live-update run takes the pending rows and reads the
    records again from ConnectWise. ``last_at`` is when the latest hint arrived; a read that
    started after it covers it. ``own_versions``: while every callback pending for the record named colcw's own
    member and carried a version of its record (sync/shared/own_writes.py), those versions, space-separated; the run
    reads the record only if one of them is not a version colcw's own write produced (the export that wrote it links
    it after ConnectWise answered, so a callback may come first). None: some pending callback is read regardless.
    """

    __tablename__ = "colcw_inbound_hints"
    __table_args__ = (UniqueConstraint("entity", "cw_id"), Index("ix_colcw_inbound_hints_pending", "pending"))
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))  # company | contact | opportunity
    cw_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20), default="updated")
    member: Mapped[str] = mapped_column(String(100), default="")
    hints: Mapped[int] = mapped_column(Integer, default=1)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    own_versions: Mapped[str | None] = mapped_column(Text, nullable=True)


class RecordDrift(db.Model):
    """A field of a linked customer or contact on which ConnectWise and the host disagree.

    ``kind`` is ``drift`` (changed in ConnectWise, not taken: the host is the master),
    ``conflict`` (changed on both sides since the last sync: the master's value stayed) or
    ``new_contact`` (a contact added in ConnectWise, not taken). The customer page shows them
    until the two sides agree again; a conflict whose ConnectWise value was taken, until the customer is exported,
    the master changes, or ConnectWise changes that field again (sync/inbound/customers.py ``_ended_drift``). Every
    note also ends when a rep dismisses it, and when the link it came through goes: the customer linked to another
    company (Link to Company ID; linked again to the same company, its notes stay) or its link cleared, or a contact's
    own link cleared (that contact's notes), each recorded under the notes dismissed (sync/customers/links.py
    ``_clear_notes``).
    """

    __tablename__ = "colcw_record_drift"
    __table_args__ = (UniqueConstraint("entity", "host_id", "field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))  # customer | contact
    host_id: Mapped[int] = mapped_column(Integer, index=True)  # the customer (for a new contact: its customer)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)  # the customer page it shows on
    cw_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    field: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="drift")
    host_value: Mapped[str] = mapped_column(Text, default="")
    cw_value: Mapped[str] = mapped_column(Text, default="")
    kept: Mapped[str] = mapped_column(String(20), default="")  # whose value stands: host | connectwise
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DocumentDrift(db.Model):
    """What changed on a document's opportunity products in ConnectWise since its export.

    ``changes`` is a list of ``{"kind": changed|removed|added, "line_id", "position", "item",
    "field", "exported", "cw"}``. The document page shows it; the export page says what the next
    export will overwrite; a successful export clears it.
    """

    __tablename__ = "colcw_document_drift"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True)
    opportunity_id: Mapped[int] = mapped_column(Integer)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
