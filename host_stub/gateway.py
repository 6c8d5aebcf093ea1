"""The host's write operations, on the caller's session: the service API plugins write through.

A :class:`UnitOfWork` wraps one SQLAlchemy session. Its writes validate, change and flush, but
never commit; each records the plugin event it implies (``customer_saved``, ``quote_saved``,
``quote_converted``) with a snapshot taken at once, and :meth:`UnitOfWork.commit` commits and then
fires them. So events fire only after the commit succeeded (a plugin never reacts to data that
was rolled back), a plugin failure can never undo a save (see :mod:`host_stub.plugins`), and a
caller that saves many records commits once for all of them.

Nothing here uses Flask or the host's global ``db``: a plugin's service, a command or a test can
run it on a plain session. The host's pages use :func:`host_stub.services.unit_of_work`, which
binds the request's session and the app's plugin manager.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pluggy
from sqlalchemy import bindparam, delete, func, inspect, select, text, update
from sqlalchemy.orm import Session

from . import bulk
from . import fields as F
from .bulk import CustomerSaved, CustomerWrite
from .models import (
    EXTERNAL_STATUSES,
    Contact,
    Customer,
    CustomField,
    Document,
    DocumentExternalStatus,
    DocumentFieldValue,
    DocumentLine,
    StoreSite,
    User,
    utcnow,
)
from .plugins import call_hook
from .snapshots import customer_snapshot, document_snapshot

DOCUMENT_NUMBER_LOCK = 0x636F6C646F63  # the advisory lock numbering documents holds until its commit ("coldoc")

CUSTOMER_EDITABLE = ("account_number", "name", "active", "address1", "address2", "city", "state", "zip",
                     "country", "website", "phone", "fax", "location_code")
CONTACT_EDITABLE = ("title", "first_name", "last_name", "address1", "address2", "city", "state", "zip",
                    "work_phone", "mobile_phone", "home_phone", "other_phone", "email", "is_default")
# Each editable field with its column's length (0: none; None: a flag), read once from the columns (fields.py).
_CUSTOMER_FIELDS = tuple((f, None if f == "active" else F.limit(Customer, f) or 0) for f in CUSTOMER_EDITABLE)
_CONTACT_FIELDS = tuple((f, None if f == "is_default" else F.limit(Contact, f) or 0) for f in CONTACT_EDITABLE)
# The same with "no length" (0) as a length no text reaches: what contact_fields and customer_fields compare every
# value with (a bulk save checks tens of thousands of fields).
_CUSTOMER_CHECKS = tuple((f, None if limit is None else limit or sys.maxsize) for f, limit in _CUSTOMER_FIELDS)
_CONTACT_CHECKS = tuple((f, None if limit is None else limit or sys.maxsize) for f, limit in _CONTACT_FIELDS)
_REQUIRED = {"name": "Enter the customer's name.",
             "account_number": "Enter an account number (it becomes the ConnectWise company ID)."}
LINE_EDITABLE = ("item_number", "manufacturer", "description", "quantity", "cost", "price", "category",
                 "subcategory", "product_type")


class ValidationError(ValueError):
    """Bad input; ``errors`` maps field names to messages that say what to do."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ChangedMeanwhile(ValidationError):
    """A save refused because what its form edits changed since the form was opened (optimistic concurrency).

    ``current`` is what the form edits as it is now (:func:`customer_form_version` / :func:`document_form_version`)
    and ``changed_at`` when the record was last saved (naive UTC)."""

    def __init__(self, what: str, current: dict, changed_at: dt.datetime | None):
        super().__init__({"version": f"This {what} was changed since you opened this page."})
        self.current = current
        self.changed_at = changed_at


def _text(value: Any) -> str:
    """A value as a form shows it (the versions compare these)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def customer_form_version(customer: Customer) -> dict:
    """What the customer's edit form edits, as text: the customer's fields and each contact's, by contact id (in
    their order). The form carries it as opened; a save compares it with the database's (see ``opened``)."""
    return {"customer": {f: _text(getattr(customer, f)) for f in CUSTOMER_EDITABLE},
            "contacts": {str(c.id): {f: _text(getattr(c, f)) for f in CONTACT_EDITABLE} for c in customer.contacts}}


_LINE_NUMBERS = ("quantity", "cost", "price")  # Numeric(12, 2): compared as the database holds them


def document_form_version(doc: Document) -> dict:
    """What the quote / sales order edit form edits, as text: the header, the custom fields (by field id) and the
    lines by line id in their order. Not the lock, the status or a plugin's external status: those are no edit."""
    return {"header": {f: _text(getattr(doc, f)) for f in ("customer_id", "contact_id", "sales_rep_id", "title",
                                                           "follow_up_date")},
            "custom": {str(fv.field_id): _text(fv.value) for fv in doc.field_values if fv.value},
            "lines": {str(ln.id): {f: _text(getattr(ln, f)) if f not in _LINE_NUMBERS else
                                   f"{Decimal(getattr(ln, f) or 0):.2f}" for f in LINE_EDITABLE} for ln in doc.lines}}


# A document locked or unlocked where it differs, returning what it wrote, as the document (built once: building it
# costs more than running it).
_DOCUMENTS = Document.__table__
_LOCKED_WHERE_DIFFERS = (update(_DOCUMENTS)
                         .where(_DOCUMENTS.c.id == bindparam("b_id"), _DOCUMENTS.c.locked != bindparam("b_locked"))
                         .values(locked=bindparam("b_locked")))
_SET_LOCKED = select(Document).from_statement(  # (as the document)
    _LOCKED_WHERE_DIFFERS.returning(_DOCUMENTS.c.id, _DOCUMENTS.c.locked, _DOCUMENTS.c.updated_at))
_LOCK = _LOCKED_WHERE_DIFFERS.returning(_DOCUMENTS.c.id)  # (its id only: whether it was written)


class UnitOfWork:
    """Host writes on one session, and the plugin events they imply, fired after :meth:`commit`.

    ``hooks`` is the app's plugin manager; without one (a plain session in a test or a tool) the
    events are recorded and dropped. An event that no plugin implements is not even recorded, so
    a bulk write takes no snapshot nobody reads.
    """

    def __init__(self, session: Session, hooks: pluggy.PluginManager | None = None):
        self.session = session
        self.hooks = hooks
        self.pending: list[tuple[str, dict]] = []

    # --- events -----------------------------------------------------------------------------

    def listens(self, event: str) -> bool:
        """Whether any plugin implements ``event`` (no snapshot is taken otherwise)."""
        return self.hooks is not None and bool(getattr(self.hooks.hook, event).get_hookimpls())

    def record(self, event: str, make_kwargs: Callable[[], dict]) -> None:
        """Record ``event`` to fire after the commit; ``make_kwargs`` builds its snapshots now."""
        if self.listens(event):
            self.pending.append((event, make_kwargs()))

    def commit(self) -> None:
        """Commit the session, then fire the recorded events (each plugin guarded)."""
        self.session.commit()
        events, self.pending = self.pending, []
        for event, kwargs in events:
            call_hook(self.hooks, event, **kwargs)

    def rollback(self) -> None:
        """Roll the session back and forget the events of what was rolled back."""
        self.session.rollback()
        self.pending = []

    # --- customers --------------------------------------------------------------------------

    def default_store(self) -> StoreSite | None:
        return self.session.execute(select(StoreSite).order_by(StoreSite.id).limit(1)).scalar_one_or_none()

    def _validate_customer(self, data: Mapping[str, Any], customer_id: int | None) -> tuple[dict, dict[str, str]]:
        """The customer's values as they will be saved (text stripped), and the errors, field by field."""
        errors: dict[str, str] = {}
        values = self.customer_fields(data, customer_id, errors)
        acct = values.get("account_number")
        if acct and "account_number" not in errors:
            other = self.session.execute(select(Customer.id, Customer.name).where(Customer.account_number == acct)
                                         .limit(1)).first()
            if other is not None and other.id != customer_id:
                errors["account_number"] = F.taken_message(acct, other.name)
        return values, errors

    @staticmethod
    def customer_fields(data: Mapping[str, Any], customer_id: int | None, errors: dict[str, str]) -> dict:
        """The customer's fields given in ``data`` as they will be saved (text stripped); each invalid
        one adds its error to ``errors`` (the account number's uniqueness is checked by the caller)."""
        values = {}
        for field, limit in _CUSTOMER_CHECKS:
            if limit is None:  # the flag
                if field in data:
                    values[field] = bool(data[field])
            elif field in data or (customer_id is None and field in _REQUIRED):
                value = data.get(field)
                value = value.strip() if type(value) is str else F.stripped(value)
                if len(value) > limit or (not value and field in _REQUIRED):
                    # The error's words made only when needed (a bulk save checks tens of thousands of fields).
                    F.text(errors, field, value, Customer, field, F.LABELS[field], required=_REQUIRED.get(field))
                values[field] = value
        return values

    @staticmethod
    def contact_fields(contacts: list[Mapping[str, Any]], errors: dict[str, str]) -> list[dict]:
        """The contacts' fields as they will be saved (an ``id`` kept); errors at ``contacts[i].field``."""
        out = []
        for i, c in enumerate(contacts):
            given_id = c.get("id")
            values: dict[str, Any] = {"id": given_id} if given_id else {}
            for field, limit in _CONTACT_CHECKS:
                if field in c:
                    if limit is None:  # the flag
                        values[field] = bool(c[field])
                        continue
                    value = c[field]
                    value = value.strip() if type(value) is str else F.stripped(value)
                    if len(value) > limit:  # the error's key and label made only when needed
                        F.text(errors, f"contacts[{i}].{field}", value, Contact, field,
                               f"Contact {i + 1}: {F.LABELS[field]}")
                    values[field] = value
            if not (values.get("first_name") or values.get("last_name")) and (
                    "first_name" in c or "last_name" in c or not given_id):
                errors.setdefault(f"contacts[{i}].first_name", f"Contact {i + 1}: enter a first or last name.")
            out.append(values)
        return out

    def save_customer(self, data: Mapping[str, Any], contacts: Iterable[Mapping[str, Any]] | None = None, *,
                      customer_id: int | None = None, actor: dict | None = None,
                      delete_missing_contacts: bool = False, opened: Mapping | None = None) -> Customer:
        """Create or update a customer and (optionally) its contacts (flushed, not committed).

        ``contacts`` items with an ``id`` update that contact, others are added. With
        ``delete_missing_contacts`` the customer's other contacts are removed. Nothing is written
        when any field is invalid (``ValidationError``: a required field missing, a value longer
        than its column). Records ``customer_saved``.

        ``opened`` (an edit form's :func:`customer_form_version` as it was opened): the save is refused with
        :class:`ChangedMeanwhile`, nothing written, when what the form edits changed since. It is compared with the
        database inside this transaction, the customer's row locked until the commit, so of two saves of one
        version in two processes the second is refused.
        """
        if opened is not None and customer_id is not None:
            self._check_customer_version(customer_id, opened)
        values, errors = self._validate_customer(data, customer_id)
        contacts = self.contact_fields(list(contacts or []), errors)
        if errors:
            raise ValidationError(errors)
        created = customer_id is None
        if created:
            customer = Customer(account_number="", name="")
            store = self.default_store()
            customer.store_site_id = store.id if store else None
            self.session.add(customer)
        else:
            customer = self.session.get(Customer, customer_id)
            if customer is None:
                raise ValidationError({"id": f"Customer {customer_id} no longer exists."})
        for field, value in values.items():
            setattr(customer, field, value)
        customer.updated_at = utcnow()
        if contacts:
            by_id = {c.id: c for c in customer.contacts}
            kept = set()
            for c in contacts:
                contact = by_id.get(c.get("id")) if c.get("id") else None
                if contact is None:
                    contact = Contact(customer=customer)
                    self.session.add(contact)
                for field in CONTACT_EDITABLE:
                    if field in c:
                        setattr(contact, field, c[field])
                contact.updated_at = utcnow()
                kept.add(id(contact))
            if delete_missing_contacts:
                for contact in list(customer.contacts):
                    if id(contact) not in kept:
                        customer.contacts.remove(contact)
            _one_default_contact(customer)
        self.session.flush()
        self.record("customer_saved", lambda: {"customer": customer_snapshot(customer), "created": created,
                                               "actor": actor})
        return customer

    def _check_customer_version(self, customer_id: int, opened: Mapping) -> None:
        customer = self.session.execute(select(Customer).where(Customer.id == customer_id).with_for_update()
                                        .execution_options(populate_existing=True)).scalar_one_or_none()
        if customer is None:
            return  # save_customer says it is gone
        self.session.execute(select(Contact).where(Contact.customer_id == customer_id).with_for_update()
                             .execution_options(populate_existing=True)).all()
        self.session.expire(customer, ["contacts"])
        current = customer_form_version(customer)
        if current != opened:
            raise ChangedMeanwhile("customer", current, customer.updated_at)

    def save_customers(self, writes: Sequence[CustomerWrite], *, actor: dict | None = None) -> list[CustomerSaved]:
        """Many customers and their contacts in a constant number of statements (see :mod:`host_stub.bulk`)."""
        return bulk.save_customers(self, writes, actor=actor)

    def refresh_statistics(self) -> None:
        """After many customers were saved in bulk: the database's statistics of the customer tables brought
        up to date, so that the next reads plan for their new size (see ``bulk.refresh_statistics``)."""
        bulk.refresh_statistics(self.session, {Customer.__tablename__: ["id", "account_number"],
                                               Contact.__tablename__: ["customer_id"]})

    # --- documents --------------------------------------------------------------------------

    def next_document_number(self, doc_type: str) -> str:
        """The next free number of ``doc_type`` (Q1001, SO1001, …). Two saves at once would both find the same one
        and the second commit would fail on the unique number: on PostgreSQL the transaction first takes a lock
        that numbering holds until its commit (web processes on several machines included); SQLite has one writer
        at a time already."""
        prefix = "Q" if doc_type == "quote" else "SO"
        if bulk.on_postgresql(self.session):
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DOCUMENT_NUMBER_LOCK})
        count = self.session.execute(select(func.count(Document.id)).where(Document.doc_type == doc_type)).scalar()
        n = (count or 0) + 1001
        while self.session.execute(select(Document.id).where(Document.number == f"{prefix}{n}")).first():
            n += 1
        return f"{prefix}{n}"

    def save_document(self, header: Mapping[str, Any], lines: Iterable[Mapping[str, Any]] | None = None, *,
                      document_id: int | None = None, doc_type: str = "quote",
                      custom_fields: Mapping[int, str] | None = None, actor: dict | None = None,
                      opened: Mapping | None = None) -> Document:
        """Create or update a quote / sales order with its custom header fields and lines.

        ``lines`` replaces the document's lines when given (items with an ``id`` keep their
        identity, so plugins can follow a line across edits). A locked document cannot be edited.
        Records ``quote_saved``.

        ``opened`` (an edit form's :func:`document_form_version` as it was opened): refused with
        :class:`ChangedMeanwhile`, nothing written, when what the form edits changed since (compared inside this
        transaction, the document's row locked until the commit). A lock or an external status is no such change.
        """
        errors: dict[str, str] = {}
        if opened is not None and document_id:
            self._check_document_version(document_id, opened)
        doc = self.session.get(Document, document_id) if document_id else None
        if document_id and doc is None:
            raise ValidationError({"id": f"Document {document_id} no longer exists."})
        if doc is not None and doc.locked:
            raise ValidationError({"locked": f"{doc.number} is locked because it was exported. Unlock it first."})
        customer_id = F.row_id(errors, "customer_id", header.get("customer_id", doc.customer_id if doc else None),
                               "Choose the customer.")
        customer = self.session.get(Customer, customer_id) if customer_id else None
        if customer is None:
            errors["customer_id"] = "Choose the customer."
        contact_id = F.row_id(errors, "contact_id", header.get("contact_id", doc.contact_id if doc else None),
                              "Choose one of the customer's contacts.")
        if contact_id and customer and not any(c.id == contact_id for c in customer.contacts):
            errors["contact_id"] = "The contact must belong to the customer."
        rep_id = F.row_id(errors, "sales_rep_id", header.get("sales_rep_id"), "Choose the sales rep from the list.")
        if rep_id and self.session.get(User, rep_id) is None:
            errors["sales_rep_id"] = "That sales rep no longer exists: choose another from the list."
        title = F.text(errors, "title", header.get("title"), Document, "title", "Title")
        number = F.text(errors, "number", header.get("number"), Document, "number", "Document number")
        try:
            follow_up = F.parse_date(header.get("follow_up_date", doc.follow_up_date if doc else None))
        except ValueError:
            errors["follow_up_date"] = "Enter the follow-up date as YYYY-MM-DD."
            follow_up = None
        values = self._validate_custom_fields(custom_fields, errors) if custom_fields is not None else None
        parsed_lines = F.document_lines(lines or [], errors)
        if errors:
            raise ValidationError(errors)

        created = doc is None
        if created:
            doc = Document(doc_type=doc_type, number=number or self.next_document_number(doc_type),
                           customer_id=customer.id)
            self.session.add(doc)
        doc.customer_id = customer.id
        doc.contact_id = contact_id
        if "sales_rep_id" in header:
            doc.sales_rep_id = rep_id
        if "title" in header:
            doc.title = title
        doc.follow_up_date = follow_up
        doc.updated_at = utcnow()
        if values is not None:
            existing = {fv.field_id: fv for fv in doc.field_values}
            for field_id, value in values.items():
                fv = existing.get(field_id)
                if fv is None:
                    doc.field_values.append(DocumentFieldValue(field_id=field_id, value=value))
                else:
                    fv.value = value
        if lines is not None:
            _replace_lines(doc, parsed_lines)
        self.session.flush()
        self.record("quote_saved", lambda: {"document": document_snapshot(doc), "created": created, "actor": actor})
        return doc

    def _check_document_version(self, document_id: int, opened: Mapping) -> None:
        doc = self.session.execute(select(Document).where(Document.id == document_id).with_for_update()
                                   .execution_options(populate_existing=True)).scalar_one_or_none()
        if doc is None:
            return  # save_document says it is gone
        for model in (DocumentLine, DocumentFieldValue):
            self.session.execute(select(model).where(model.document_id == document_id)
                                 .execution_options(populate_existing=True)).all()
        self.session.expire(doc, ["lines", "field_values"])
        current = document_form_version(doc)
        if current != opened:
            raise ChangedMeanwhile("quote" if doc.is_quote else "sales order", current, doc.updated_at)

    def _validate_custom_fields(self, custom_fields: Mapping[int, str], errors: dict[str, str]) -> dict[int, str]:
        """The custom header fields' values by field id; errors at ``custom_fields[<id>]``."""
        names = {row.id: row.name for row in self.session.execute(select(CustomField.id, CustomField.name))}
        values = {}
        for raw_id, value in custom_fields.items():
            key = f"custom_fields[{raw_id}]"
            field_id = F.row_id(errors, key, raw_id, "That custom header field no longer exists.")
            if field_id is not None and field_id not in names:
                errors[key] = "That custom header field no longer exists."
            elif field_id is not None:
                values[field_id] = F.text(errors, key, value, DocumentFieldValue, "value", names[field_id])
        return values

    def set_locked(self, document_id: int, locked: bool, *, returned: bool = True) -> Document | None:
        """Lock or unlock a document (plugins lock exported documents). Records no event.

        A document this session holds as loaded is set as any change (written only if it differs). One it
        does not (or holds expired, as after a commit) is not read first: one UPDATE, only where it differs,
        returns it; a document already so is then read, or found gone. The UPDATE returns only what it wrote
        (the document's other columns load if asked for). ``returned=False``: None is returned, and a document the
        session does not hold at all is locked by the UPDATE alone, no document built (the export, locking what it
        exported, reads nothing of it)."""
        key = Session.identity_key(Document, document_id)
        held = self.session.identity_map.get(key)
        if held is not None and "locked" not in inspect(held).unloaded:
            doc = held
        else:
            if held is None and not returned:
                if self.session.connection().execute(_LOCK, {"b_id": document_id, "b_locked": locked}).first():
                    return None
            else:
                doc = self.session.execute(_SET_LOCKED, {"b_id": document_id, "b_locked": locked},
                                           execution_options={"populate_existing": True}
                                           ).scalar_one_or_none()  # loaded into the session (nothing else to sync)
                if doc is not None:
                    return doc
            doc = self.session.get(Document, document_id)  # already so, or gone
        if doc is None:
            raise ValidationError({"id": f"Document {document_id} no longer exists."})
        doc.locked = locked
        self.session.flush()
        return doc if returned else None

    # --- external status ----------------------------------------------------------------------

    def set_external_status(self, document_id: int, source: str, *, status: str, label: str, detail: str = "",
                            url: str = "", changed_at: dt.datetime | None = None) -> DocumentExternalStatus:
        """Record where a document stands in another system (flushed, not committed).

        ``source`` names the system ("ConnectWise"); ``status`` is one of ``open``, ``won``,
        ``lost``, ``closed`` or ``deleted``; ``label`` the sentence shown ("Won in ConnectWise on
        2026-05-04 by Sam Admin"), ``detail`` a second line, ``url`` a link to the record there and
        ``changed_at`` (naive UTC) when it changed there. One status per document and source: a
        new one replaces the last. It works on locked documents and records no event: it is not
        an edit of the document.
        """
        errors: dict[str, str] = {}
        source = F.text(errors, "source", source, DocumentExternalStatus, "source", "The other system's name",
                        required="Name the other system, e.g. ConnectWise.")
        if status not in EXTERNAL_STATUSES:
            errors["status"] = f"The external status must be one of {', '.join(EXTERNAL_STATUSES)}."
        label = F.text(errors, "label", label, DocumentExternalStatus, "label", "The status sentence",
                       required="Give the status as a sentence, e.g. Won in ConnectWise.")
        url = F.text(errors, "url", url, DocumentExternalStatus, "url", "The link to the record")
        if self.session.get(Document, document_id) is None:
            errors["id"] = f"Document {document_id} no longer exists."
        if errors:
            raise ValidationError(errors)
        row = self.session.execute(select(DocumentExternalStatus).where(
            DocumentExternalStatus.document_id == document_id, DocumentExternalStatus.source == source)
        ).scalar_one_or_none()
        if row is None:
            row = DocumentExternalStatus(document_id=document_id, source=source)
            self.session.add(row)
        row.status, row.label, row.detail, row.url = status, label, (detail or "").strip(), url
        row.changed_at = changed_at
        row.updated_at = utcnow()
        self.session.flush()
        return row

    def clear_external_status(self, document_id: int, source: str) -> None:
        """Forget a document's status in ``source`` (flushed, not committed; records no event)."""
        self.session.execute(delete(DocumentExternalStatus).where(
            DocumentExternalStatus.document_id == document_id, DocumentExternalStatus.source == source))
        self.session.flush()

    def convert_quote(self, quote_id: int, *, actor: dict | None = None) -> Document:
        """Turn a quote into a sales order (a copy of its header and lines that refers back to it). The quote's row
        is locked first, so of two conversions at once (a double click, two reps) the second finds it converted."""
        quote = self.session.execute(select(Document).where(Document.id == quote_id).with_for_update()
                                     .execution_options(populate_existing=True)).scalar_one_or_none()
        if quote is None or not quote.is_quote:
            raise ValidationError({"id": "Only an existing quote can be converted to a sales order."})
        if quote.status == "converted":
            raise ValidationError({"status": f"{quote.number} was already converted to a sales order."})
        order = Document(doc_type="order", number=self.next_document_number("order"), title=quote.title,
                         customer_id=quote.customer_id, contact_id=quote.contact_id, sales_rep_id=quote.sales_rep_id,
                         follow_up_date=quote.follow_up_date, source_quote_id=quote.id)
        for fv in quote.field_values:
            order.field_values.append(DocumentFieldValue(field_id=fv.field_id, value=fv.value))
        for ln in quote.lines:
            order.lines.append(DocumentLine(**{f: getattr(ln, f) for f in LINE_EDITABLE}, position=ln.position))
        quote.status = "converted"
        self.session.add(order)
        self.session.flush()
        self.record("quote_converted", lambda: {"quote": document_snapshot(quote), "order": document_snapshot(order),
                                                "actor": actor})
        return order

    # --- settings ---------------------------------------------------------------------------

    def add_custom_field(self, name: str) -> CustomField:
        errors: dict[str, str] = {}
        name = F.text(errors, "name", name, CustomField, "name", "The field's name",
                      required="Enter the field's name, e.g. Opportunity Name.")
        if errors:
            raise ValidationError(errors)
        if self.session.execute(select(CustomField).where(CustomField.name == name)).scalar():
            raise ValidationError({"name": f"A custom field named {name} already exists."})
        pos = self.session.execute(select(func.count(CustomField.id))).scalar() or 0
        field = CustomField(name=name, position=pos)
        self.session.add(field)
        self.session.flush()
        return field


def _one_default_contact(customer: Customer) -> None:
    defaults = [c for c in customer.contacts if c.is_default]
    for extra in defaults[1:]:
        extra.is_default = False
    if not defaults and customer.contacts:
        customer.contacts[0].is_default = True


def _replace_lines(doc: Document, parsed_lines: list[dict]) -> None:
    by_id = {ln.id: ln for ln in doc.lines}
    keep = []
    for pos, data in enumerate(parsed_lines, start=1):
        line = by_id.get(int(data["id"])) if data.get("id") else None
        if line is None:
            line = DocumentLine(item_number="")
        for field in LINE_EDITABLE:
            setattr(line, field, data[field])
        line.position = pos
        keep.append(line)
    doc.lines[:] = keep
