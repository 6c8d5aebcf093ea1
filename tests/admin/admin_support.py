"""Helpers for the admin tests: host documents with chosen lines, posting admin forms."""

from __future__ import annotations

from decimal import Decimal

from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer, Document, DocumentLine

BASE = "/admin/integration/connectwise"


def add_document_lines(lines: list[tuple[str, str, str, str]], number: str = "QT1") -> Document:
    """A quote whose lines have these (manufacturer, category, sub-category, product type)."""
    customer = db.session.query(Customer).filter_by(account_number="LINES1").one_or_none()
    if customer is None:
        customer = Customer(account_number="LINES1", name="Lines Customer")
        db.session.add(customer)
        db.session.flush()
    doc = Document(doc_type="quote", number=number, customer_id=customer.id)
    doc.lines = [DocumentLine(position=n, item_number=f"ITEM-{n}", manufacturer=m, category=c, subcategory=s,
                              product_type=t, quantity=Decimal(1), cost=Decimal(1), price=Decimal(2))
                 for n, (m, c, s, t) in enumerate(lines, 1)]
    db.session.add(doc)
    db.session.commit()
    return doc


def post_form(client, path: str, data: dict):
    """GET the page for a CSRF token, then POST ``data`` to it."""
    token = csrf_from(client.get(BASE + path).get_data(as_text=True))
    return client.post(BASE + path, data={"csrf_token": token, **data})
