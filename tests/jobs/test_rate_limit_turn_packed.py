"""The rate limiter's turn (the tenant's hold and its budget, one script) is sent packed once but for the time, on a
connection of the client's pool, not through the client's command path (about 80 Python calls a request where that
path took about 210). What reaches Redis is the same: one EVALSHA per request, nothing else; and what the client's
path did besides is kept: a server that lost the script loads it again, a dropped connection is sent on again, a
Redis that cannot be reached leaves the process pacing itself alone."""

from __future__ import annotations

import pytest
import redis as redis_lib

from colcw_plugin.sync.ratelimit import RedisRateLimiter
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _commands(redis_conn) -> dict[str, int]:
    """Commands Redis has run, by name, those its scripts ran included (INFO's own taken off by the caller)."""
    return {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in redis_conn.info("commandstats").items()}


def _ran_since(redis_conn, before: dict[str, int]) -> dict[str, int]:
    after = _commands(redis_conn)
    ran = {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}
    ran["info"] -= 1  # the INFO that read these
    return {name: calls for name, calls in ran.items() if calls}


def test_each_request_is_one_evalsha_at_redis(app, connected, redis_conn):
    client = runtime(app).client(db.session)
    try:
        client.companies.list(page_size=1)  # the codebase known: only the requests below
        connected.clear_requests()
        before = _commands(redis_conn)
        for _ in range(3):
            client.companies.list(page_size=1)
            client.contacts.list(page_size=1)
        ran = _ran_since(redis_conn, before)
    finally:
        client.close()
    assert len(connected.requests()) == 6
    # (a script's own commands are counted too: the hold's PTTL, the budget's GET and SET)
    assert ran == {"evalsha": 6, "pttl": 6, "get": 6, "set": 6}, ran


def test_the_turn_paces_and_holds_as_the_script_says(redis_conn):
    now = [1_000_000.0]
    slept: list[float] = []
    limiter = RedisRateLimiter(redis_conn, 60, key="colcw:test-packed", burst=1, clock=lambda: now[0],
                               sleep=slept.append)
    assert limiter.turn_unless_held() == 0.0 and slept == []  # the first goes now
    assert limiter.turn_unless_held() == 0.0 and slept == [1.0]  # the next a second later (60 a minute, no burst)
    assert float(redis_conn.get("colcw:test-packed")) == 1_000_000_000 + 2_000
    RedisRateLimiter(redis_conn, 60, key="colcw:test-packed").hold(3)
    assert 2.0 < limiter.turn_unless_held() <= 3.0  # held: the seconds left, and no turn taken
    assert float(redis_conn.get("colcw:test-packed")) == 1_000_000_000 + 2_000
    assert slept == [1.0]


def test_a_server_that_lost_the_script_loads_it_again(redis_conn):
    limiter = RedisRateLimiter(redis_conn, 1000, key="colcw:test-packed-flush")
    assert limiter.turn_unless_held() == 0.0
    redis_conn.script_flush()
    assert redis_conn.script_exists(limiter._turn_script.sha) == [False]
    assert limiter.turn_unless_held() == 0.0
    assert redis_conn.script_exists(limiter._turn_script.sha) == [True]
    assert redis_conn.get("colcw:test-packed-flush") is not None
    assert not limiter._warned  # Redis answered: no pacing alone


def test_a_dropped_connection_is_sent_on_again(redis_url, redis_conn):
    own = redis_lib.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(own, 1000, key="colcw:test-packed-drop")
    limiter.turn_unless_held()
    own.client_setname("colcw-packed-drop")
    for client in redis_conn.client_list():
        if client.get("name") == "colcw-packed-drop":
            redis_conn.client_kill_filter(_id=client["id"])
    taken = float(redis_conn.get("colcw:test-packed-drop"))
    assert limiter.turn_unless_held() == 0.0
    assert float(redis_conn.get("colcw:test-packed-drop")) > taken  # the turn taken, through Redis
    assert not limiter._warned
    own.close()


def test_an_unreachable_redis_leaves_the_process_alone():
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, rate_per_minute=60, key="colcw:test-packed-dead", burst=2, sleep=lambda s: None)
    assert [limiter.turn_unless_held() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter._warned and limiter.waited > 0
