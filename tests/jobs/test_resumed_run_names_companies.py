"""A resumed run's message counts its records as its kind names them (as its interrupted message, its Retry button and
its cancel message do): an import of chosen companies resumed by an admin says "after 2 of 4 companies", and once the
scheduler resumed it, its new attempt says "at 2 of 4 companies", not "records"."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.orm import Session
from test_stopped_worker_names_companies import COMPANIES, JOBS, _import_of_chosen_companies, _text

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.kinds import KindRegistry
from colcw_plugin.sync.jobs.runs import execute_run
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def test_an_import_of_chosen_companies_resumed_by_an_admin_counts_the_companies_it_reached(admin_client, jobs_app):
    # Given up after its second interruption: the two it never reached were closed "not attempted" (counted in done).
    run = _import_of_chosen_companies(status="interrupted", done=4, counts={"created": 2, "not_attempted": 2},
                                      message="Interrupted: the worker stopped after 2 of 4 companies.")
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    resp = admin_client.post(f"{JOBS}/runs/{run.id}/resume", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302

    said = "Resumed by admin@demo.example after 2 of 4 companies."
    db.session.expire_all()
    resumed = db.session.get(SyncRun, run.id)
    assert (resumed.status, resumed.message) == ("queued", said)
    assert said in _text(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True))


def test_the_attempt_the_scheduler_resumed_says_how_far_it_got_in_companies(admin_client, jobs_app, cw_client,
                                                                          monkeypatch):
    tune_runtime(monkeypatch, jobs_app, auto_resumes=1)
    beat = dt.datetime(2026, 7, 1, 18, 30, 5)
    run = _import_of_chosen_companies(status="running", started_at=beat, heartbeat_at=beat,
                                      counts={"created": 2}, entity_counts={"customer": {"created": 2}})
    db.session.add_all(SyncItem(run_id=run.id, entity="customer", direction="import", cw_id=cw_id, action="created",
                                label=f"Company {cw_id}") for cw_id in COMPANIES[:2])  # the two it did
    db.session.commit()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60,
                                       kinds=runtime().kinds) == [run.id]
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).message.startswith("Interrupted: the worker stopped after 2 of 4 companies")

    # The resumed attempt, as a worker runs it, with the import's kind; its service looks at the run's page (another
    # session, as the page reads the run) while it works, then stops short of ConnectWise.
    seen: list[str] = []

    def looks(ctx) -> str:
        with Session(bind=ctx.session.get_bind()) as other:
            seen.append(other.get(SyncRun, ctx.run_id).message)
        seen.append(admin_client.get(f"/colcw/runs/{ctx.run_id}/status.json").get_json()["message"])
        return "looked"

    importing = runtime().kinds["customer_import"]
    kinds = KindRegistry([dataclasses.replace(importing, run=looks)])
    execute_run(db.session, kinds, run.id, make_client=lambda *a, **k: cw_client, client=cw_client)

    said = "Resumed automatically after its worker stopped, at 2 of 4 companies; the records already done are skipped."
    assert seen == [said, said], seen
