"""What an export reads of one document, read once, under its lock: the document with its customer,
contact, lines and custom field values, and colcw's rows for it (its export state, whether it has
drift, its link, its source quote's link, the customer's and the contact's links) — one statement.

Everything the export needs later is copied into plain values here (:class:`HeldDocument`), so a
commit in the middle of the export (the opportunity's link, committed at once) reloads nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, and_, bindparam, select, text
from sqlalchemy.orm import Session, aliased

from host_stub.bulk import on_postgresql, plain_connection
from host_stub.models import (
    Contact,
    Customer,
    CustomField,
    Document,
    DocumentFieldValue,
    DocumentLine,
    converted_quote,
    person_name,
)
from host_stub.snapshots import DOCUMENT_FIELDS, LINE_FIELDS

from ...models import (
    CONTACT,
    CUSTOMER,
    DOCUMENT,
    DocumentDrift,
    DocumentExport,
    DocumentLineExport,
    Link,
    get_link,
)
from ..shared.reference_cache import UNKNOWN, version_of
from .catalog import LineInput


@dataclass(frozen=True)
class PriorState:
    """The document's export state as it was when the export started (None fields: no state row)."""

    opportunity_id: int | None
    created_opportunity: bool
    exported_at: dt.datetime | None
    name_at_export: str


# In a document link's agreement (``Link.synced_values``, beside live updates' "close" and "notes"): the document's
# values of the opportunity header fields its export sets, at its last export ({"contact": ConnectWise contact id,
# "close": "YYYY-MM-DD" or None}), to tell what the document changed since (export.py ``_opportunity_changes``).
HEADER = "header"


@dataclass(frozen=True)
class LinkRef:
    """A plain copy of a :class:`~colcw_plugin.models.Link` row."""

    cw_id: int
    cw_identifier: str = ""
    fingerprint: str = ""
    status: str = "ok"
    header: dict | None = None  # a document link's opportunity header at its last export (:data:`HEADER`)


@dataclass
class HeldDocument:
    """One document as its export reads it, in plain values."""

    id: int
    number: str
    is_quote: bool
    converted: bool
    source_quote_id: int | None
    follow_up_date: dt.date | None
    sales_rep_id: int | None
    customer_id: int
    customer_name: str
    contact_id: int | None
    contact_name: str
    snapshot: dict
    lines: list[LineInput]
    state: PriorState | None
    has_drift: bool
    own_link: LinkRef | None
    quote_link: LinkRef | None  # a sales order's source quote's link
    customer_link: LinkRef | None
    contact_link: LinkRef | None
    customer_account: str = ""  # the customer's account number (what a deleted company's fix names)
    # The version of the shared cache's entry asked for with it (reference_cache.version_of), read in the same statement
    reference_version: object = UNKNOWN

    def opportunity_link(self) -> tuple[LinkRef | None, bool]:
        """The link the export goes to: its own, else (a sales order) its quote's; and whether it is the quote's."""
        if self.own_link is None and self.source_quote_id and not self.is_quote:
            return self.quote_link, self.quote_link is not None
        return self.own_link, False


def _link_columns(link) -> tuple:
    """What :class:`LinkRef` copies of a link (its id first: whether there is one), as plain columns: colcw's rows
    are read as values, not built into ORM objects the export never uses as such (five of them per document)."""
    return (link.id, link.cw_id, link.cw_identifier, link.fingerprint, link.status, link.synced_values)


_STATE_COLUMNS = (DocumentExport.id, DocumentExport.opportunity_id, DocumentExport.created_opportunity,
                  DocumentExport.exported_at, DocumentExport.name_at_export)
_LINK_WIDTH = 6
# The document, its lines and its custom field values are read as plain columns too (what the host's
# document_snapshot picks of them, and the customer's and contact's few the export names), not built into the ORM
# objects (about 100 columns' attributes, and the session's bookkeeping of each) the export never used but to copy.
_DOC_COLUMNS = tuple(getattr(Document, f) for f in DOCUMENT_FIELDS) + (
    Document.customer_id, Customer.name, Customer.account_number, Contact.id, Contact.first_name, Contact.last_name)
_LINE_COLUMNS = tuple(getattr(DocumentLine, f) for f in LINE_FIELDS)  # (its id first: whether there is a line)
_FIELD_COLUMNS = (DocumentFieldValue.id, DocumentFieldValue.field_id, DocumentFieldValue.value, CustomField.name)
_AT_STATE = len(_DOC_COLUMNS)
# Where load_document finds what it names: the document's id, type, number, status, source quote, follow-up date and
# rep; then the customer's id, name and account number, and the contact's id, first and last names.
_PLAIN = tuple(DOCUMENT_FIELDS.index(f) for f in ("id", "doc_type", "number", "status", "source_quote_id",
                                                  "follow_up_date", "sales_rep_id")) + tuple(
    range(len(DOCUMENT_FIELDS), _AT_STATE))
_AT_LINKS = _AT_STATE + len(_STATE_COLUMNS) + 1
_AT_LINE = _AT_LINKS + 4 * _LINK_WIDTH
_AT_FIELD = _AT_LINE + len(_LINE_COLUMNS)
_AT_END = _AT_FIELD + len(_FIELD_COLUMNS)


def _load_statement(*more):
    """Built once: its cache key is computed once, not per document. ``more``: columns read after the rest. One row
    per line and custom field value of the document (each line with each value; one row when it has neither)."""
    own, quote, customer, contact = aliased(Link), aliased(Link), aliased(Link), aliased(Link)
    return (select(*_DOC_COLUMNS, *_STATE_COLUMNS, DocumentDrift.id, *_link_columns(own), *_link_columns(quote),
                   *_link_columns(customer), *_link_columns(contact), *_LINE_COLUMNS, *_FIELD_COLUMNS, *more)
            .select_from(Document)
            .outerjoin(DocumentExport, DocumentExport.document_id == Document.id)
            .outerjoin(DocumentDrift, DocumentDrift.document_id == Document.id)
            .outerjoin(own, and_(own.entity == DOCUMENT, own.host_id == Document.id))
            .outerjoin(quote, and_(quote.entity == DOCUMENT, quote.host_id == Document.source_quote_id))
            .outerjoin(customer, and_(customer.entity == CUSTOMER, customer.host_id == Document.customer_id))
            .outerjoin(contact, and_(contact.entity == CONTACT, contact.host_id == Document.contact_id))
            .outerjoin(Customer, Customer.id == Document.customer_id)
            .outerjoin(Contact, Contact.id == Document.contact_id)
            .outerjoin(DocumentLine, DocumentLine.document_id == Document.id)
            .outerjoin(DocumentFieldValue, DocumentFieldValue.document_id == Document.id)
            .outerjoin(CustomField, CustomField.id == DocumentFieldValue.field_id)
            .where(Document.id == bindparam("document_id", type_=Integer))
            .order_by(DocumentLine.position, DocumentLine.id))  # (Document.lines' order, ties by id)


_LOAD = _load_statement()
# (PostgreSQL, with the version of a shared cache's entry bound as ``reference_key``: the entry is not read again.)
_LOAD_VERSIONED = _load_statement(version_of("reference_key"))
# Its eleven tables start from one document row found by its key, so the order written is the best plan: PostgreSQL
# is told to keep it for this transaction. Searching the join orders cost 3-4 ms of planning per document, four
# times what reading the rows costs (join_collapse_limit is a planner setting; SET LOCAL ends with the transaction).
# It is a statement of its own on the session's connection: the document's lock, taken just before, is held on a
# connection of its own (.locks), so set_config(..., true) in the lock's statement would set another transaction.
_WRITTEN_ORDER = text("SET LOCAL join_collapse_limit = 1")


def _snapshot_of(rows: list) -> tuple[dict, list[LineInput]]:
    """The document's snapshot (as the host's document_snapshot makes it of the ORM objects) and its lines' inputs,
    from the rows of :func:`_load_statement`."""
    snap = dict(zip(DOCUMENT_FIELDS, rows[0][:len(DOCUMENT_FIELDS)], strict=True))
    lines, line_ids, fields, field_values, value_ids = [], set(), {}, {}, set()
    for row in rows:
        line_id = row[_AT_LINE]
        if line_id is not None and line_id not in line_ids:
            line_ids.add(line_id)
            lines.append(dict(zip(LINE_FIELDS, row[_AT_LINE:_AT_FIELD], strict=True)))
        value_id, field_id, value, name = row[_AT_FIELD:_AT_END]
        if value_id is not None and value_id not in value_ids:
            value_ids.add(value_id)
            fields[name] = value
            field_values[field_id] = value
    snap["lines"], snap["fields"], snap["field_values"] = lines, fields, field_values
    return snap, [_line_input([ln[f] for f in _INPUT_FIELDS]) for ln in lines]


def _ref(link: Link | None) -> LinkRef | None:
    if link is None:
        return None
    return LinkRef(int(link.cw_id), link.cw_identifier or "", link.fingerprint or "", link.status or "ok",
                   (link.synced_values or {}).get(HEADER))


def _ref_of(values: tuple) -> LinkRef | None:
    """:func:`_ref` of a link read as :func:`_link_columns` (None: no link)."""
    link_id, cw_id, cw_identifier, fingerprint, status, synced_values = values
    if link_id is None:
        return None
    return LinkRef(int(cw_id), cw_identifier or "", fingerprint or "", status or "ok", (synced_values or {}).get(HEADER))


# A line's values a LineInput holds, in its order.
_INPUT_FIELDS = ("id", "position", "item_number", "manufacturer", "description", "category", "subcategory",
                 "product_type", "quantity", "cost", "price")


def _line_input(values: list) -> LineInput:
    """A line's :data:`_INPUT_FIELDS` as the export takes them: its names stripped, no description an empty one."""
    line_id, position, item, manufacturer, description, category, subcategory, product_type, quantity, cost, price = \
        values
    return LineInput(line_id, position, item.strip(), manufacturer.strip(), description or "", category.strip(),
                     subcategory.strip(), product_type, quantity, cost, price)


def line_inputs(doc: Document) -> list[LineInput]:
    return [_line_input([getattr(ln, f) for f in _INPUT_FIELDS]) for ln in doc.lines]


def load_document(session: Session, document_id: int, reference_key: str | None = None) -> HeldDocument | None:
    """The document and colcw's rows for it (None when it no longer exists); with ``reference_key`` (PostgreSQL), the
    version of that entry of the shared reference cache (:attr:`HeldDocument.reference_version`)."""
    versioned = reference_key is not None and on_postgresql(session)
    connection = plain_connection(session)
    if on_postgresql(session):
        connection.execute(_WRITTEN_ORDER)
    if versioned:
        rows = connection.execute(_LOAD_VERSIONED, {"document_id": document_id, "reference_key": reference_key}).all()
    else:
        rows = connection.execute(_LOAD, {"document_id": document_id}).all()
    if not rows:
        return None
    row = rows[0]
    (doc_id, doc_type, number, status, source_quote_id, follow_up_date, sales_rep_id, customer_id, customer_name,
     customer_account, contact_id, contact_first, contact_last) = (row[n] for n in _PLAIN)
    state_id, opportunity_id, created_opportunity, exported_at, name_at_export, drift_id = row[_AT_STATE:_AT_LINKS]
    own, quote, customer_link, contact_link = (_ref_of(row[_AT_LINKS + n * _LINK_WIDTH:_AT_LINKS + (n + 1) * _LINK_WIDTH])
                                               for n in range(4))
    contact_name = person_name(contact_first, contact_last)
    if contact_id is None:  # no contact chosen on the document: the customer's default one
        contact = session.execute(select(Contact).where(Contact.customer_id == customer_id)
                                  .order_by(Contact.is_default.desc(), Contact.id)).scalars().first()
        contact_link = _ref(get_link(session, CONTACT, contact.id)) if contact is not None else None
        contact_id, contact_name = (contact.id, contact.name) if contact is not None else (None, "")
    snapshot, lines = _snapshot_of(rows)
    return HeldDocument(
        id=doc_id, number=number, is_quote=doc_type == "quote", converted=converted_quote(doc_type, status),
        source_quote_id=source_quote_id, follow_up_date=follow_up_date, sales_rep_id=sales_rep_id,
        customer_id=customer_id, customer_name=customer_name, contact_id=contact_id, contact_name=contact_name,
        snapshot=snapshot, lines=lines,
        state=PriorState(opportunity_id, bool(created_opportunity), exported_at,
                         name_at_export or "") if state_id is not None else None,
        has_drift=drift_id is not None, own_link=own, quote_link=quote,
        customer_link=customer_link, contact_link=contact_link if contact_id is not None else None,
        customer_account=customer_account or "", reference_version=row[-1] if versioned else UNKNOWN)


def exported_items(session: Session, held: HeldDocument) -> dict[int, tuple[str, int | None]]:
    """Each line's item number and catalog item at the document's last export (none without a state row)."""
    if held.state is None:
        return {}
    return exported_items_of(session, held.id)


def exported_items_of(session: Session, document_id: int) -> dict[int, tuple[str, int | None]]:
    """:func:`exported_items` by the document's id (one statement; none for a document never exported)."""
    return {line_id: (item, item_id) for line_id, item, item_id in session.execute(
        select(DocumentLineExport.line_id, DocumentLineExport.item_number, DocumentLineExport.cw_catalog_item_id)
        .where(DocumentLineExport.document_id == document_id))}
