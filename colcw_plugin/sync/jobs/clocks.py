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

ConnectWise's clock is measured too (``cw/server_clock.py``: each client from its answers' ``Date``), and colcw
compares ConnectWise's stamps by it, so no import or pass misses a change for it. Schedules still fire, and pages
show times, by colcw's machines' clocks: when ConnectWise's clock and theirs are a minute apart or more, one of them
is wrong, and Test Connection says so once. A run's attempt keeps what its client measured as ConnectWise's clock
against Redis's (:func:`record_connectwise`, at most every :data:`MEASURE_EVERY` seconds a process), and the jobs
page and ``colcw clocks`` say it while they are :data:`CW_TOLERANCE` apart (:func:`said`).
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

from ...cw.connection_check import CLOCKS_APART_SECONDS
from ..ratelimit import tenant_key

log = logging.getLogger(__name__)

CLOCKS_KEY = "colcw:clocks"  # a hash: host name -> its last reading (JSON)
MEASURE_EVERY = 300.0  # seconds between a process's measures
FORGET_AFTER = 3 * MEASURE_EVERY  # a machine not heard from for this long is no longer compared (stopped)
TOLERANCE = 1.0  # seconds two machines' clocks may differ before the jobs pages say so
MAX_ERROR = 0.25  # a measure whose round trip to Redis took over twice this says too little: not recorded
CW_CLOCK_PREFIX = "colcw:clocks:connectwise:"  # + the tenant's digest: its clock as a run last measured it (JSON)
CW_FORGET_AFTER = 24 * 3600  # a measure of ConnectWise's clock older than this is no longer said (nor kept)
# Seconds ConnectWise's clock and colcw's may differ before the jobs pages say so: Test Connection's threshold.
CW_TOLERANCE = CLOCKS_APART_SECONDS


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


@dataclass(frozen=True)
class ConnectWiseClock:
    """ConnectWise's clock as a run last measured it: its time less Redis's lies between ``low`` and ``high`` seconds
    (positive: ConnectWise's clock is ahead); ``at``: Redis's time then; ``machine``: the machine whose run measured."""

    low: float
    high: float
    at: float
    machine: str = ""

    @property
    def offset(self) -> float:
        return (self.low + self.high) / 2

    @property
    def error(self) -> float:
        return (self.high - self.low) / 2

    def apart(self) -> float:
        """Seconds ConnectWise's clock is surely ahead of Redis's (negative: behind), 0 while the bounds hold 0."""
        return self.low if self.low > 0 else self.high if self.high < 0 else 0.0


Tenant = tuple[str, str]  # a ConnectWise tenant: its site URL and company id, as the connection stores them


def tenant_from(settings) -> Tenant:
    """The tenant of a connection's settings (``Settings``) or of a client's (``ClientSettings``), as a pair
    (``setup/connection.py`` ``tenant_of`` says it as one string)."""
    return settings.site_url, settings.company_id


def connectwise_key(tenant: Tenant) -> str:
    """Where the clock of ``tenant`` is kept (another tenant connected later has its own clock)."""
    return tenant_key(*tenant, prefix=CW_CLOCK_PREFIX)


def record_connectwise(redis: Redis, tenant: Tenant, bounds: tuple[float, float], machine: str,
                       clock: Callable[[], float] = time.time) -> ConnectWiseClock | None:
    """Keep what a client of ``tenant`` measured of ConnectWise's clock on ``machine`` (``bounds``: ConnectWise's
    time less this machine's, :attr:`~..cw.server_clock.ServerClock.bounds`) as ConnectWise's clock against Redis's:
    this machine's clock is measured against Redis's now, and both measures' uncertainties widen the bounds. None: not
    kept (a round trip to Redis too slow to tell); a Redis that does not answer raises."""
    offset, error, at = measure(redis, clock)
    if error > MAX_ERROR:
        return None
    # ConnectWise's time less Redis's = (ConnectWise's less this machine's) - (Redis's less this machine's).
    kept = ConnectWiseClock(bounds[0] - offset - error, bounds[1] - offset + error, at, machine)
    kept_json = json.dumps({"low": kept.low, "high": kept.high, "at": kept.at, "machine": kept.machine})
    redis.set(connectwise_key(tenant), kept_json, ex=CW_FORGET_AFTER)
    return kept


def _connectwise(raw: bytes | str | None, now: float) -> ConnectWiseClock | None:
    if raw is None:
        return None
    try:
        v = json.loads(raw)
        kept = ConnectWiseClock(float(v["low"]), float(v["high"]), float(v["at"]), str(v.get("machine", "")))
    except (ValueError, KeyError, TypeError):
        return None
    return kept if now - kept.at <= CW_FORGET_AFTER else None


def record(redis: Redis, reading: ClockReading) -> None:
    """Keep ``reading`` as its machine's last (one field of :data:`CLOCKS_KEY`)."""
    redis.hset(CLOCKS_KEY, reading.machine, json.dumps(
        {"offset": reading.offset, "error": reading.error, "at": reading.at, "role": reading.role}))


def readings(redis: Redis) -> list[ClockReading]:
    """Each machine's last reading of the last :data:`FORGET_AFTER` seconds (by Redis's time), latest first. One
    that cannot be read is left out."""
    return heard_from(redis).machines


@dataclass(frozen=True)
class Heard:
    """What :func:`heard_from` read: the machines' readings, ConnectWise's clock (None: not measured in the last
    :data:`CW_FORGET_AFTER` seconds) and Redis's time as they were read."""

    machines: list[ClockReading]
    connectwise: ConnectWiseClock | None
    now: float


def heard_from(redis: Redis, tenant: Tenant | None = None) -> Heard:
    """:func:`readings`, the clock of ``tenant`` (the connected one) as last measured, and Redis's time as they were
    read (one round trip)."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(CLOCKS_KEY)
        if tenant is not None:
            pipe.get(connectwise_key(tenant))
        pipe.time()
        raw, *cw, (seconds, micros) = pipe.execute()
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
    return Heard(sorted(out, key=lambda r: -r.at), _connectwise(cw[0] if cw else None, now), now)


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


def clock_warnings(redis: Redis, tenant: Tenant | None = None) -> list[str]:
    """What the jobs pages say of the machines' clocks (and of the clock of ``tenant``, the connected one): nothing
    while they agree within :data:`TOLERANCE` (:data:`CW_TOLERANCE`), or while Redis does not answer (the pages say
    that already)."""
    try:
        heard = heard_from(redis, tenant)
    except RedisError:
        return []
    return said(heard)


def said(heard: Heard) -> list[str]:
    """:func:`clock_warnings` of what :func:`heard_from` read: the machines whose clocks differ most, and ConnectWise's
    clock when it is :data:`CW_TOLERANCE` from colcw's."""
    return [*_machines_said(heard.machines), *_connectwise_said(heard.connectwise, heard.now)]


def _connectwise_said(cw: ConnectWiseClock | None, now: float) -> list[str]:
    apart = cw.apart() if cw is not None else 0.0
    if cw is None or abs(apart) < CW_TOLERANCE:
        return []
    side = "ahead of" if apart > 0 else "behind"
    by = f" by “{cw.machine}”" if cw.machine else ""
    ago = _seconds(max(0.0, now - cw.at))
    return [f"ConnectWise's clock is {_seconds(abs(apart))} {side} colcw's (measured{by} {ago} ago, against Redis's "
            "clock, which colcw's machines are measured against). colcw compares the times ConnectWise stamps on its "
            "records by ConnectWise's own clock, so no import and no pass of the live updates misses a change for it; "
            "but schedules fire, and pages show times, by colcw's machines' clocks. If theirs is the wrong one, have "
            "them keep time from a time server (NTP, for example “timedatectl set-ntp true”); if ConnectWise's is (a "
            "ConnectWise on your own servers), ask its administrator to correct it. This warning goes once a run "
            f"measures the two within {CW_TOLERANCE:.0f} seconds of each other."]


def _machines_said(found: list[ClockReading]) -> list[str]:
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


class ConnectWiseWatch:
    """A process's keeping of ConnectWise's clock as its runs' clients measured it (:func:`record_connectwise`): at most
    every :data:`MEASURE_EVERY` seconds (at once the first time); a Redis that does not answer is logged, never the
    run's failure. ``machine``: the host name it records under."""

    def __init__(self, *, machine: str | None = None, every: float = MEASURE_EVERY,
                 monotonic: Callable[[], float] = time.monotonic):
        self.machine = machine or socket.gethostname()
        self.every = every
        self.monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()

    def keep(self, redis: Redis, tenant: Tenant, bounds: tuple[float, float] | None) -> None:
        """Keep ``bounds`` (a client's :attr:`~..cw.server_clock.ServerClock.bounds`, None: no answer told them) for
        ``tenant`` if the last keeping is :attr:`every` seconds old."""
        if bounds is None or self.monotonic() < self._next or not self._lock.acquire(blocking=False):
            return
        try:
            self._next = self.monotonic() + self.every
            record_connectwise(redis, tenant, bounds, self.machine)
        except RedisError as e:
            log.debug("could not keep ConnectWise's clock as measured: %s", e)
        finally:
            self._lock.release()


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
