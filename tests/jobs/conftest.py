"""Fixtures for the RQ glue tests: the test job kinds, fast retries, a worker subprocess."""

from __future__ import annotations

import colcw_test_kinds  # noqa: F401 - registers the "test_count" kind
import pytest
from jobs_support import Processes


@pytest.fixture()
def jobs_app(app, connected, redis_conn, monkeypatch):
    """The app connected to an empty sandbox, with retries that do not wait (0 s back-off)."""
    monkeypatch.setitem(app.config, "COLCW_RETRY_INTERVALS", (0, 0))
    return app


@pytest.fixture()
def processes():
    procs = Processes()
    yield procs
    procs.stop_all()
