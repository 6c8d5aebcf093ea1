"""Helpers for the RQ glue tests: real ``flask colcw ...`` subprocesses on the test databases, and
waiting for a condition. (A module of its own: ``from conftest import ...`` finds whichever test
directory's conftest Python imported first.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")


def worker_env(app, **extra) -> dict:
    """Environment for a real ``flask --app host_stub colcw ...`` subprocess on the test databases. Its ConnectWise
    clients back off as the test's runtime does (COLCW_CW_BACKOFF_SECONDS: 50 ms, helpers.make_test_app, or what the
    test tuned), not production's 0.5 s; ``extra`` (settings as environment variables) may set another."""
    from colcw_plugin.sync.runtime import Runtime

    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "COLCW_ENCRYPTION_KEY": app.config["COLCW_ENCRYPTION_KEY"],
        "COLCW_ALLOW_HTTP": "1",
        "COLCW_EXTRA_JOB_MODULES": "colcw_test_kinds",
        "COLCW_CW_BACKOFF_SECONDS": str(Runtime.of(app).config.cw_backoff_seconds),
        # Paced as the test's runtime paces (helpers.TEST_RATE_PER_MINUTE, or what the test tuned), not production's.
        "COLCW_RATE_LIMIT_PER_MINUTE": str(Runtime.of(app).config.rate_limit_per_minute),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "jobs"), env.get("PYTHONPATH", "")]),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Processes:
    """Subprocesses started by a test, each in its own process group; killed at teardown."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen([FLASK, "--app", "host_stub", *args], env=env, cwd=ROOT, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the process and its descendants at once (RQ's work horse has a process group of
        its own): what a machine dying looks like to the run. All are stopped before any is killed: a worker
        that outlived its horse by a moment would see it die and fail its job, which a dead machine does not."""
        family = [proc.pid, *descendants(proc.pid)]
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def run_to_end(kind, **params):
    """Run ``kind`` (a test JobKind, registered here the first time) to its end in this process, as ADMIN asked
    for it; the run as it ended."""
    from colcw_plugin.models import SyncRun
    from colcw_plugin.sync.jobs.runs import create_run
    from helpers import runtime
    from host_stub.extensions import db

    if kind.name not in runtime().kinds:
        runtime().kinds.register(kind)
    run = create_run(db.session, runtime().kinds, kind.name, params, actor=ADMIN)
    db.session.commit()
    runtime().execute(db.session, run.id)
    db.session.expire_all()
    return db.session.get(SyncRun, run.id)


def failed_run(drain_queue, account: str, actor: dict):
    """A colcw run that failed on a worker (its one customer's state is not ConnectWise's): its job is in RQ's
    failed registry."""
    from colcw_plugin.models import SyncRun
    from helpers import runtime
    from host_stub import services
    from host_stub.extensions import db

    customer = services.save_customer({"account_number": account, "name": f"Nowhere {account}", "state": "ZZ"})
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id}, actor=actor).run
    drain_queue()
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.status == "failed" and run.rq_job_id in runtime().queue.failed_job_ids()
    return run
