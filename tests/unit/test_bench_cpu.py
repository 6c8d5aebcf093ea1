"""The benches' processor time figures (bench/cpu.py): what a process spent, and the least wall time it allows."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import cpu  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")


def _burn(seconds: float) -> float:
    """Keep this thread busy for about ``seconds`` of processor time; how much it took."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(10_000))
    return time.thread_time() - start


def test_a_process_time_is_what_the_system_counts_for_it():
    """As the system tells the process its own processor time (all its threads: the suite's other threads may spend
    some meanwhile), to a clock tick or two; waiting costs none."""
    before, own_before = cpu.process_seconds(os.getpid()), time.process_time()
    spent = _burn(0.3)
    time.sleep(0.2)
    grew, own = cpu.process_seconds(os.getpid()) - before, time.process_time() - own_before
    assert spent >= 0.3 and abs(grew - own) <= 0.05, (spent, grew, own)


def test_a_process_that_is_not_there_has_no_figure():
    assert cpu.process_seconds(2**22 + 12345) is None  # above Linux's largest process id


def test_the_least_wall_time_spreads_the_parts_over_the_cores(monkeypatch):
    monkeypatch.setattr(cpu, "cores", lambda: 2)
    assert cpu.least_wall(1.5, 0.5, 0.4) == pytest.approx(1.2)
    assert cpu.least_wall(1.5, None, 0.4) is None  # a part not known: no bound claimed
