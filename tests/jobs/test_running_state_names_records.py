"""A running run's state on a customer's page (history.state_text) counts its records as the run's kind names them
("running (3 of 40 customers)", "companies" for an import of chosen companies), as every other run message does, not
"3 / 40 records"."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import history
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


@pytest.mark.parametrize("kind, entity, said", [
    ("customer_export", "customer", "running (3 of 40 customers)"),
    ("customer_import", "customer", "running (3 of 40 companies)"),
    ("quote_export", "document", "running (3 of 40 quotes / orders)"),
])
def test_a_running_runs_state_counts_its_records_as_its_kind_names_them(app, kind, entity, said):
    rt = runtime()
    run = SyncRun(kind=kind, params={}, description="a run", trigger="manual", requested_by="admin@demo.example",
                  status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=40, done=3,
                  selection={"entity": entity, "key": "host", "direction": "export", "ids": list(range(1, 41))})
    db.session.add(run)
    db.session.commit()
    assert history.state_text(db.session, run, queue=rt.queue, kinds=rt.kinds) == said
    # One record in all: no count.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(total=1, done=0))
    db.session.commit()
    db.session.refresh(run)
    assert history.state_text(db.session, run, queue=rt.queue, kinds=rt.kinds) == "running"
