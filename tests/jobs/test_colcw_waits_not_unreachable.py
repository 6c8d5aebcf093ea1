"""A record deferred for a wait of colcw's own (colcw_plugin/sync/jobs/waits.py: another run holding it, an earlier
create that may still land, colcw's database) does not count toward ConnectWise being taken as unreachable
(``COLCW_UNREACHABLE_AFTER``), whichever service defers it: the recorder tells it by its class. Records that
ConnectWise failed do count. Real PostgreSQL."""

from __future__ import annotations

import pytest

from colcw_plugin.cw.errors import NetworkError
from colcw_plugin.sync.customers.exclusive import HeldElsewhere
from colcw_plugin.sync.jobs.database import DatabaseUnavailable
from colcw_plugin.sync.jobs.recorder import RunRecorder, Unreachable
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes.intents import CreateStillLanding
from helpers import runtime
from host_stub.extensions import db


def _recorder() -> RunRecorder:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    recorder = RunRecorder(db.engine, run.id, unreachable_after=3)
    recorder.start()
    return recorder


def test_colcws_own_waits_do_not_make_connectwise_unreachable(app):
    recorder = _recorder()
    waits = [HeldElsewhere("another import of Company 1 is still running"),
             CreateStillLanding("the opportunity may still be created"),
             DatabaseUnavailable("sorry, too many clients already"),
             HeldElsewhere("another export of Company 4 is still running")]
    for key, error in enumerate(waits, start=1):
        recorder.defer(entity="customer", key=key, label=f"Company {key}", error=error)
    assert recorder.streak == 0 and len(recorder.deferred) == 4
    recorder.finish()


def test_records_connectwise_failed_do(app):
    recorder = _recorder()
    for key in (1, 2):
        recorder.defer(entity="customer", key=key, label=f"Company {key}", error=NetworkError("timed out", sent=True))
    with pytest.raises(Unreachable):
        recorder.defer(entity="customer", key=3, label="Company 3", error=NetworkError("timed out", sent=True))
    recorder.finish()
