"""A ConnectWise rate limit shared by every worker on every machine (Redis, GCRA).

ConnectWise limits requests per tenant, not per process: ten workers each keeping to 1,000
requests a minute would together send 10,000. This limiter keeps one schedule in Redis (the
"theoretical arrival time" of the generic cell rate algorithm), advanced atomically by a Lua
script, so all clients sharing the key share the budget. Same interface as
:class:`colcw_plugin.cw.TokenBucket` (``acquire()`` blocks and returns the seconds waited).

It also keeps ConnectWise's ``Retry-After`` for the tenant (:class:`colcw_plugin.cw.ratelimit.SharedHold`): a 429
one worker meets holds every process's client, not only its own, until it has passed. The hold is a key beside the
budget's (``<key>:hold``) whose time to live is what is left of it, so it is counted by Redis's clock alone (no
machine's clock against another's) and vanishes when it ends.

With ``max_in_flight`` it also caps the tenant's requests in flight (API-NOTES §6.3/§6.4: keep parallel requests low;
ConnectWise answers 429 beyond its own cap): a sorted set beside the budget (``<key>:flight``) holds a token per request
out, scored by when its lease lapses (Redis's clock). The turn script cleans lapsed leases, then takes a slot (and the
turn) only while fewer than ``max_in_flight`` are out; the client gives the slot back (ZREM, one round trip) when the
answer comes. A process that dies holding slots holds them no longer than ``slot_lease_seconds``. Without Redis, each
process keeps to ``max_in_flight`` on its own (per tenant key).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from ..cw import TokenBucket

log = logging.getLogger(__name__)

# KEYS[1] = key; ARGV = now (ms), interval per request (ms), burst tolerance (ms).
# Returns the milliseconds the caller must wait before sending (0 = go now); the slot is
# reserved either way, so callers never race for the same slot.
_GCRA = """
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now + tolerance + 1000))
return wait
"""

# The same, but first the tenant's hold: KEYS[2] = the hold's key. Returns {milliseconds to wait, milliseconds left of
# the hold}: while a hold lasts no slot is reserved ({0, left}); else the slot is, as _GCRA reserves it ({wait, 0}).
# A request's one round trip to Redis (the hold's PTTL and the budget's script, one after the other, took two).
_TURN = """
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return {0, held} end
""" + _GCRA.replace("return wait", "return {wait, 0}")

# The same, and a slot of the tenant's requests in flight: KEYS[3] = the slots' sorted set (a token per request out,
# scored by when its lease lapses, on Redis's clock); ARGV[4] = the most in flight, ARGV[5] = the slot's token,
# ARGV[6] = the lease (ms). Returns {ms to wait, ms left of the hold, 1 when a slot was taken}: while a hold lasts,
# {0, left, 0}; with every slot taken (lapsed leases first dropped), {0, 0, 0}: no slot and no turn taken; else the slot
# and the turn are taken, {wait, 0, 1} (the lease counted from when the turn comes). The set lasts as long as its
# latest lease (the turns come in order: the latest taken lapses last).
_TURN_SLOT = """
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return {0, held, 0} end
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', clock)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return {0, 0, 0} end
""" + _GCRA.replace("return wait", """local lease = math.ceil(wait + tonumber(ARGV[6]))
redis.call('ZADD', KEYS[3], clock + lease, ARGV[5])
redis.call('PEXPIRE', KEYS[3], lease + 1000)
return {wait, 0, 1}""")

# KEYS[1] = the hold's key; ARGV[1] = milliseconds from now. A hold is never shortened: the longest asked for holds.
_HOLD = """
local left = redis.call('PTTL', KEYS[1])
local ms = tonumber(ARGV[1])
if left < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return left
"""


# A slot's token: unique across processes (the pid and a random part, new in a forked child) and requests (a counter).
_TOKENS = itertools.count()
_token_prefix: tuple[int, str] | None = None


def _slot_token() -> str:
    global _token_prefix
    pid = os.getpid()
    if _token_prefix is None or _token_prefix[0] != pid:
        _token_prefix = (pid, f"{pid}-{os.urandom(4).hex()}-")
    return f"{_token_prefix[1]}{next(_TOKENS)}"


class _LocalSlot:
    """A slot of this process's own cap (taken while Redis did not answer): given back here, not in Redis."""

    __slots__ = ("semaphore",)

    def __init__(self, semaphore: threading.BoundedSemaphore):
        self.semaphore = semaphore


# Without Redis: each tenant key's requests in flight in this process, whichever of its clients sends them.
_LOCAL_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_LOCAL_SLOTS_LOCK = threading.Lock()


def _local_slots(key: str, cap: int) -> threading.BoundedSemaphore:
    with _LOCAL_SLOTS_LOCK:
        semaphore = _LOCAL_SLOTS.get((key, cap))
        if semaphore is None:
            semaphore = _LOCAL_SLOTS[(key, cap)] = threading.BoundedSemaphore(cap)
        return semaphore


class RedisRateLimiter:
    """``rate_per_minute`` requests a minute across every process using ``key``; with ``max_in_flight``, at most that
    many of them in flight at once (a slot's lease lapsing ``slot_lease_seconds`` after its turn, when never given
    back)."""

    def __init__(self, redis, rate_per_minute: float, *, key: str = "colcw:ratelimit", burst: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 max_in_flight: int | None = None, slot_lease_seconds: float = 60.0):
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1 (or None for no cap)")
        if slot_lease_seconds <= 0:
            raise ValueError("slot_lease_seconds must be positive")
        self.max_in_flight = max_in_flight
        self.flight_key = f"{key}:flight"
        self.slot_lease_ms = math.ceil(slot_lease_seconds * 1000)
        self._turn_slot_script = redis.register_script(_TURN_SLOT) if max_in_flight else None
        self._slot_warned = False
        self.redis = redis
        self.key = key
        self.interval_ms = 60_000.0 / rate_per_minute
        burst = burst if burst is not None else max(1.0, rate_per_minute / 60.0)
        self.tolerance_ms = self.interval_ms * (burst - 1)
        self._script = redis.register_script(_GCRA)
        self.hold_key = f"{key}:hold"
        self._hold_script = redis.register_script(_HOLD)
        self._turn_script = redis.register_script(_TURN)
        self._sleep = sleep
        self._clock = clock
        self.waited = 0.0
        # Without Redis (a blip, or a command run where none is reachable) each process keeps to
        # the limit on its own rather than failing every ConnectWise request.
        self._fallback = TokenBucket(rate_per_minute, burst, sleep=sleep)
        self._warned = False
        self._hold_warned = False

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, interval_ms={self.interval_ms:.1f})"

    def acquire(self) -> float:
        try:
            wait_ms = float(self._script(keys=[self.key], args=self._args()))
        except RedisError as e:
            return self._acquire_alone(e)
        return self._wait(wait_ms)

    def turn_unless_held(self) -> float:
        """The tenant's hold and the request's turn in one round trip (:class:`colcw_plugin.cw.ratelimit.SharedTurn`):
        the seconds left of the hold (no turn taken while it lasts, as :meth:`held_for` says them), else 0 once the
        turn is taken (waited for as :meth:`acquire` waits). Without Redis: no hold but the client's own, and the
        turn this process's alone, as each of those says."""
        try:
            wait_ms, held_ms = self._turn_script(keys=[self.key, self.hold_key], args=self._args())
        except RedisError as e:
            self._hold_unavailable(e)
            self._acquire_alone(e)
            return 0.0
        if int(held_ms) > 0:
            return int(held_ms) / 1000.0
        self._wait(float(wait_ms))
        return 0.0

    def turn_and_slot(self) -> tuple[float, object | None]:
        """The tenant's hold, a slot of its requests in flight and the request's turn in one round trip
        (:class:`colcw_plugin.cw.ratelimit.SharedSlots`): ``(held, None)`` while the hold lasts, ``(0, None)`` while
        every slot is taken (nothing taken either way), else ``(0, slot)`` once both are taken (the turn waited for as
        :meth:`acquire` waits). Without Redis: this process's own cap and pacing (:meth:`turn_unless_held`'s)."""
        if self._turn_slot_script is None:
            return self.turn_unless_held(), None
        token = _slot_token()
        try:
            wait_ms, held_ms, taken = self._turn_slot_script(
                keys=[self.key, self.hold_key, self.flight_key],
                args=[*self._args(), self.max_in_flight, token, self.slot_lease_ms])
        except RedisError as e:
            return self._turn_and_slot_alone(e)
        if int(held_ms) > 0:
            return int(held_ms) / 1000.0, None
        if not int(taken):
            return 0.0, None
        try:
            self._wait(float(wait_ms))
        except BaseException:
            self.give_back(token)
            raise
        return 0.0, token

    def give_back(self, slot: object) -> None:
        """Give a slot :meth:`turn_and_slot` took back (one round trip; a slot Redis does not take back lapses)."""
        if isinstance(slot, _LocalSlot):
            slot.semaphore.release()
            return
        try:
            self.redis.zrem(self.flight_key, slot)
        except RedisError as e:
            self._slots_unavailable(e)

    def _turn_and_slot_alone(self, error: RedisError) -> tuple[float, object | None]:
        self._hold_unavailable(error)
        self._slots_unavailable(error)
        semaphore = _local_slots(self.key, self.max_in_flight)
        if not semaphore.acquire(blocking=False):
            return 0.0, None
        slot = _LocalSlot(semaphore)
        try:
            self._acquire_alone(error)
        except BaseException:
            semaphore.release()
            raise
        return 0.0, slot

    def _slots_unavailable(self, error: RedisError) -> None:
        if not self._slot_warned:
            log.warning("Redis unavailable for ConnectWise's requests in flight shared by every process (%s); this "
                        "process keeps to %s on its own", type(error).__name__, self.max_in_flight)
            self._slot_warned = True

    def _args(self) -> list:
        return [int(self._clock() * 1000), self.interval_ms, self.tolerance_ms]

    def _wait(self, wait_ms: float) -> float:
        if wait_ms > 0:
            self._sleep(wait_ms / 1000.0)
        self.waited += wait_ms / 1000.0
        return wait_ms / 1000.0

    def _acquire_alone(self, error: RedisError) -> float:
        if not self._warned:
            log.warning("Redis unavailable for the shared ConnectWise rate limit (%s); limiting this process alone",
                        type(error).__name__)
            self._warned = True
        waited = self._fallback.acquire()
        self.waited += waited
        return waited

    def hold(self, seconds: float) -> None:
        """No client sharing the key sends for ``seconds`` from now (ConnectWise's Retry-After), or longer if a hold
        asked for already lasts longer. Without Redis only the client that met it holds (its own hold)."""
        ms = math.ceil(seconds * 1000)
        if ms <= 0:
            return
        try:
            self._hold_script(keys=[self.hold_key], args=[ms])
        except RedisError as e:
            self._hold_unavailable(e)

    def held_for(self) -> float:
        """Seconds left of the tenant's hold (0 when none, or when Redis does not answer)."""
        try:
            left = self.redis.pttl(self.hold_key)
        except RedisError as e:
            self._hold_unavailable(e)
            return 0.0
        return left / 1000.0 if isinstance(left, int) and left > 0 else 0.0

    def _hold_unavailable(self, error: RedisError) -> None:
        if not self._hold_warned:
            log.warning("Redis unavailable for ConnectWise's Retry-After shared by every process (%s); each client "
                        "holds only what it met itself", type(error).__name__)
            self._hold_warned = True


def tenant_key(site_url: str, company_id: str, *, prefix: str = "colcw:ratelimit:") -> str:
    """The Redis key of one tenant's ``prefix`` (its budget by default): every worker talking to the tenant
    shares the key, which names the tenant by a digest, not in clear."""
    digest = hashlib.sha256(f"{site_url.rstrip('/').lower()}|{company_id.lower()}".encode()).hexdigest()[:16]
    return f"{prefix}{digest}"
