"""A page number too large for the database (typed or mangled in an address) opens a list's last page, as a page just
past the last does, on every list with pages: colcw's and the host's own, on SQLite (the demo) and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import insert

from colcw_plugin.models import SyncItem, SyncRun
from helpers import sign_in
from host_stub.extensions import db
from host_stub.models import utcnow
from host_stub.seed import seed_demo

ADMIN = "/admin/integration/connectwise"
HUGE = "99999999999999999999"  # past SQLite's INTEGER and PostgreSQL's bigint


def _run_with_items(n: int) -> SyncRun:
    run = SyncRun(kind="customer_export", status="succeeded", trigger="manual", params={}, created_at=utcnow(),
                  started_at=utcnow(), finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    db.session.execute(insert(SyncItem), [
        {"run_id": run.id, "at": utcnow(), "entity": "customer", "direction": "export", "host_id": i,
         "action": "created", "label": f"Customer {i:03d}", "message": "", "resolution": ""} for i in range(1, n + 1)])
    db.session.commit()
    return run


@pytest.mark.parametrize("page", [HUGE, "1000000000000", "9223372036854775807"])
def test_a_huge_page_number_shows_the_last_page_of_each_colcw_list(any_app, page):
    client = sign_in(any_app.test_client(), "admin@demo.example")
    run = _run_with_items(130)  # two pages of its log (100 a page), three of the synced customers (50 a page)

    history = client.get(f"{ADMIN}/jobs?tab=history&page={page}")
    assert history.status_code == 200
    text = html.unescape(history.get_data(as_text=True))
    assert f'data-run="{run.id}"' in text
    assert f"Page {page} is past the last page of this history (1): showing page 1." in text

    log = client.get(f"{ADMIN}/jobs/runs/{run.id}?page={page}")
    assert log.status_code == 200
    text = log.get_data(as_text=True)
    assert "Customer 130" in text and "Customer 001" not in text  # the last page, as for ?page=3
    assert text.count("Customer 1") == client.get(f"{ADMIN}/jobs/runs/{run.id}?page=3").get_data(
        as_text=True).count("Customer 1")

    synced = client.get(f"{ADMIN}/synced/customer?page={page}")
    assert synced.status_code == 200
    text = synced.get_data(as_text=True)
    assert "Customer 001" in text and "Customer 130" not in text  # newest first: the last page holds the first ones

    assert client.get(f"{ADMIN}/customers/map?page={page}").status_code == 200


@pytest.mark.parametrize("page", [HUGE, "1000000000000"])
def test_a_huge_page_number_shows_the_last_page_of_the_hosts_lists(any_app, page):
    seed_demo(db.session, customers=60, quotes=0)
    db.session.commit()
    client = sign_in(any_app.test_client(), "riley@demo.example")
    last = client.get("/customers/?page=3").get_data(as_text=True)
    huge = client.get(f"/customers/?page={page}")
    assert huge.status_code == 200
    assert "Page 3 of 3" in huge.get_data(as_text=True)
    assert client.get(f"/quotes/?page={page}").status_code == 200
    assert "Page 3 of 3" in last
