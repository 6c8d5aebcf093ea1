"""Processor time spent by the processes a bench's run keeps busy, read from Linux's /proc.

A run against the local sandbox keeps three processes at work on the machine's cores: colcw's (its main thread
and its reading threads), PostgreSQL's (a server process per connection, and its helpers) and the sandbox's. Their
processor time together, spread over the machine's cores, bounds the run's wall time from below whatever colcw
overlaps: the figure a bench prints beside the floor, so that a ratio colcw cannot reach on this machine is seen as
such. Each figure is None where /proc cannot tell it (another system, or a PostgreSQL server on another machine).
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _ticks(pid: int, *, with_children: bool) -> int | None:
    """A process's processor time in clock ticks (user and system), with that of its children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command's closing parenthesis: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if with_children else 0)


def process_seconds(pid: int) -> float | None:
    """The processor time of process ``pid`` so far, in seconds (None: no such process here)."""
    ticks = _ticks(pid, with_children=False)
    return None if ticks is None else ticks / _TICKS


def postgres_seconds() -> float | None:
    """The processor time of this machine's PostgreSQL server processes so far, in seconds (None: none runs
    here). Meant for a bench run alone: another client's queries meanwhile would be counted too."""
    total, found = 0, False
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                continue
        except OSError:
            continue
        # The children's time too: a server process of a connection that ended is counted in its parent's, the
        # postmaster's, once it has been waited for.
        ticks = _ticks(pid, with_children=True)
        if ticks is not None:
            total, found = total + ticks, True
    return total / _TICKS if found else None


def cores() -> int:
    """The processor cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def least_wall(*seconds: float | None) -> float | None:
    """The least wall time in which this much processor time fits on the machine's cores (None: a part unknown)."""
    if any(s is None for s in seconds):
        return None
    return sum(seconds) / cores()  # type: ignore[arg-type]
