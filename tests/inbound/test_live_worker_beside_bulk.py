"""A live update never waits behind a bulk run: it goes on colcw's live queue, and a worker of its own (``colcw worker
--queues live``, as ``make demo`` runs one) does it within seconds while the general worker is held by a long bulk run
(QA: with one worker, Q1013 said "Lost in ConnectWise" 1.5 minutes after it was set Won, its run "Queued"). Real
``colcw worker`` processes, the sandbox's callbacks to a live host."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from inbound_support import cw_status, enable, line, settle, wait_for
from rq import Worker

from colcw_plugin.models import HOST_MASTER, SyncRun
from helpers import runtime
from host_stub.extensions import db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
import colcw_test_kinds  # noqa: E402
from jobs_support import Processes, wait_until, worker_env  # noqa: E402

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


@pytest.fixture()
def processes():
    procs = Processes()
    yield procs
    procs.stop_all()


def _status(run_id: int) -> str:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id).status


def test_won_in_connectwise_shows_within_seconds_while_a_bulk_run_holds_the_general_worker(app, world, live_server,
                                                                                            processes):
    colcw_test_kinds.register(runtime().kinds)
    quote = world.quote([line("OPT-7010", qty=2)], name="Backup project")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    queue = runtime().queue
    processes.start(["colcw", "worker"], worker_env(app))
    processes.start(["colcw", "worker", "--queues", "live"], worker_env(app))
    wait_until(lambda: len(Worker.all(connection=queue.connection)) == 2, message="both workers to listen")
    settle(world.sandbox)  # (the catch-up pass Live updates queued)

    # A bulk run holds the general worker for a minute.
    bulk = runtime().submit(db.session, "test_count", {"n": 1, "stall_at": 1, "stall_seconds": 60}, actor=ADMIN).run
    bulk_id = bulk.id
    wait_until(lambda: _status(bulk_id) == "running", message="the bulk run to start")

    world.sandbox.set_opportunity_status(opp["id"], "Won")
    won = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "won" and s, timeout=15,
                   what="Won to show on the quote")
    assert won.label.startswith("Won in ConnectWise on ")
    assert _status(bulk_id) == "running"  # the live worker did it, beside the bulk run
