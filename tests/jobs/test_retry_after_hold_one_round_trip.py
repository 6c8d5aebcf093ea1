"""A ConnectWise request asks Redis once before it goes: the tenant's Retry-After hold (shared by every process) and
its turn in the tenant's budget in one script, not the hold's PTTL and then the budget's script (two round trips per
request, each a rep's export waits for), and the slot of the tenant's requests in flight it takes (COLCW_CW_MAX_IN_FLIGHT)
in the same script; the slot is given back in one more (a ZREM once the answer has come). The hold is still asked
before every request: a hold another process set holds the next request, and takes no turn of the budget while it
lasts."""

from __future__ import annotations

import pytest
import redis as redis_lib

from colcw_plugin.sync.ratelimit import RedisRateLimiter
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def test_each_request_asks_redis_once(app, connected, monkeypatch):
    client = runtime(app).client(db.session)
    try:
        client.companies.list(page_size=1)  # the codebase known: only the requests below
        redis = client.rate_limiter.redis
        asked: list[str] = []
        sent = redis.execute_command
        monkeypatch.setattr(redis, "execute_command", lambda *a, **kw: asked.append(a[0]) or sent(*a, **kw))
        connected.clear_requests()
        for _ in range(3):
            client.companies.list(page_size=1)
            client.contacts.list(page_size=1)
    finally:
        client.close()
    assert len(connected.requests()) == 6
    assert asked == ["EVALSHA", "ZREM"] * 6, asked  # the hold, the slot and the turn; the slot given back


def test_a_hold_asked_with_the_turn_takes_no_turn(redis_conn):
    one = RedisRateLimiter(redis_conn, 1000, key="colcw:test-turn")
    other = RedisRateLimiter(redis_conn, 1000, key="colcw:test-turn")
    assert other.turn_unless_held() == 0.0  # no hold: the turn is taken
    budget = redis_conn.get("colcw:test-turn")
    one.hold(5)
    assert 4.0 < other.turn_unless_held() <= 5.0
    assert redis_conn.get("colcw:test-turn") == budget  # held: no turn of the budget taken
    redis_conn.delete("colcw:test-turn:hold")
    assert other.turn_unless_held() == 0.0
    assert float(redis_conn.get("colcw:test-turn")) > float(budget)


def test_without_redis_the_turn_is_this_process_alone():
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, rate_per_minute=60, key="colcw:test-dead-turn", burst=2, sleep=lambda s: None)
    assert [limiter.turn_unless_held() for _ in range(3)] == [0.0, 0.0, 0.0]  # no hold known, requests still go
    assert limiter.waited > 0  # the third paced locally, as acquire paces it
