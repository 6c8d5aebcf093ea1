"""The admin's pages over the sync history (a run's page and its log, filtered or not; the Connection page's synced
items and their list) read no more of it as it grows: a run of 100,000 more results, a million imported results
and 20,000 more runs later, their statements read as many rows of the history as before (issue 14: pages that do
not slow down as the history grows; runs are kept 90 days).

Each statement is planned as PostgreSQL plans it with its values, and as it plans it once psycopg has prepared it on a
connection (at its sixth run): without the values of its parameters. A partial index serves a statement only where
its text says the values the index's condition names (models.constant); before, a run's page counted its failures by
reading all its results (280 ms for a run of 300,000), and the Connection page read every recent result, imports
included, to count the exports (131 ms with 1.3 million)."""

from __future__ import annotations

import re

import pytest
from budget_support import grow_history, plans, rows_read, short_history
from htmx_loads import loaded
from sqlalchemy import event, text

from helpers import sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.postgres

ADMIN = "/admin/integration/connectwise"
HISTORY = ("colcw_sync_items", "colcw_sync_runs")
# The log's count of a run's results, for its pager: the one statement that reads each result of the run it shows
# (an index-only count; a page of the log itself reads its 100).
LOG_COUNT = re.compile(r"^SELECT count\(\*\) AS count_1\s+FROM \(SELECT colcw_sync_items\.id AS id, .*"
                       r"WHERE colcw_sync_items\.run_id = %\(run_id_1\)s::INTEGER\) AS anon_1$", re.S)


@pytest.fixture()
def history(app):
    """A customer import that partly failed: 1,000 results, 10 of them failed, and the earlier run it retried; and a
    customer export of 1,000 customers (the exports of the last days)."""
    return short_history()


def _pages(ids: dict) -> dict[str, str]:
    run = ids["run"]
    return {"run page": f"{ADMIN}/jobs/runs/{run}", "its failed": f"{ADMIN}/jobs/runs/{run}?action=failed",
            "its not attempted": f"{ADMIN}/jobs/runs/{run}?action=not_attempted",
            "the run it retried": f"{ADMIN}/jobs/runs/{ids['earlier']}",
            "connection page": f"{ADMIN}/", "synced customers": f"{ADMIN}/synced/customer"}


def _statements(app, path: str) -> list[tuple[str, dict]]:
    """The statements on the sync history a GET of ``path`` (and what it loads after it is shown) runs."""
    with app.app_context():
        client = sign_in(app.test_client(), "admin@demo.example")
        seen: list[tuple[str, dict]] = []

        def keep(conn, cursor, statement, parameters, *args):
            if any(t in statement for t in HISTORY):
                seen.append((statement, dict(parameters or {})))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            loaded(client, path)
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
    return seen


def _history_reads(app, path: str) -> tuple[int, list[str], int]:
    """The most rows of the sync history any plan of the page's statements reads (the log's count of the run's
    results left out), in all; the plans' nodes on it; how many statements."""
    statements = [(s, p) for s, p in _statements(app, path) if not LOG_COUNT.match(s)]
    assert statements, f"{path} read no sync history"
    rows, nodes = 0, []
    with app.app_context(), db.engine.connect() as conn:
        for statement, parameters in statements:
            reads = [rows_read(plan, HISTORY) for plan in plans(conn, statement, parameters)]
            rows += max(r for r, _ in reads)
            nodes += [n for _, ns in reads for n in ns]
    return rows, nodes, len(statements)


def _grow(run_id: int) -> None:
    """100,000 more results of the import (none failed), 20,000 more imports with a million results between them, all
    of today; analysed, as autovacuum leaves a table of that size."""
    with db.engine.begin() as conn:
        grow_history(conn, run_id, results=100_000, runs=20_000, history=1_000_000)
        assert conn.execute(text("SELECT count(*) FROM colcw_sync_items")).scalar() > 1_100_000
        conn.execute(text("ANALYZE colcw_sync_items"))
        conn.execute(text("ANALYZE colcw_sync_runs"))


def test_the_admins_history_pages_read_no_more_of_the_history_as_it_grows(app, history):
    pages = _pages(history)
    before = {name: _history_reads(app, path) for name, path in pages.items()}
    with app.app_context():
        _grow(history["run"])
    after = {name: _history_reads(app, path) for name, path in pages.items()}
    for name in pages:
        rows_before, _, statements_before = before[name]
        rows_after, nodes, statements_after = after[name]
        assert statements_after == statements_before, name
        assert not [n for n in nodes if n.startswith("Seq Scan")], (name, nodes)
        # (small tables may be read whole; grown ones never)
        assert rows_after <= rows_before, (name, rows_before, rows_after, nodes)


def test_a_run_page_reads_the_failed_results_once(app, history):
    """Its Retry button counts them and makes the retry's params from them: one read, not one each."""
    failed_reads = [s for s, _ in _statements(app, _pages(history)["run page"])
                    if s.startswith("SELECT colcw_sync_items.id,") and "action IN ('failed', 'not_attempted')" in s]
    assert len(failed_reads) == 1, failed_reads
