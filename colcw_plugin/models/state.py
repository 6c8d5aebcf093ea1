"""What colcw remembers between runs: the company scan, documents' export state, shared reference lists, the
fields ConnectWise said it requires."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from host_stub.extensions import db
from host_stub.models import Document, utcnow


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


def exported_by_all() -> ColumnElement[bool]:
    """The documents an export of all quotes and orders takes, as a condition on the host's ``Document``: sales
    orders, and quotes not converted (their sales orders carry their lines). The export's selection and the
    pre-flight check's count of documents it would refuse both go by it."""
    return or_(Document.doc_type == "order", Document.status != "converted")


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
    # Products on the opportunity at the last export that no colcw export made (added by hand):
    # only those added after it are "changed in ConnectWise since export".
    hand_products: Mapped[list] = mapped_column(JSON, default=list)


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
    # What the export sent, to tell a line changed in ConnectWise since (live updates).
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")


class ReferenceCache(db.Model):
    """Tenant reference lists (opportunity statuses, types, stages) shared by every process for a while.

    A single-document export would otherwise read them again on every run.
    """

    __tablename__ = "colcw_reference_cache"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    rows: Mapped[list] = mapped_column(JSON, default=list)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RequiredField(db.Model):
    """A field of the opportunity (``type``, ``stage``) ConnectWise refused an export for because this tenant makes
    it mandatory: remembered (for every process) from that refusal, so the pre-flight check, the New opportunities
    section and the rep's checklist say so while it is left to ConnectWise's default; an opportunity created without
    it clears it (``setup/opportunity_defaults.py``)."""

    __tablename__ = "colcw_required_fields"
    field: Mapped[str] = mapped_column(String(20), primary_key=True)  # an opportunity_defaults.Kind's key
    opportunity_name: Mapped[str] = mapped_column(String(100), default="")  # the opportunity ConnectWise refused
    refused_to: Mapped[str] = mapped_column(String(10), default="create")  # create | update
    document_number: Mapped[str] = mapped_column(String(50), default="")
    refused_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
