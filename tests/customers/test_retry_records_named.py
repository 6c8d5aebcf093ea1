"""A retry's Records row names the kind of records it counted, as the run it retries does: a retry of one customer
without contacts recorded customers only, and said "1 created" where its run said "customers: …; contacts: …"."""

from __future__ import annotations

import html
import re

import pytest
from customer_support import solo_not_attempted_duo_exported

from colcw_plugin.models import SyncRun
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

JOBS = "/admin/integration/connectwise/jobs"


def _records(page: str) -> str:
    found = re.search(r'<dd id="run-records">(.*?)</dd>', page, re.S)
    assert found, page
    return html.unescape(found.group(1)).strip()


def test_a_retry_names_the_kind_of_records_it_counted_as_its_run_does(
        sync_ready, monkeypatch, app, redis_conn, drain_queue, admin_client):
    first = solo_not_attempted_duo_exported(sync_ready, monkeypatch, app)
    page = admin_client.get(f"{JOBS}/runs/{first.id}").get_data(as_text=True)
    assert _records(page) == "customers: 1 created, 1 not attempted; contacts: 2 created"

    sync_ready.clear_faults()
    resp = admin_client.post(f"{JOBS}/runs/{first.id}/retry", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    assert drain_queue() == 1
    retry = db.session.query(SyncRun).filter(SyncRun.retry_of_id == first.id).one()
    db.session.refresh(retry)
    assert retry.status == "succeeded", retry.message
    page = admin_client.get(f"{JOBS}/runs/{retry.id}").get_data(as_text=True)
    assert _records(page) == "customers: 1 created"
    # Said once: the bar's message is the counts alone, so it does not repeat them.
    assert "colcw-progress-message" not in page
    history = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    row = history.split(f'/runs/{retry.id}"')[1].split("</tr>")[0]
    assert "customers: 1 created" in html.unescape(row), row
