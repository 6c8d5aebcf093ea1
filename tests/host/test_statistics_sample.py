"""``host_stub.bulk.refresh_statistics`` after a bulk load: the tables' size and keys known to the planner from a small
sample, not PostgreSQL's default 30,000 rows (which read most of a 10,000-company import's links at the end of its
run)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from host_stub.bulk import STATISTICS_SAMPLE, refresh_statistics
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = [pytest.mark.postgres]


def test_statistics_are_taken_from_a_small_sample_and_the_size_is_known(app):
    n = 6000
    db.session.execute(insert(Customer), [{"account_number": f"ST{i:05d}", "name": f"Sampled {i}"} for i in range(n)])
    db.session.commit()
    default = db.session.execute(text("SHOW default_statistics_target")).scalar()
    refresh_statistics(db.session, {"customers": ["id", "account_number"]})
    # Only those statements sample less: the transaction's later ones (and other sessions) keep the default.
    assert db.session.execute(text("SHOW default_statistics_target")).scalar() == default
    db.session.commit()
    bounds, distinct = db.session.execute(text(
        "SELECT array_length(histogram_bounds::text::text[], 1), n_distinct FROM pg_stats "
        "WHERE tablename = 'customers' AND attname = 'account_number'")).one()
    # A histogram as many buckets wide as the sample allows (the default sample gives 100).
    assert bounds <= STATISTICS_SAMPLE // 300 + 1, bounds
    assert distinct == -1  # still known to be unique: a look-up by it reads one row
    rows = db.session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'customers'")).scalar()
    assert n / 2 <= rows <= n * 2, rows
