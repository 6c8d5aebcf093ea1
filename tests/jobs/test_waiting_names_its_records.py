"""What waits for ConnectWise is counted as the run's kind names its records, also for a run that selected none by id
(an import of every company): "2 companies waiting for ConnectWise (HTTP 503 …)", not "2 records"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.cw.errors import ServerError
from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
JOBS = "/admin/integration/connectwise/jobs"


def _two_fail_transiently(ctx: SyncContext) -> str:
    """Counts its records (no ids), as an import of every company does; two of them fail transiently each pass."""
    ctx.recorder.set_total(2)
    for key in (101, 102):
        ctx.recorder.defer(entity="customer", key=key, label=f"Company {key}", from_connectwise=False,
                           error=ServerError("Service unavailable", status=503))
    return ""


KIND = JobKind(name="test_import_all_waits", label="Test import of every company", run=_two_fail_transiently,
               describe=lambda session, p, scheduled=False: "Import every test company",
               retry_entities={"customer": ("company", "companies")})


def test_a_run_of_counted_records_names_those_waiting_as_its_kind_does(admin_client, jobs_app, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, record_retry_intervals=(0,))  # one pass more, at once
    if KIND.name not in runtime().kinds:
        runtime().kinds.register(KIND)
    run = create_run(db.session, runtime().kinds, KIND.name, {}, actor=ADMIN)
    db.session.commit()
    runtime().execute(db.session, run.id, queued=True)  # one attempt: what still fails waits for the next

    db.session.expire_all()
    waiting = db.session.execute(select(SyncRun).where(SyncRun.id == run.id)).scalar_one()
    assert waiting.status == "waiting", (waiting.status, waiting.message)
    assert waiting.waiting_reason == "2 companies waiting for ConnectWise (HTTP 503 Service unavailable)", \
        waiting.waiting_reason
    assert "2 companies waiting for ConnectWise" in admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
