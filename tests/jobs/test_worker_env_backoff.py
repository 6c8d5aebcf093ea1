"""The workers the tests start (jobs_support.worker_env) back off between two tries of a failed ConnectWise request as
the test's own runtime does (COLCW_CW_BACKOFF_SECONDS: 0.05 s, helpers.make_test_app), not production's 0.5 s: a
request the sandbox keeps failing gave up in a worker after 4-7.5 s. A test that needs another passes its own."""

from __future__ import annotations

import subprocess
import sys

from jobs_support import ROOT, worker_env

from helpers import runtime

# What a worker's runtime reads from the environment it is started with (host_stub's app, as ``flask --app host_stub``
# makes it).
READ = ("from host_stub import create_app; from colcw_plugin.sync.runtime import Runtime; "
        "print(Runtime.of(create_app()).config.cw_backoff_seconds)")


def _worker_backoff(env: dict) -> float:
    done = subprocess.run([sys.executable, "-c", READ], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return float(done.stdout.strip().splitlines()[-1])


def test_a_worker_backs_off_as_the_tests_runtime(jobs_app):
    assert _worker_backoff(worker_env(jobs_app)) == runtime(jobs_app).config.cw_backoff_seconds == 0.05


def test_a_test_may_give_its_worker_another(jobs_app):
    assert _worker_backoff(worker_env(jobs_app, COLCW_CW_BACKOFF_SECONDS=0.5)) == 0.5
