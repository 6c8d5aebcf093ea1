"""Job kinds for the tests of the RQ glue (imported by test worker subprocesses through
``COLCW_EXTRA_JOB_MODULES=colcw_test_kinds``).

``test_count`` records ``n`` items. Each item's effect is pushed to a Redis list so a test can
count effects (nothing done twice), and every attempt is counted. Params:

* ``n``: items; ``sleep``: seconds per item;
* ``stall_at`` / ``stall_seconds``: sleep long before that item (first attempt only) so a test
  can kill the worker at a known point;
* ``fail``: ``"permanent"`` (a ConnectWise 400) or ``"transient"`` (a 503, for the first
  ``transient_times`` attempts);
* ``ask``: each item sends one ConnectWise request, and pushes the requests its run's row shows
  after the item (read by another session, as the run's page reads it) to ``seen_key``;
* ``one``: the run works on one record a person waits for (``JobKind.one_record``): colcw's worker runs it in its
  own process. Every run stores the id of the process that ran it at ``pid_key``.
"""

from __future__ import annotations

import os
import time

from flask import current_app
from redis import Redis
from sqlalchemy.orm import Session

from colcw_plugin.cw.errors import BadRequest, ServerError
from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.kinds import JobKind, KindRegistry, SyncContext


def effects_key(run_id: int) -> str:
    return f"colcw-test:effects:{run_id}"


def attempts_key(run_id: int) -> str:
    return f"colcw-test:attempts:{run_id}"


def seen_key(run_id: int) -> str:
    return f"colcw-test:seen:{run_id}"


def pid_key(run_id: int) -> str:
    return f"colcw-test:pid:{run_id}"


def _count(ctx: SyncContext) -> str:
    r = Redis.from_url(current_app.config["REDIS_URL"])
    attempt = r.incr(attempts_key(ctx.run_id))
    r.set(pid_key(ctx.run_id), os.getpid())
    p = ctx.params
    if p.get("fail") == "permanent":
        raise BadRequest("The test kind's request was refused", status=400,
                         hint="Nothing to retry: fix the request")
    if p.get("fail") == "transient" and attempt <= int(p.get("transient_times", 99)):
        raise ServerError("ConnectWise is unavailable", status=503)
    n = int(p.get("n", 3))
    ctx.recorder.set_total(n)
    done, _ = ctx.recorder.completed_keys("test")
    resumed = bool(done)
    for i in range(1, n + 1):
        if i in done:
            continue
        if i == p.get("stall_at") and not resumed:
            time.sleep(float(p.get("stall_seconds", 60)))
        time.sleep(float(p.get("sleep", 0)))
        if p.get("ask"):
            ctx.client.request("GET", "system/info")
        r.rpush(effects_key(ctx.run_id), i)
        ctx.recorder.record(entity="test", direction="export", action="created", host_id=i, label=f"item {i}")
        ctx.recorder.flush()
        if p.get("ask"):
            with Session(bind=ctx.session.get_bind()) as other:
                r.rpush(seen_key(ctx.run_id), other.get(SyncRun, ctx.run_id).api_requests)
    return f"counted {n} items" + (" (resumed)" if resumed else "")


TEST_COUNT = JobKind(name="test_count", label="Test count", run=_count,
                     describe=lambda session, p, scheduled=False: f"Count {p.get('n', 3)} test items",
                     one_record=lambda p: bool(p.get("one")))


def register(kinds: KindRegistry) -> None:
    """Register the test kinds (the composition root calls this for ``COLCW_EXTRA_JOB_MODULES``)."""
    kinds.register(TEST_COUNT)
