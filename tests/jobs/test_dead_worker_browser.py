"""An admin watching a run's page when its work horse is killed sees, without reloading, that its worker stopped and
what colcw does about it; once the scheduler resumed the run and a worker finished it, the page says so (real
Chromium, real ``colcw worker`` subprocesses)."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
from jobs_support import descendants, wait_until, worker_env

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import browser_sign_in, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_the_run_page_says_at_once_that_its_worker_stopped_and_then_that_it_was_resumed(
        jobs_app, processes, live_server, page):
    run_id = runtime().submit(db.session, "test_count", {"n": 4, "stall_at": 3, "stall_seconds": 120},
                              actor=ADMIN).run.id
    worker = processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_LIVENESS_SECONDS=60))
    wait_until(lambda: fresh(run_id).done == 2, message="the worker to finish 2 items")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}/runs/{run_id}")
    assert page.locator(".colcw-progress-status").inner_text() == "Running"
    assert page.locator(f"#run-worker-{run_id}").count() == 0
    page.evaluate("window.__sameDocument = true")

    for pid in descendants(worker.pid):  # its work horse only: the worker sees it die
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    note = page.locator(f"#run-worker-{run_id}")
    note.wait_for(timeout=15_000)
    assert "Its worker stopped at" in note.inner_text() and "2 of 4 records done" in note.inner_text()
    assert page.locator(".colcw-progress-status").inner_text() == "Running"

    assert recovery.detect_interrupted(db.session, runtime().queue) == [run_id]
    page.wait_for_function(f"!document.querySelector('#run-worker-{run_id}')", timeout=10_000)
    burst = processes.start(["colcw", "worker", "--burst"], worker_env(jobs_app))
    assert burst.wait(timeout=60) == 0, burst.stdout.read()
    page.wait_for_function("document.querySelector('.colcw-progress-status').innerText === 'Succeeded'",
                           timeout=15_000)
    page.wait_for_function("document.querySelector('#run-details').innerText.includes('1 after its worker stopped')",
                           timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
