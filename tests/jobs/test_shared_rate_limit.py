"""The Redis rate limiter keeps several processes' clients under one tenant-wide budget."""

from __future__ import annotations

import multiprocessing
import time

import redis as redis_lib

from colcw_plugin.sync.ratelimit import RedisRateLimiter
from helpers import runtime


def _burst(url: str, n: int, out) -> None:
    asked: list[float] = []

    def clock() -> float:
        asked.append(time.time())
        return asked[-1]

    limiter = RedisRateLimiter(redis_lib.Redis.from_url(url), rate_per_minute=600, key="colcw:test-rl", burst=1,
                               clock=clock)
    stamps = []
    for _ in range(n):
        wait = limiter.acquire()
        # The moment the shared budget let this request go: when it asked plus what it was told to wait (a
        # time read after the sleep would also count how long a loaded machine took to run the process again).
        stamps.append(asked[-1] + wait)
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
    # One a second, nothing slept: at 100 a second, a loaded machine's 10 ms between two acquires refilled a token.
    limiter = RedisRateLimiter(redis_conn, rate_per_minute=60, key="colcw:test-rl2", burst=5, sleep=lambda s: None)
    waits = [limiter.acquire() for _ in range(8)]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert all(w > 0 for w in waits[5:])


def test_without_redis_the_limiter_falls_back_to_this_process_alone():
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    # One a second, nothing slept: a failed connection taking a few milliseconds on a busy machine refills no token.
    limiter = RedisRateLimiter(dead, rate_per_minute=60, key="colcw:test-dead", burst=2, sleep=lambda s: None)
    waits = [limiter.acquire() for _ in range(4)]  # no exception: requests still go out, paced locally
    assert waits[:2] == [0, 0] and all(w > 0 for w in waits[2:])


def test_every_sync_path_draws_on_the_tenant_budget_in_redis(app, connected, redis_conn, drain_queue):
    """A queued run, the web's inline export and the command line all use the shared Redis budget."""
    from sqlalchemy import select

    from colcw_plugin.models import RepMapping
    from colcw_plugin.setup.connection import get_settings
    from colcw_plugin.sync.ratelimit import tenant_key
    from host_stub import services
    from host_stub.extensions import db
    from host_stub.models import User

    member = connected.api("GET", "system/members", params={"pageSize": 1}).json()[0]
    dana = db.session.execute(select(User).where(User.email == "dana@demo.example")).scalar_one()
    db.session.add(RepMapping(user_id=dana.id, member_id=member["id"], member_identifier=member["identifier"]))
    db.session.commit()
    settings = get_settings(db.session)
    key = tenant_key(settings.site_url, settings.company_id)
    customer = services.save_customer({"account_number": "RL1", "name": "Rate Limited", "state": "WA", "city": "Seattle"},
                                      [{"first_name": "Ann", "email": "ann@rl.example"}])
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id}).run
    assert redis_conn.get(key) is None
    drain_queue()
    db.session.expire_all()
    done = db.session.get(type(run), run.id)
    assert done.status == "succeeded", done.message
    assert redis_conn.get(key) is not None  # the run's requests reserved slots in the shared schedule
    redis_conn.delete(key)
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "customers", "--direction", "export",
                                                "--customer", "RL1"])
    assert result.exit_code == 0, result.output
    assert redis_conn.get(key) is not None
