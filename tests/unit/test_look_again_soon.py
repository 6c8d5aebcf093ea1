"""A run a person just started is looked at again sooner than every second (SyncRun.look_again_ms, issue 14): a
rep's export of one document ends within a fraction of a second, and its page, polling every second only, showed
the outcome 1.6 s after the click or more (bench/bench_rep_export.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from colcw_plugin.models import FINAL_RUN_STATUSES, RunStatus, SyncRun
from host_stub.models import utcnow


def _run(status: str, seconds_ago: float) -> SyncRun:
    return SyncRun(kind="quote_export", status=status, created_at=utcnow() - dt.timedelta(seconds=seconds_ago))


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.CANCELLING])
def test_an_active_run_is_looked_at_soon_while_young_then_only_every_second(status):
    assert _run(status, 0).look_again_ms == 200
    assert _run(status, 1.5).look_again_ms == 200
    assert _run(status, 3).look_again_ms == 500
    assert _run(status, 6).look_again_ms is None
    assert _run(status, 3600).look_again_ms is None


@pytest.mark.parametrize("status", FINAL_RUN_STATUSES)
def test_an_ended_run_is_not_looked_at_again(status):
    assert _run(status, 0).look_again_ms is None


def test_a_run_not_saved_yet_has_no_age_to_go_by():
    assert SyncRun(kind="quote_export", status=RunStatus.QUEUED).look_again_ms is None
