"""The host's data: store sites, users, customers, contacts, categories, documents and lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def person_name(first_name: str, last_name: str) -> str:
    """A contact's name as the host shows it (:attr:`Contact.name`), from its two parts: for readers of plain columns."""
    return f"{first_name} {last_name}".strip()


def converted_quote(doc_type: str, status: str) -> bool:
    """Whether a document of this type and status is a quote converted into a sales order
    (:attr:`Document.is_converted_quote`), for readers of plain columns."""
    return doc_type == "quote" and status == "converted"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class StoreSite(db.Model):
    __tablename__ = "store_sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    default_rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    default_rep: Mapped[User | None] = relationship(foreign_keys=[default_rep_id])


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    first_name: Mapped[str] = mapped_column(String(60))
    last_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(10), default="rep")  # "rep" or "admin"
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # No foreign key: store_sites refers to users (its default rep); one direction avoids a cycle.
    store_site_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def set_password(self, password: str) -> None:
        """Hash the password with werkzeug's default method (scrypt: about 0.1 s each, by design), or the app's
        ``PASSWORD_HASH_METHOD`` (the tests' app takes a cheap one: they create the demo users for every test and
        sign in through the form; a hash made so is checked as cheaply)."""
        method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
        self.password_hash = generate_password_hash(password, **({"method": method} if method else {}))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Customer(db.Model):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    address1: Mapped[str] = mapped_column(String(100), default="")
    address2: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    state: Mapped[str] = mapped_column(String(30), default="")
    zip: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(60), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    fax: Mapped[str] = mapped_column(String(30), default="")
    location_code: Mapped[str] = mapped_column(String(50), default="")
    store_site_id: Mapped[int | None] = mapped_column(ForeignKey("store_sites.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", cascade="all, delete-orphan",
                                                   order_by="Contact.id")


class Contact(db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    first_name: Mapped[str] = mapped_column(String(60), default="")
    last_name: Mapped[str] = mapped_column(String(60), default="")
    address1: Mapped[str] = mapped_column(String(100), default="")
    address2: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    state: Mapped[str] = mapped_column(String(30), default="")
    zip: Mapped[str] = mapped_column(String(20), default="")
    work_phone: Mapped[str] = mapped_column(String(30), default="")
    mobile_phone: Mapped[str] = mapped_column(String(30), default="")
    home_phone: Mapped[str] = mapped_column(String(30), default="")
    other_phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(250), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")

    @property
    def name(self) -> str:
        return person_name(self.first_name, self.last_name)


class ProductCategory(db.Model):
    """A node of the host's category tree: a category (no parent) or a sub-category."""

    __tablename__ = "product_categories"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_categories.id"), nullable=True)
    children: Mapped[list[ProductCategory]] = relationship(order_by="ProductCategory.name")
    parent: Mapped[ProductCategory | None] = relationship(remote_side=[id], viewonly=True)


class CustomField(db.Model):
    """An admin-defined custom header field on quotes and sales orders."""

    __tablename__ = "custom_fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Document(db.Model):
    """A quote or a sales order."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(10), index=True)  # "quote" or "order"
    number: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    sales_rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, converted
    source_quote_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    follow_up_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()
    sales_rep: Mapped[User | None] = relationship()
    source_quote: Mapped[Document | None] = relationship(remote_side=[id])
    lines: Mapped[list[DocumentLine]] = relationship(back_populates="document", cascade="all, delete-orphan",
                                                     order_by="DocumentLine.position")
    field_values: Mapped[list[DocumentFieldValue]] = relationship(cascade="all, delete-orphan")
    external_statuses: Mapped[list[DocumentExternalStatus]] = relationship(
        cascade="all, delete-orphan", order_by="DocumentExternalStatus.source", passive_deletes=True)

    @property
    def is_quote(self) -> bool:
        return self.doc_type == "quote"

    @property
    def is_converted_quote(self) -> bool:
        """A quote converted into a sales order (the order carries its lines from then on)."""
        return converted_quote(self.doc_type, self.status)

    @property
    def total(self) -> Decimal:
        return sum((ln.quantity * ln.price for ln in self.lines), Decimal(0))

    def field_value(self, field_id: int | None) -> str:
        for fv in self.field_values:
            if fv.field_id == field_id:
                return fv.value
        return ""


class DocumentFieldValue(db.Model):
    __tablename__ = "document_field_values"
    __table_args__ = (UniqueConstraint("document_id", "field_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(250), default="")
    field: Mapped[CustomField] = relationship()


class DocumentExternalStatus(db.Model):
    """Where a document stands in another system, as a plugin recorded it (e.g. "Won in ConnectWise").

    One row per document and source (the other system's name, shown as the label's heading).
    Plugins write it through :meth:`host_stub.gateway.UnitOfWork.set_external_status`; the host
    shows it on the document page and in the Quotes and Sales Orders lists. It is not part of the
    document: recording it is not an edit and fires no ``quote_saved``.
    """

    __tablename__ = "document_external_statuses"
    __table_args__ = (UniqueConstraint("document_id", "source"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))  # one of EXTERNAL_STATUSES
    label: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class DocumentLine(db.Model):
    __tablename__ = "document_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    item_number: Mapped[str] = mapped_column(String(60))
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(1))
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    category: Mapped[str] = mapped_column(String(100), default="")
    subcategory: Mapped[str] = mapped_column(String(100), default="")
    product_type: Mapped[str] = mapped_column(String(10), default="Product")  # Product, Service, Labor

    document: Mapped[Document] = relationship(back_populates="lines")


PRODUCT_TYPES = ("Product", "Service", "Labor")
# What an external status says (the host styles each): still open, won, lost, closed otherwise, gone.
EXTERNAL_STATUSES = ("open", "won", "lost", "closed", "deleted")
