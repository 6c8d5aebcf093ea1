"""The one-statement INSERT of an export's lines (with its state, on PostgreSQL) writes every column of the
line-exports table: its column list is the table's, so a column added to the table cannot be left out of it."""

from __future__ import annotations

import datetime as dt
import decimal
from types import SimpleNamespace

from sqlalchemy import Integer, Numeric, String, Text, select

from colcw_plugin.models import DocumentLineExport
from colcw_plugin.sync.quotes.bookkeeping import save_lines
from helpers import recorded_statements
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork

_LINES = DocumentLineExport.__table__
# The state an export saves with its lines (export._save_success: every column of it).
STATE = dict(opportunity_id=7, opportunity_name="Seven", created_opportunity=True, status="exported",
             changed_since_export=False, fingerprint="f", name_at_export="Q1", exported_at=dt.datetime(2026, 12, 1),
             exported_by="system", last_run_id=None, message="", resolution="", hand_products=[])


def _sample(column, n: int):
    """A value for ``column`` unlike its default (and unlike any other column's)."""
    if isinstance(column.type, Numeric):
        return decimal.Decimal(f"{n}.25")
    if isinstance(column.type, Integer):
        return 1000 + n
    if isinstance(column.type, String | Text):
        return f"{column.name} {n}"
    raise AssertionError(f"no sample value for {column.name} ({column.type}): add one here")


def test_the_lines_written_with_the_state_in_one_statement_keep_every_column_of_the_table(app):
    assert db.engine.dialect.name == "postgresql"
    uow = UnitOfWork(db.session)
    customer = uow.save_customer({"account_number": "LEC1", "name": "Line columns"}, [{"first_name": "Lu"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}])
    uow.commit()
    columns = [c for c in _LINES.c if not c.primary_key]
    row = {c.name: _sample(c, n) for n, c in enumerate(columns)} | {"document_id": doc.id}
    held = SimpleNamespace(id=doc.id, state=None, has_drift=False)
    with recorded_statements(db.engine) as seen:
        save_lines(db.session, held, [{k: str(v) if isinstance(v, decimal.Decimal) else v for k, v in row.items()}],
                   had_rows=False, state=STATE)
    db.session.commit()
    assert len(seen) == 1 and "INSERT INTO colcw_document_export" in seen[0], seen  # the state and the line at once
    stored = db.session.execute(select(_LINES).where(_LINES.c.document_id == doc.id)).mappings().one()
    assert {c.name: stored[c.name] for c in columns} == row


def test_a_line_without_a_column_that_has_a_default_gets_the_default(app):
    uow = UnitOfWork(db.session)
    customer = uow.save_customer({"account_number": "LEC2", "name": "Line defaults"}, [{"first_name": "Di"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}])
    uow.commit()
    held = SimpleNamespace(id=doc.id, state=None, has_drift=False)
    save_lines(db.session, held, [{"document_id": doc.id, "line_id": 1, "cw_product_id": 2}], had_rows=False,
               state=STATE)
    db.session.commit()
    stored = db.session.execute(select(_LINES).where(_LINES.c.document_id == doc.id)).mappings().one()
    defaults = {c.name: c.default.arg for c in _LINES.c if c.default is not None and not c.default.is_callable}
    assert defaults and {name: stored[name] for name in defaults} == defaults
