"""The export reads its document as plain columns (one statement, no ORM objects built): what it holds is what the
host's document_snapshot and line_inputs make of the ORM document, for a document with several lines and custom
field values (each line read beside each value), one with neither, one without a contact (the customer's default
one), and for one that no longer exists."""

from __future__ import annotations

import pytest
from quote_support import line
from sqlalchemy import event, select

from colcw_plugin.models import CONTACT, CUSTOMER, get_link
from colcw_plugin.sync.quotes.held import line_inputs, load_document
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, CustomField, Document
from host_stub.snapshots import document_snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _orm(document_id: int) -> Document:
    db.session.expire_all()
    return db.session.get(Document, document_id)


def _statements(fn):
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        return fn(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_a_document_with_lines_and_values_is_held_as_its_snapshot(world):
    other = services.add_custom_field("Project code")
    doc = services.save_document(
        {"customer_id": world.customer_id, "contact_id": world.contact_id, "follow_up_date": "2026-11-30"},
        [line("OPT-7010", qty=2, price="100.50"), line(" LAT-5440 ", manufacturer=" Dell ", description=None),
         line("PWR-R550", product_type="Service")],
        doc_type="quote", custom_fields={world.field_id: "Network refresh", other.id: "P-42"})
    doc_id = doc.id
    db.session.commit()
    held, statements = _statements(lambda: load_document(db.session, doc_id))
    orm = _orm(doc_id)
    assert held.snapshot == document_snapshot(orm)
    assert [ln["item_number"] for ln in held.snapshot["lines"]] == ["OPT-7010", "LAT-5440", "PWR-R550"]
    name_field = db.session.get(CustomField, world.field_id).name
    assert held.snapshot["fields"] == {name_field: "Network refresh", "Project code": "P-42"}
    assert held.snapshot["field_values"] == {world.field_id: "Network refresh", other.id: "P-42"}
    assert held.lines == line_inputs(orm)
    assert (held.id, held.number, held.is_quote, held.converted, held.source_quote_id, held.follow_up_date,
            held.sales_rep_id, held.customer_id) == (orm.id, orm.number, True, False, None, orm.follow_up_date,
                                                     orm.sales_rep_id, world.customer_id)
    assert (held.customer_name, held.customer_account) == ("Acme Dental", "ACME01")
    assert (held.contact_id, held.contact_name) == (world.contact_id, "Maria Smith")
    assert held.customer_link.cw_id == world.company_id and held.contact_link.cw_id == world.cw_contact_id
    assert held.state is None and not held.has_drift and held.own_link is None
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, [s[:150] for s in statements]


def test_a_document_without_lines_values_or_contact(world):
    doc = services.save_document({"customer_id": world.customer_id, "contact_id": None}, [], doc_type="order",
                                 custom_fields={})
    db.session.commit()
    held = load_document(db.session, doc.id)
    orm = _orm(doc.id)
    assert orm.contact_id is None and orm.lines == [] and orm.field_values == []
    assert held.snapshot == document_snapshot(orm)
    assert held.snapshot["lines"] == [] and held.snapshot["fields"] == {} and held.snapshot["field_values"] == {}
    assert held.lines == [] and not held.is_quote and not held.converted
    default = db.session.execute(select(Contact).where(Contact.customer_id == world.customer_id)
                                 .order_by(Contact.is_default.desc(), Contact.id)).scalars().first()
    assert (held.contact_id, held.contact_name) == (default.id, default.name)
    assert held.contact_link.cw_id == get_link(db.session, CONTACT, default.id).cw_id
    assert held.customer_link.cw_id == get_link(db.session, CUSTOMER, world.customer_id).cw_id


def test_a_document_that_no_longer_exists_is_none(world):
    assert load_document(db.session, 987654321) is None
    assert load_document(db.session, 987654321, "colcw:some-key") is None
