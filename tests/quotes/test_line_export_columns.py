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


def test_a_row_without_a_column_whose_default_is_a_function_or_the_databases_gets_it_at_each_execution(app):
    """The JSON rows' INSERT (the lines' builder) gives a column with a Python function default (``default=utcnow``)
    the function's value at each execution of the statement, built once and kept, and a column with a server default
    the database's: not NULL (1506eae named such columns and wrote NULL into them), nor the value of the statement's
    build."""
    from sqlalchemy import Column, DateTime, MetaData, Table, func, text

    from colcw_plugin.sync.quotes import bookkeeping as B

    ticks = iter(range(1, 100))

    def stamp():
        return dt.datetime(2026, 12, 1) + dt.timedelta(minutes=next(ticks))

    table = Table("colcw_test_json_row_defaults", MetaData(), Column("id", Integer, primary_key=True),
                  Column("n", Integer), Column("at", DateTime, default=stamp),
                  Column("label", String(20), server_default="it's none"), Column("size", Integer,
                                                                                  server_default=text("7")),
                  Column("made", DateTime, server_default=func.now()), Column("kind", String(10), default="plain"))
    columns = [c for c in table.c if not c.primary_key]
    table.create(db.engine)
    try:
        stmt = B._insert_from_json(table, columns, "t_", "rows").returning(table.c.id)
        ids = []
        for rows in ([{"n": 1}, {"n": 2, "at": "2020-01-02T03:04:05", "label": "given", "size": 3, "kind": "k"}],
                     [{"n": 3, "at": None}]):
            ids += db.session.execute(stmt, {"rows": rows, **B._default_params(columns, "t_")}).scalars().all()
        db.session.commit()
        got = {r.n: r for r in db.session.execute(select(table).where(table.c.id.in_(ids))).all()}
        assert got[1].at == dt.datetime(2026, 12, 1, 0, 1)  # the function's, at the first execution
        assert got[3].at == dt.datetime(2026, 12, 1, 0, 2)  # called again at the second, not kept from the first
        assert (got[1].label, got[1].size, got[1].kind) == ("it's none", 7, "plain")
        assert got[1].made is not None and got[3].made is not None
        assert (got[2].at, got[2].label, got[2].size, got[2].kind) == (dt.datetime(2020, 1, 2, 3, 4, 5), "given", 3,
                                                                      "k")
    finally:
        db.session.rollback()
        table.drop(db.engine)
