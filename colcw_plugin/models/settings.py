"""The connection, its options, the admin's mappings and the audit of configuration changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    table,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

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
    # What a new opportunity gets (setup/opportunity_defaults.py): the ConnectWise id the export sends, checked
    # when saved, and its name to show. No id: nothing is sent, ConnectWise's default applies.
    opportunity_type_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opportunity_type_name: Mapped[str] = mapped_column(String(100), default="")
    opportunity_stage_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opportunity_stage_name: Mapped[str] = mapped_column(String(100), default="")
    open_status_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    open_status_name: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    # The last check of the saved connection (Test Connection's check, run when it is saved): when, whether ConnectWise
    # accepted it, and when not what failed and what to do (setup/connection.py). None: not checked since it was saved.
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    check_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    check_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # How many opportunity fields ConnectWise refused an export for as mandatory are remembered (RequiredField),
    # read with the row in the same statement: an export forgets one, and a checklist looks for one, only when
    # there is one (none, on nearly every tenant: no statement of their own).
    required_refusals: Mapped[int] = column_property(
        select(func.count()).select_from(table("colcw_required_fields")).scalar_subquery())


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
