"""Helpers for the admin tests: host documents with chosen lines, posting admin forms."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

from sqlalchemy import select

from colcw_plugin.models import RepMapping
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer, Document, DocumentFieldValue, DocumentLine, User

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


def name_documents(field_id: int) -> None:
    """Give every document without an opportunity name one, in the custom field ``field_id``."""
    rows = {v.document_id: v for v in db.session.execute(
        select(DocumentFieldValue).where(DocumentFieldValue.field_id == field_id)).scalars()}
    for doc_id, number in db.session.execute(select(Document.id, Document.number)).all():
        row = rows.get(doc_id)
        if row is None:
            db.session.add(DocumentFieldValue(document_id=doc_id, field_id=field_id, value=f"Deal {number}"))
        elif not row.value.strip():
            row.value = f"Deal {number}"
    db.session.commit()


def connection_form(admin_client, sandbox, **over) -> dict:
    """The Connection page's form as an admin fills it for ``sandbox`` (with its CSRF token); ``over`` replaces
    fields, a None value leaves the field out."""
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    data = {"csrf_token": token, "site_url": sandbox.base_url, "company_id": sandbox.company_id,
            "auth_mode": "api_keys", "public_key": sandbox.public_key, "private_key": sandbox.private_key,
            "client_id": "colcw-tests", "allow_http": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def post_form(client, path: str, data: dict):
    """GET the page for a CSRF token, then POST ``data`` to it."""
    token = csrf_from(client.get(BASE + path).get_data(as_text=True))
    return client.post(BASE + path, data={"csrf_token": token, **data})


class _FormReader(HTMLParser):
    """The fields of the page's form that holds the button ``button_id``, as a browser would send them."""

    def __init__(self, button_id: str):
        super().__init__()
        self.button_id, self.forms, self.current, self.select, self.first_option = button_id, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"fields": {}, "has_button": False}
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "button" and a.get("id") == self.button_id:
            self.current["has_button"] = True
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.current["fields"][a["name"]] = a.get("value") or ""
        elif tag == "select":
            self.select, self.first_option = a.get("name"), None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value") or ""
                self.current["fields"].setdefault(self.select, self.first_option)
            if "selected" in a:
                self.current["fields"][self.select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.current = None


def form_fields(html: str, button_id: str) -> dict:
    """What the form with the button ``button_id`` in ``html`` sends when clicked unchanged (CSRF token included)."""
    reader = _FormReader(button_id)
    reader.feed(html)
    form = next((f for f in reader.forms if f["has_button"]), None)
    assert form is not None, f"the page has no form with #{button_id}"
    return form["fields"]


def page_form(client, path: str, button_id: str) -> dict:
    """:func:`form_fields` of ``path`` loaded now, to change and post later."""
    return form_fields(client.get(BASE + path).get_data(as_text=True), button_id)


def user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def rep_mapping(person: User) -> tuple[str, str, str] | None:
    """(member, location, department) of the person's rep mapping as the database holds it now; None unmapped."""
    db.session.expire_all()
    m = db.session.execute(select(RepMapping).where(RepMapping.user_id == person.id)).scalar_one_or_none()
    return (m.member_identifier, m.location_name, m.department_name) if m else None
