"""The jobs pages say which of colcw's two queues no worker takes — a worker started with ``--queues live`` takes
only live updates and one-record runs, so with it alone bulk runs never start — not that no worker runs at all."""

from __future__ import annotations

import html

import pytest
from rq import SimpleWorker

from colcw_plugin.sync.jobs.scheduler import missing_processes
from helpers import runtime

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

CMD = "flask --app host_stub colcw"


def _worker(queues) -> SimpleWorker:
    """A worker as RQ registers it in Redis (what a ``colcw worker`` on any machine writes)."""
    worker = SimpleWorker(list(queues), connection=runtime().queue.connection)
    worker.register_birth()
    return worker


def test_with_only_a_live_worker_the_pages_say_bulk_runs_have_no_worker(jobs_app, redis_conn, admin_client):
    queue = runtime().queue
    assert missing_processes(queue, CMD)[0].startswith("No colcw worker is running: queued runs wait until one starts.")

    live = _worker([queue.live])  # colcw worker --queues live
    try:
        said = missing_processes(queue, CMD)[0]
        assert said == (f"No colcw worker takes the general queue (“{queue.name}”): bulk runs (exports and imports of "
                        "many records, scheduled jobs) stay queued until one does; the running worker takes only "
                        "live updates and one-record runs (“--queues live”). Start one with "
                        f"“{CMD} worker” (on any machine that shares this database and Redis).")
        page = html.unescape(admin_client.get("/admin/integration/connectwise/jobs").get_data(as_text=True))
        assert said in page and "No colcw worker is running" not in page

        general = _worker([queue.rq])  # a worker on the general queue alone (an rq worker started by hand)
        live.register_death()
        said = missing_processes(queue, CMD)[0]
        assert said.startswith(f"No colcw worker takes the live queue (“{queue.live.name}”): live updates and "
                               "one-record runs stay queued until one does."), said
        both = _worker(queue.queues)  # colcw worker: both queues
        general.register_death()
        assert not any(m.startswith("No colcw worker") for m in missing_processes(queue, CMD))
        both.register_death()
    finally:
        live.register_death()
