"""Reading a big run's results is bounded: the run log's page reads its page of results and counts the rest in SQL,
and an import's Retry finds the companies of failed contacts by reading only the company results it names, not
every company the run imported."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.customers.kinds import _companies_of_contacts
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
BIG = 600


@contextmanager
def result_rows_read():
    """How many rows of colcw_sync_items the statements sent while the block runs returned (each SELECT's rows)."""
    read = [0]

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "colcw_sync_items" in statement and cursor.description:
            read[0] += max(cursor.rowcount, 0)

    event.listen(db.engine, "after_cursor_execute", count)
    try:
        yield read
    finally:
        event.remove(db.engine, "after_cursor_execute", count)


def _big_import(contacts: list[dict]) -> int:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.flush()
    rows = [{"run_id": run.id, "entity": "customer", "direction": "import", "cw_id": 1000 + n,
             "label": f"Company {n} (C{n})", "action": "unchanged"} for n in range(BIG)]
    rows.append({"run_id": run.id, "entity": "customer", "direction": "import", "cw_id": 9999,
                 "label": "Company 7 (SECOND)", "action": "unchanged"})  # a later one of that name: the first counts
    rows += [{"run_id": run.id, "entity": "contact", "direction": "import", **c} for c in contacts]
    db.session.execute(insert(SyncItem), rows)
    db.session.commit()
    return run.id


def test_a_big_runs_log_page_reads_one_page_of_results(jobs_app, admin_client):
    run_id = _big_import([])
    with result_rows_read() as read:
        page = admin_client.get(f"{JOBS}/runs/{run_id}?page=2").get_data(as_text=True)
    assert "Company 100 (C100)" in page and "Company 199 (C199)" in page and "Company 200 (C200)" not in page
    assert f"{BIG + 1}" in page or "page=7" in page  # the pager knows the last page (the results counted)
    assert read[0] <= 100 + 5, read[0]


def test_an_imports_retry_reads_only_the_companies_its_failed_contacts_name(jobs_app):
    run_id = _big_import([
        {"label": "Ada Lovelace (company 7)", "action": "failed"},  # not held by the host: by its company's name
        {"label": "Grace Hopper (Company 42)", "action": "failed"},
        {"label": "Alan Turing (Company 4)", "action": "failed"},  # not Company 42's, nor Company 40's
        {"label": "Nobody (No Such Ltd)", "action": "failed"},
    ])
    run = db.session.get(SyncRun, run_id)
    failed = list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id, SyncItem.action == "failed"))
                  .scalars())
    with result_rows_read() as read:
        found = _companies_of_contacts(db.session, run, failed)
    assert found == {1007, 1042, 1004}
    assert read[0] <= 30, read[0]  # the companies named, not all 601
