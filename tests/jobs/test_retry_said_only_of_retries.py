"""The jobs page says "(retry …)" of a customer export or import only when the run is a retry: an export queued for
some customers (not a Retry) read "Export customers RW1 and RW2 to ConnectWise (retry)", as if it redid another run,
because the description took "(retry)" from the params' shape. A true retry still says which run it retries."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import utcnow
from host_stub.services import save_customer

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def _customer(number: str) -> int:
    return save_customer({"name": f"Plain Words {number}", "account_number": number, "active": True,
                          "address1": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301",
                          "country": "United States", "phone": "512-555-0100", "location_code": ""}, []).id


def _row_of(page: str, run_id: int) -> str:
    row = page[page.index(f'data-run="{run_id}"'):]
    return row[:row.index("</tr>")]


def test_an_export_of_some_customers_says_retry_only_when_it_is_one(admin_client, jobs_app):
    ids = [_customer("RW1"), _customer("RW2")]
    plain = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": ids}, actor=None)
    imported = create_run(db.session, runtime().kinds, "customer_import", {"company_ids": [9001, 9002]}, actor=None)
    plain.status, plain.finished_at, plain.done, plain.total = "partial", utcnow(), 2, 2
    plain.counts = {"updated": 1, "failed": 1}
    imported.status, imported.finished_at = "succeeded", utcnow()
    db.session.execute(insert(SyncItem), [
        {"run_id": plain.id, "at": utcnow(), "entity": "customer", "direction": "export", "host_id": ids[0],
         "action": "failed", "label": "Plain Words RW1 (RW1)", "message": "x", "resolution": "y"},
        {"run_id": plain.id, "at": utcnow(), "entity": "customer", "direction": "export", "host_id": ids[1],
         "action": "updated", "label": "Plain Words RW2 (RW2)", "message": "", "resolution": ""}])
    db.session.commit()
    plain_id, imported_id = plain.id, imported.id

    page = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    row = _row_of(page, plain_id)
    assert "Export customers RW1 and RW2 to ConnectWise" in row, row
    assert "retry" not in row.lower(), row
    row = _row_of(page, imported_id)
    assert "Import companies id 9001 and id 9002 from ConnectWise" in row, row
    assert "retry" not in row.lower(), row

    run_page = admin_client.get(f"{JOBS}/runs/{plain_id}").get_data(as_text=True)
    resp = admin_client.post(f"{JOBS}/runs/{plain_id}/retry", data={"csrf_token": csrf_from(run_page)})
    assert resp.status_code == 302
    retry = db.session.execute(select(SyncRun).where(SyncRun.retry_of_id == plain_id)).scalar_one()
    page = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    assert f"Export customer RW1 to ConnectWise (retry of #{plain_id})" in _row_of(page, retry.id)
    assert "retry" not in _row_of(page, plain_id).lower()
