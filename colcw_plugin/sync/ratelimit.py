"""A ConnectWise rate limit shared by every worker on every machine (Redis, GCRA).

ConnectWise limits requests per tenant, not per process: ten workers each keeping to 1,000
requests a minute would together send 10,000. This limiter keeps one schedule in Redis (the
"theoretical arrival time" of the generic cell rate algorithm), advanced atomically by a Lua
script, so all clients sharing the key share the budget. Same interface as
:class:`colcw_plugin.cw.TokenBucket` (``acquire()`` blocks and returns the seconds waited).
"""

from __future__ import annotations

import hashlib
import logging
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


class RedisRateLimiter:
    """``rate_per_minute`` requests a minute across every process using ``key``."""

    def __init__(self, redis, rate_per_minute: float, *, key: str = "colcw:ratelimit", burst: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.redis = redis
        self.key = key
        self.interval_ms = 60_000.0 / rate_per_minute
        burst = burst if burst is not None else max(1.0, rate_per_minute / 60.0)
        self.tolerance_ms = self.interval_ms * (burst - 1)
        self._script = redis.register_script(_GCRA)
        self._sleep = sleep
        self._clock = clock
        self.waited = 0.0
        # Without Redis (a blip, or a command run where none is reachable) each process keeps to
        # the limit on its own rather than failing every ConnectWise request.
        self._fallback = TokenBucket(rate_per_minute, burst, sleep=sleep)
        self._warned = False

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, interval_ms={self.interval_ms:.1f})"

    def acquire(self) -> float:
        try:
            wait_ms = float(self._script(keys=[self.key], args=[int(self._clock() * 1000), self.interval_ms,
                                                                 self.tolerance_ms]))
        except RedisError as e:
            if not self._warned:
                log.warning("Redis unavailable for the shared ConnectWise rate limit (%s); limiting this process alone",
                            type(e).__name__)
                self._warned = True
            waited = self._fallback.acquire()
            self.waited += waited
            return waited
        if wait_ms > 0:
            self._sleep(wait_ms / 1000.0)
        self.waited += wait_ms / 1000.0
        return wait_ms / 1000.0


def tenant_key(site_url: str, company_id: str, *, prefix: str = "colcw:ratelimit:") -> str:
    """The Redis key of one tenant's ``prefix`` (its budget by default): every worker talking to the tenant
    shares the key, which names the tenant by a digest, not in clear."""
    digest = hashlib.sha256(f"{site_url.rstrip('/').lower()}|{company_id.lower()}".encode()).hexdigest()[:16]
    return f"{prefix}{digest}"
