"""A run's page shows the ConnectWise requests its attempt sent while a document is still under way (a slow
ConnectWise), not "ConnectWise requests 0" until the document has its outcome: written about once a second by the
process's one ticker thread (recorder._Ticker), for each run one after another, not by a thread each run starts."""

from __future__ import annotations

import threading

from quote_support import line, wait_until

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

SLOW_MS = 4000  # the opportunity's POST: the run stays under way that long after its first requests


def _fresh(app, run_id: int) -> SyncRun:
    with app.app_context():
        try:
            return db.session.get(SyncRun, run_id)
        finally:
            db.session.remove()


def test_each_run_shows_its_requests_while_its_document_is_under_way(world, app):
    world.export(world.quote([line("OPT-7010")], name="Warm-up deal").id)
    world.sandbox.add_fault(latency_ms=SLOW_MS, method="POST", path=r"sales/opportunities$")
    for n in range(2):  # the second run's requests too: the ticker goes on for the runs after the first
        doc = world.quote([line("LAT-5440")], name=f"Slow deal {n}")
        run_id = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id}).id
        db.session.commit()
        results = []

        def go(run_id=run_id, results=results):
            with app.app_context():
                results.append(runtime().execute(db.session, run_id).status)
                db.session.remove()

        worker = threading.Thread(target=go)
        worker.start()
        try:
            under_way = wait_until(lambda run_id=run_id: (lambda r: r if r.api_requests and r.done == 0 else None)(
                _fresh(app, run_id)), timeout=SLOW_MS / 1000 - 1,
                message="the run's requests to show while its document is under way")
            assert under_way.status == "running" and under_way.api_requests >= 2, under_way.api_requests
        finally:
            worker.join(60)
        assert results == ["succeeded"]
        done = _fresh(app, run_id)
        assert done.done == 1 and done.api_requests >= under_way.api_requests
