"""The clocks of the machines colcw runs on, compared, so that the jobs pages say when they disagree.

colcw tells a customer or contact edited since its last sync by times from two machines: the host record's save time
(``updated_at``, stamped by the machine that saved it: a web process, or a worker writing into the host) against its
link's ``synced_at`` (stamped by the machine that ran the sync). All Customers' "Changed since export", the customer
panel, an import and live updates read it. Machines whose clocks differ misjudge a save made within that difference
of a sync: a rep's edit saved a second after an export, on a web machine whose clock is two seconds behind the
worker's, looks older than the export, and the customer is shown synced with the edit never sent. (The field values
themselves are compared by value, ``Link.synced_values``: live updates never overwrite an edit on the strength of a
clock.) Nothing here changes those times; it makes a difference seen, so that ops set the clocks right.

Every colcw process (each web process on its requests, each worker at its start and on its heartbeats, the scheduler
on its ticks, a foreground ``colcw sync`` at its start) measures its machine's clock against Redis's, which all of them
share, at most every :data:`MEASURE_EVERY` seconds (one ``TIME`` and one ``HSET``, never a SQL statement), and records
the offset under its host name: one entry a machine, whichever of its processes measured last. The jobs page (and
``colcw clocks``) read the readings of the last :data:`FORGET_AFTER` seconds and say when two machines differ by more
than :data:`TOLERANCE` beyond what the measures' round trips leave uncertain (:func:`clock_warnings`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CLOCKS_KEY = "colcw:clocks"  # a hash: host name -> its last reading (JSON)
MEASURE_EVERY = 300.0  # seconds between a process's measures
FORGET_AFTER = 3 * MEASURE_EVERY  # a machine not heard from for this long is no longer compared (stopped)
TOLERANCE = 1.0  # seconds two machines' clocks may differ before the jobs pages say so
MAX_ERROR = 0.25  # a measure whose round trip to Redis took over twice this says too little: not recorded


@dataclass(frozen=True)
class ClockReading:
    """One machine's clock as last measured: ``offset`` seconds to add to its time to get Redis's (positive: the
    machine's clock is behind), give or take ``error`` (half the round trip); ``at``: Redis's time then; ``role``:
    the process that measured (web, worker, scheduler, command)."""

    machine: str
    offset: float
    error: float
    at: float
    role: str = ""


def measure(redis: Redis, clock: Callable[[], float] = time.time) -> tuple[float, float, float]:
    """This machine's clock against Redis's: (offset, error, Redis's time), the offset taken at the middle of the
    ``TIME`` round trip. ``clock``: this machine's time (seconds since the epoch)."""
    before = clock()
    seconds, micros = redis.time()
    after = clock()
    reference = seconds + micros / 1_000_000
    return reference - (before + after) / 2, (after - before) / 2, reference


def record(redis: Redis, reading: ClockReading) -> None:
    """Keep ``reading`` as its machine's last (one field of :data:`CLOCKS_KEY`)."""
    redis.hset(CLOCKS_KEY, reading.machine, json.dumps(
        {"offset": reading.offset, "error": reading.error, "at": reading.at, "role": reading.role}))


def readings(redis: Redis) -> list[ClockReading]:
    """Each machine's last reading of the last :data:`FORGET_AFTER` seconds (by Redis's time), latest first. One
    that cannot be read is left out."""
    return heard_from(redis)[0]


def heard_from(redis: Redis) -> tuple[list[ClockReading], float]:
    """:func:`readings`, and Redis's time as they were read (one round trip for both)."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(CLOCKS_KEY)
        pipe.time()
        raw, (seconds, micros) = pipe.execute()
    now = seconds + micros / 1_000_000
    out = []
    for machine, value in raw.items():
        try:
            v = json.loads(value)
            reading = ClockReading(machine.decode() if isinstance(machine, bytes) else str(machine),
                                   float(v["offset"]), float(v["error"]), float(v["at"]), str(v.get("role", "")))
        except (ValueError, KeyError, TypeError):
            continue
        if now - reading.at <= FORGET_AFTER:
            out.append(reading)
    return sorted(out, key=lambda r: -r.at), now


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{value / 60:.0f} min"


def _named(reading: ClockReading) -> str:
    return f"“{reading.machine}”" + (f" ({reading.role})" if reading.role else "")


def differing(found: list[ClockReading]) -> tuple[ClockReading, ClockReading, float] | None:
    """The two machines whose clocks differ most, when they differ by more than :data:`TOLERANCE` beyond both
    measures' uncertainty: (the one behind, the one ahead, by how many seconds at least); else None."""
    if len(found) < 2:
        return None
    behind = max(found, key=lambda r: r.offset)
    ahead = min(found, key=lambda r: r.offset)
    surely = behind.offset - ahead.offset - behind.error - ahead.error
    return (behind, ahead, surely) if surely > TOLERANCE else None


def clock_warnings(redis: Redis) -> list[str]:
    """What the jobs pages say of the machines' clocks: nothing while they agree within :data:`TOLERANCE`, or while
    Redis does not answer (the pages say that already)."""
    try:
        found = readings(redis)
    except RedisError:
        return []
    return said(found)


def said(found: list[ClockReading]) -> list[str]:
    """:func:`clock_warnings` of readings already read."""
    pair = differing(found)
    if pair is None:
        return []
    behind, ahead, by = pair
    others = len(found) - 2
    among = f" (of the {len(found)} machines heard from in the last {FORGET_AFTER // 60:.0f} minutes)" if others else ""
    return [f"The clocks of colcw's machines differ: {_named(behind)} is {_seconds(by)} behind {_named(ahead)}{among}. "
            "colcw tells a customer or contact edited since its last export by comparing the time the edit was saved "
            "with the time of the export, each stamped by the machine that did it, so an edit saved within "
            f"{_seconds(by)} of an export can be shown as synced, and never sent until it is edited again. Set every "
            "machine's clock from the same time server (NTP, for example “timedatectl set-ntp true”); this "
            "warning goes once the machines' next readings agree (each measures every "
            f"{MEASURE_EVERY / 60:.0f} minutes)."]


class ClockWatch:
    """A process's measures of its machine's clock: :meth:`check` measures and records when the last measure is
    :data:`MEASURE_EVERY` seconds old (at once the first time), and does nothing otherwise; a Redis that does not
    answer is tried again at the next check. ``machine``: the host name it records under; ``clock``: this machine's
    time (seconds since the epoch)."""

    def __init__(self, role: str, *, machine: str | None = None, every: float = MEASURE_EVERY,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self.role = role
        self.machine = machine or socket.gethostname()
        self.every = every
        self.clock = clock
        self.monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()

    def due(self) -> bool:
        return self.monotonic() >= self._next

    def check(self, redis: Redis) -> ClockReading | None:
        """Measure and record now if due: the reading recorded, or None (not due, another thread measuring, Redis
        not answering, or a round trip too slow to tell)."""
        if not self.due() or not self._lock.acquire(blocking=False):
            return None
        try:
            if not self.due():
                return None
            self._next = self.monotonic() + self.every
            offset, error, at = measure(redis, self.clock)
            if error > MAX_ERROR:
                self._next = self.monotonic()  # (a slow round trip: measure again at the next check)
                return None
            reading = ClockReading(self.machine, offset, error, at, self.role)
            record(redis, reading)
            return reading
        except RedisError as e:
            log.debug("could not measure this machine's clock against Redis's: %s", e)
            return None
        finally:
            self._lock.release()

    def check_and_say(self, redis: Redis) -> list[str]:
        """:meth:`check`, then, when it measured, what the jobs page says of the machines' clocks (a command's start
        prints it)."""
        return clock_warnings(redis) if self.check(redis) is not None else []
