"""ConnectWise's Retry-After holds every process talking to the tenant, not only the client that met it: workers and
web processes on several machines share the tenant's rate limit through Redis, and its hold with it. Two clients
built as two processes build theirs (each from its own runtime: its own Redis connections, limiter and transport,
sharing only Redis): after one meets a 429 with Retry-After 2, the other's next request reaches ConnectWise no
earlier than the hold's end. Measured from the sandbox's request log."""

from __future__ import annotations

import threading

import pytest
import redis as redis_lib

from colcw_plugin.sync.ratelimit import RedisRateLimiter
from colcw_plugin.sync.runtime import Runtime
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

RETRY_AFTER = 2


def _another_process(app) -> Runtime:
    """A runtime as another worker's (or web process's) would be: same settings, nothing else in common."""
    rt = runtime(app)
    return Runtime(rt.config, rt.box, rt.kinds, rt.hooks)


def test_a_retry_after_one_client_met_holds_another_process_client(app, connected, redis_conn):
    one = runtime(app).client(db.session)
    other = _another_process(app).client(db.session)
    assert one._transport is not other._transport and one.rate_limiter is not other.rate_limiter
    try:
        one.companies.list(page_size=1)  # both know the codebase: only the calls below go to the API
        other.contacts.list(page_size=1)
        connected.add_fault(status=429, retry_after=RETRY_AFTER, count=1, path="company/companies")
        connected.clear_requests()
        told = threading.Event()
        one.notify_retry_waits(lambda error, seconds: told.set())  # the 429's answer is back
        first = threading.Thread(target=lambda: one.companies.list(page_size=1))
        first.start()
        assert told.wait(10)
        other.contacts.list(page_size=1)  # another process's client, knowing nothing of the 429 but Redis
        first.join(30)
    finally:
        one.close()
        other.close()

    log = sorted(connected.requests(), key=lambda r: r["time"])
    (limited,) = [r for r in log if r["status"] == 429]
    (contacts,) = [r for r in log if r["path"].endswith("company/contacts")]
    assert contacts["status"] == 200
    assert contacts["time"] >= limited["time"] + RETRY_AFTER, round(contacts["time"] - limited["time"], 2)


def test_the_longest_hold_asked_for_holds(redis_conn):
    a = RedisRateLimiter(redis_conn, 1000, key="colcw:test-hold")
    b = RedisRateLimiter(redis_conn, 1000, key="colcw:test-hold")
    assert b.held_for() == 0.0
    a.hold(5)
    b.hold(1)  # a shorter Retry-After met later does not shorten the one still running
    assert 4.0 < a.held_for() <= 5.0 and 4.0 < b.held_for() <= 5.0
    assert RedisRateLimiter(redis_conn, 1000, key="colcw:another-tenant").held_for() == 0.0


def test_without_redis_the_hold_is_the_clients_own():
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, 60, key="colcw:test-dead-hold")
    limiter.hold(3)  # no exception: the client that met the Retry-After still holds itself (transport)
    assert limiter.held_for() == 0.0
