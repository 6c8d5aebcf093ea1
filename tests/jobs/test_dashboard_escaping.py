"""rq-dashboard's job page puts a job's description, metadata and failure into its HTML unescaped; colcw's jobs
carry customer names there, so colcw escapes them in the job's data before the page sees them."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from colcw_plugin.models import SyncRun
from colcw_plugin.views.dashboard import RQ_PREFIX
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "ops@demo.example", "role": "admin"}
MARKUP = "<img src=x onerror=alert(1)>"


def test_a_customer_named_with_markup_shows_as_text_on_the_dashboards_job_page(jobs_app, admin_client, drain_queue):
    # The store's default rep, whom the export acts for, is not mapped: the job's failure names them.
    db.session.execute(update(User).where(User.first_name == "Dana", User.last_name == "Default")
                       .values(last_name=MARKUP))
    customer = services.save_customer({"account_number": f"X{MARKUP}", "name": f"Acme {MARKUP}", "state": "ZZ"})
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id}, actor=ADMIN).run
    drain_queue()
    db.session.expire_all()
    run = db.session.execute(select(SyncRun).where(SyncRun.id == run.id)).scalar_one()
    assert MARKUP in run.description  # the run names the customer, so its job's description holds the markup
    assert run.status == "failed"

    data = admin_client.get(f"{RQ_PREFIX}/0/data/job/{run.rq_job_id}.json").get_json()

    for key in ("description", "metadata"):
        assert "<img" not in data[key] and "&lt;img src=x onerror=" in data[key], key
    assert "<img" not in data["exc_info"] and f"Dana {escape(MARKUP)} is not mapped" in data["exc_info"]
    # Unescaped, the metadata is still the job's meta as JSON.
    import html

    assert json.loads(html.unescape(data["metadata"]))["description"] == run.description
