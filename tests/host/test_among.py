"""``host_stub.bulk.among``: "column IN (values)" for a page's thousands of values, on SQLite and PostgreSQL.

On PostgreSQL whole numbers go as one text the database splits (not a list the driver dumps element by
element); the rows selected, and the planner's picture of how many values there are, stay what a list gave."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text

from host_stub.bulk import among, on_postgresql
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = [pytest.mark.postgres]


def _customers(n: int) -> list[int]:
    db.session.execute(insert(Customer), [{"account_number": f"AM{i:05d}", "name": f"Among {i}"} for i in range(n)])
    db.session.flush()
    return db.session.execute(select(Customer.id).order_by(Customer.id)).scalars().all()


def test_whole_numbers_select_exactly_the_rows_they_name(any_app):
    ids = _customers(30)
    wanted = ids[::3] + [max(ids) + 1000]  # one that names no row
    assert db.session.execute(select(Customer.id).where(among(db.session, Customer.id, wanted))
                              .order_by(Customer.id)).scalars().all() == ids[::3]
    assert db.session.execute(select(Customer.id).where(among(db.session, Customer.id, []))).all() == []
    # Given once as a generator: read once.
    assert len(db.session.execute(select(Customer.id).where(among(db.session, Customer.id, iter(ids[:4]))))
               .all()) == 4


def test_text_values_are_still_matched_as_text(any_app):
    _customers(5)
    names = ["AM00001", "AM00003", "it's, {quoted}"]
    assert db.session.execute(select(Customer.account_number).where(
        among(db.session, Customer.account_number, names)).order_by(Customer.account_number)).scalars().all() == \
        ["AM00001", "AM00003"]


def test_a_value_that_is_not_a_whole_number_fails_before_the_database(app):
    with pytest.raises((TypeError, ValueError)):
        db.session.execute(select(Customer.id).where(among(db.session, Customer.id, [1, "two"])))


def test_postgresql_plans_the_split_text_as_a_constant_array(app):
    """The planner folds the split text into a constant array, as it did a list: only a constant array is
    searched by hash when a scan reads many rows (a text merely cast to the array type stays an expression, searched
    element by element for every row), and the planner still knows how many values there are."""
    assert on_postgresql(db.session)
    ids = _customers(3000)
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))  # the table's size known, as after a bulk import's first page
    for some in (ids[:2000], ids[:5]):
        stmt = select(Customer.id).where(among(db.session, Customer.id, some))
        compiled = stmt.compile(dialect=db.engine.dialect)
        plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON, VERBOSE) " + str(compiled),
                                                       compiled.params).scalar()
        node = plan[0]["Plan"]
        condition = node.get("Index Cond") or node.get("Filter") or node.get("Recheck Cond") or \
            node["Plans"][0].get("Index Cond")
        first = ",".join(map(str, some[:3]))
        assert f"ANY ('{{{first}," in condition and "'::integer[])" in condition, condition[:200]
        assert len(some) * 0.5 <= node["Plan Rows"] <= len(some) * 2, (len(some), node["Plan Rows"])
