"""A run pausing between two tries of a request whose connection dropped says what happened ("the connection to
ConnectWise failed: trying the request again"), not that ConnectWise answered with an error: a dropped connection
is no answer (QA, a rep's export under faults)."""

from __future__ import annotations

import pytest
from customers.customer_support import make_customer
from sqlalchemy import select, update

from colcw_plugin.cw.errors import NetworkError, ServerError
from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.recorder import RETRYING_REQUEST, RunRecorder
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _running_recorder() -> tuple[int, RunRecorder]:
    customer = make_customer()
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id}).run
    runtime().queue.withdraw(run)
    now = utcnow()
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=now, heartbeat_at=now, attempts=1, total=1))
    db.session.commit()
    recorder = RunRecorder(db.engine, run.id)
    recorder.close()
    return run.id, recorder


def _reason(run_id: int) -> str:
    db.session.expire_all()
    return db.session.execute(select(SyncRun.waiting_reason).where(SyncRun.id == run_id)).scalar_one()


@pytest.mark.parametrize("error, said", [
    (NetworkError("connection dropped", sent=True), "the connection to ConnectWise failed"),
    (ServerError("HTTP 503", status=503), "ConnectWise answered HTTP 503"),
])
def test_a_retry_pause_says_what_happened(jobs_app, error, said):
    run_id, recorder = _running_recorder()
    recorder.note_retry_wait(error, 2)
    assert _reason(run_id) == f"{said}{RETRYING_REQUEST}"
