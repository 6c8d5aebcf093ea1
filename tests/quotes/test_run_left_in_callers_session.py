"""A run executed on a scoped session (a web request's or a worker's db.session) works on that thread's session
itself: the export's writes are committed, and the run it returns is the caller's session's own (in it, as written,
nothing pending), whatever the scoped session hands out."""

from __future__ import annotations

import pytest
from quote_support import line
from sqlalchemy import inspect, select

from colcw_plugin.models import DocumentExport, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def test_a_run_on_the_scoped_session_ends_in_the_callers_session(world):
    doc = world.quote([line("OPT-7011")], name="Scoped deal")
    run_id = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id}).id
    db.session.commit()
    done = runtime().execute(db.session, run_id)
    assert done.status == "succeeded", done.message
    assert done in db.session and db.session.get(SyncRun, run_id) is done
    assert not inspect(done).modified and not db.session.dirty and not db.session.new
    db.session.rollback()  # (nothing of the run left uncommitted)
    assert db.session.execute(select(DocumentExport.status).where(DocumentExport.document_id == doc.id)).scalar() \
        == "exported"
    assert db.session.get(SyncRun, run_id).status == "succeeded"
