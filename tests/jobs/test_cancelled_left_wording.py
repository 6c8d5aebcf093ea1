"""A cancelled run's message and the lines of the records it left say the same thing of them: a record it tried
(and ConnectWise failed transiently) is "tried, not done", one it never started "not attempted", and the run's
message counts both as "not done" — never "not reached" for a record its own line says was tried."""

from __future__ import annotations

import pytest
from jobs_support import run_to_end
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.cw.errors import ServerError
from colcw_plugin.models import SyncItem
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _tries_one_then_is_cancelled(ctx: SyncContext) -> str:
    """Two records selected: the first fails transiently (to be tried again later in the run), then an admin cancels
    the run before the second is started."""
    ctx.recorder.set_total(2, entity="test", ids=[1, 2])
    ctx.recorder.defer(entity="test", key=1, label="item 1", error=ServerError("Service unavailable", status=503))
    with Session(bind=ctx.session.get_bind()) as other:
        assert recovery.cancel(other, runtime().queue, ctx.run_id, actor=ADMIN).status == "cancelling"
    ctx.recorder.flush()
    ctx.recorder.stop_if_requested()
    return "not reached here"


KIND = JobKind(name="test_tried_then_cancelled", label="Test tried then cancelled", run=_tries_one_then_is_cancelled,
               describe=lambda session, p, scheduled=False: "Two test items, the first tried")


def test_the_runs_message_counts_what_its_records_lines_say_they_are(jobs_app):
    run = run_to_end(KIND)
    assert run.status == "cancelled"
    lines = dict(db.session.execute(select(SyncItem.label, SyncItem.message).where(SyncItem.run_id == run.id)).all())
    assert lines["item 1"].startswith("item 1: tried, not done: the run was cancelled by admin@demo.example ("), lines
    assert lines["test #2"] == "test #2: the run was cancelled by admin@demo.example.", lines  # (not attempted: its outcome)
    assert run.message == "Cancelled by admin@demo.example while running (0 of 2 tests done; 2 not done)."
