"""A run pausing between two tries of a request whose connection dropped says what happened ("the connection to
ConnectWise failed: trying the request again"), not that ConnectWise answered with an error: a dropped connection
is no answer (QA, a rep's export under faults)."""

from __future__ import annotations

import pytest
from customers.customer_support import make_customer
from sqlalchemy import select
from test_retry_pause_time_kept import _running_export

from colcw_plugin.cw.errors import NetworkError, ServerError
from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.recorder import RETRYING_REQUEST
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _reason(run_id: int) -> str:
    db.session.expire_all()
    return db.session.execute(select(SyncRun.waiting_reason).where(SyncRun.id == run_id)).scalar_one()


@pytest.mark.parametrize("error, said", [
    (NetworkError("connection dropped", sent=True), "the connection to ConnectWise failed"),
    (ServerError("HTTP 503", status=503), "ConnectWise answered HTTP 503"),
])
def test_a_retry_pause_says_what_happened(jobs_app, error, said):
    run_id, recorder = _running_export(make_customer().id)
    recorder.note_retry_wait(error, 2)
    assert _reason(run_id) == f"{said}{RETRYING_REQUEST}"
