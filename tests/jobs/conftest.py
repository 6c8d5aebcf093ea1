"""Fixtures for the RQ glue tests: the test job kinds, fast retries, a worker subprocess."""

from __future__ import annotations

import colcw_test_kinds
import pytest
from jobs_support import Processes

from helpers import runtime, tune_runtime


@pytest.fixture(autouse=True)
def test_kinds(request):
    """The test job kinds on the test app, for the tests that use it (a worker subprocess gets them from
    COLCW_EXTRA_JOB_MODULES)."""
    if "pg_app" in request.fixturenames:
        colcw_test_kinds.register(runtime(request.getfixturevalue("pg_app")).kinds)


@pytest.fixture()
def jobs_app(app, connected, redis_conn, monkeypatch):
    """The app connected to an empty sandbox, with retries that do not wait (0 s back-off)."""
    tune_runtime(monkeypatch, app, retry_intervals=(0, 0))
    return app


@pytest.fixture()
def processes():
    procs = Processes()
    yield procs
    procs.stop_all()
