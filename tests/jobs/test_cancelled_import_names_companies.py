"""A cancelled run's message counts its records as its kind names them (its Retry button, its counts, a refused
login's message): an import of chosen companies cancelled while it waits for ConnectWise says "0 of 3 companies
done", not "0 of 3 records done"."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def test_an_import_of_chosen_companies_cancelled_while_waiting_counts_companies(admin_client, jobs_app):
    run = runtime().submit(db.session, "customer_import", {"company_ids": [101, 102, 103]}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(  # as its first attempt left it
        status="waiting", attempts=1, total=3, done=0, waiting_reason="ConnectWise keeps failing",
        selection={"entity": "customer", "key": "cw", "direction": "import", "ids": [101, 102, 103]}))
    db.session.commit()

    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    resp = admin_client.post(f"{JOBS}/runs/{run.id}/cancel", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302

    said = "Cancelled by admin@demo.example while waiting (0 of 3 companies done; 3 not done)."
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).message == said
    assert said in html.unescape(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True))
