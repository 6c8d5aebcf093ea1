"""Plain-dict snapshots of host records, as handed to plugins (never ORM objects)."""

from __future__ import annotations

from typing import Any

from .models import Contact, Customer, Document, DocumentLine, User

CUSTOMER_FIELDS = ("id", "account_number", "name", "active", "address1", "address2", "city", "state",
                   "zip", "country", "website", "phone", "fax", "location_code", "store_site_id",
                   "created_at", "updated_at")
CONTACT_FIELDS = ("id", "customer_id", "title", "first_name", "last_name", "address1", "address2", "city",
                  "state", "zip", "work_phone", "mobile_phone", "home_phone", "other_phone", "email",
                  "is_default", "created_at", "updated_at")
DOCUMENT_FIELDS = ("id", "doc_type", "number", "title", "customer_id", "contact_id", "sales_rep_id", "locked",
                   "status", "source_quote_id", "follow_up_date", "created_at", "updated_at")
LINE_FIELDS = ("id", "position", "item_number", "manufacturer", "description", "quantity", "cost", "price",
               "category", "subcategory", "product_type")


def _pick(obj: Any, fields: tuple[str, ...]) -> dict:
    return {f: getattr(obj, f) for f in fields}


def contact_snapshot(contact: Contact) -> dict:
    return _pick(contact, CONTACT_FIELDS)


def customer_snapshot(customer: Customer, with_contacts: bool = True) -> dict:
    snap = _pick(customer, CUSTOMER_FIELDS)
    if with_contacts:
        snap["contacts"] = [contact_snapshot(c) for c in customer.contacts]
    return snap


def document_snapshot(doc: Document) -> dict:
    snap = _pick(doc, DOCUMENT_FIELDS)
    snap["lines"] = [line_snapshot(ln) for ln in doc.lines]
    snap["fields"] = {fv.field.name: fv.value for fv in doc.field_values}
    snap["field_values"] = {fv.field_id: fv.value for fv in doc.field_values}
    return snap


def line_snapshot(line: DocumentLine) -> dict:
    return _pick(line, LINE_FIELDS)


def actor_snapshot(user: User | None) -> dict | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}


def system_actor(name: str) -> dict:
    return {"id": None, "email": None, "name": name, "system": name, "role": "system"}
