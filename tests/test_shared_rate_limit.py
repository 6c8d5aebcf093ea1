"""The Redis rate limiter keeps several processes' clients under one tenant-wide budget."""

from __future__ import annotations

import multiprocessing
import time

import redis as redis_lib

from colcw_plugin.sync.ratelimit import RedisRateLimiter


def _burst(url: str, n: int, out) -> None:
    limiter = RedisRateLimiter(redis_lib.Redis.from_url(url), rate_per_minute=600, key="colcw:test-rl", burst=1)
    stamps = []
    for _ in range(n):
        limiter.acquire()
        stamps.append(time.time())
    out.put(stamps)


def test_two_processes_share_one_budget(redis_url, redis_conn):
    # 600 a minute = one request every 100 ms, whoever sends it.
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_burst, args=(redis_url, 5, out)) for _ in range(2)]
    for p in procs:
        p.start()
    stamps = sorted(out.get(timeout=30) + out.get(timeout=30))
    for p in procs:
        p.join(timeout=10)
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(stamps) == 10
    # Ten requests at one per 100 ms take at least ~0.9 s in all, and no two go out together.
    assert stamps[-1] - stamps[0] >= 0.85
    assert min(gaps) >= 0.06


def test_single_limiter_lets_a_burst_through_then_paces(redis_conn):
    limiter = RedisRateLimiter(redis_conn, rate_per_minute=6000, key="colcw:test-rl2", burst=5)
    waits = [limiter.acquire() for _ in range(8)]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert all(w > 0 for w in waits[5:])
