"""A run a person just started is looked at again sooner than every second (SyncRun.look_again_ms, issue 14): a
rep's export of one document ends within a fraction of a second, and its page, polling every second only, showed
the outcome 1.6 s after the click or more (bench/bench_rep_export.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from colcw_plugin.models import FINAL_RUN_STATUSES, RunStatus, SyncRun
from host_stub.models import utcnow


def _run(status: str, seconds_ago: float, *, finished: bool | None = None) -> SyncRun:
    """``finished``: whether it has its end (by default: a final status has)."""
    finished = status in FINAL_RUN_STATUSES if finished is None else finished
    return SyncRun(kind="quote_export", status=status, created_at=utcnow() - dt.timedelta(seconds=seconds_ago),
                   finished_at=utcnow() if finished else None)


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


def test_an_interrupted_run_the_scheduler_is_resuming_is_looked_at_as_an_active_one():
    """Marked interrupted without an end, for the moment before it is queued again (recovery.detect_interrupted)."""
    assert _run(RunStatus.INTERRUPTED, 0, finished=False).look_again_ms == 200
    assert not _run(RunStatus.INTERRUPTED, 0, finished=False).has_ended
    assert _run(RunStatus.INTERRUPTED, 0).has_ended


def test_a_run_not_saved_yet_has_no_age_to_go_by():
    assert SyncRun(kind="quote_export", status=RunStatus.QUEUED).look_again_ms is None
