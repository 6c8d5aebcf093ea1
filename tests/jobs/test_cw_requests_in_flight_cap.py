"""The tenant's ConnectWise requests in flight are capped across every process (COLCW_CW_MAX_IN_FLIGHT, shared through
Redis): a slot is taken with the request's turn (one round trip) and given back when its answer or its failure comes;
a slot a dead process never gave back lapses with its lease; a wait for a slot is bounded and a run's stop request
ends it; without Redis each process keeps to the cap on its own. On real Redis; ConnectWise mocked (``responses``)
where a whole client is driven."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import redis as redis_lib
import requests
import responses

from colcw_plugin.cw import ClientSettings, ConnectWiseClient
from colcw_plugin.cw.errors import NetworkError, RateLimited
from colcw_plugin.sync.ratelimit import RedisRateLimiter

pytestmark = [pytest.mark.redis]

SITE = "https://na.myconnectwise.net"
COMPANYINFO = SITE + "/login/companyinfo/acme"
BASE = "https://api-na.myconnectwise.net/v2025_1/apis/3.0/"
URL = BASE + "company/companies/5"
KEY = "colcw:test-flight"
INFO = {"CompanyName": "Acme", "Codebase": "v2025_1/", "VersionCode": "v2025.1", "VersionNumber": "v4.6.1",
        "CompanyID": "acme", "IsCloud": "True"}


def _settings(**overrides) -> ClientSettings:
    values = {"site_url": SITE, "company_id": "acme", "client_id": "00000000-1111-2222-3333-444444444444",
              "public_key": "PUB", "private_key": "PRIV", "rate_limit_per_minute": None, "backoff_base": 0.01,
              "max_attempts": 1, "max_retry_seconds": 30.0}
    values.update(overrides)
    return ClientSettings(**values)


def _limiter(url_or_conn, cap: int, **kw) -> RedisRateLimiter:
    conn = redis_lib.Redis.from_url(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    return RedisRateLimiter(conn, 600_000, key=KEY, burst=1000, max_in_flight=cap, **kw)


def _take(limiter: RedisRateLimiter, give_up_after: float = 20.0):
    """A slot, polled for as the client polls (every few ms)."""
    deadline = time.monotonic() + give_up_after
    while True:
        held, slot = limiter.turn_and_slot()
        if slot is not None:
            return slot
        assert held == 0
        assert time.monotonic() < deadline, "no slot came free"
        time.sleep(0.002)


def _work(url: str, cap: int, threads: int, rounds: int, out) -> None:
    """One process: ``threads`` threads, each taking a slot ``rounds`` times, holding it 10 ms (its interval recorded
    inside the slot: from just after it was taken to just before it is given back)."""
    limiter = _limiter(url, cap)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(rounds):
            slot = _take(limiter)
            began = time.time()
            time.sleep(0.01)
            ended = time.time()
            limiter.give_back(slot)
            with lock:
                spans.append((began, ended))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(spans)


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    busy = most = 0
    for _, step in events:
        busy += step
        most = max(most, busy)
    return most


def test_processes_and_threads_together_never_hold_more_slots_than_the_cap(redis_url, redis_conn):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(redis_url, 4, 5, 8, out)) for _ in range(3)]
    for p in procs:
        p.start()
    spans = [span for _ in procs for span in out.get(timeout=60)]
    for p in procs:
        p.join(timeout=10)
    assert len(spans) == 3 * 5 * 8
    # Fifteen threads in three processes: the cap is reached, never passed, and every slot is back.
    assert _most_at_once(spans) == 4
    assert redis_conn.zcard(f"{KEY}:flight") == 0


def test_a_slot_a_dead_process_held_lapses_with_its_lease(redis_conn):
    dead = _limiter(redis_conn, 1, slot_lease_seconds=0.3)
    alive = _limiter(redis_conn, 1, slot_lease_seconds=0.3)
    assert dead.turn_and_slot()[1] is not None  # never given back: its process died
    assert alive.turn_and_slot() == (0.0, None)  # every slot taken: nothing taken, the turn neither
    time.sleep(0.35)
    slot = alive.turn_and_slot()[1]
    assert slot is not None  # the lapsed lease was dropped by the same script
    assert redis_conn.zcard(f"{KEY}:flight") == 1
    assert redis_conn.pttl(f"{KEY}:flight") <= 300 + 1000  # the set itself goes with its last lease
    alive.give_back(slot)
    assert not redis_conn.exists(f"{KEY}:flight")


def test_a_hold_takes_no_slot(redis_conn):
    limiter = _limiter(redis_conn, 2)
    limiter.hold(3)
    held, slot = limiter.turn_and_slot()
    assert 2.0 < held <= 3.0 and slot is None
    assert redis_conn.zcard(f"{KEY}:flight") == 0


def test_without_redis_each_process_keeps_to_the_cap_on_its_own():
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    one = RedisRateLimiter(dead, 60_000, key="colcw:test-dead-flight", max_in_flight=2, sleep=lambda s: None)
    other = RedisRateLimiter(dead, 60_000, key="colcw:test-dead-flight", max_in_flight=2, sleep=lambda s: None)
    a, b = one.turn_and_slot()[1], other.turn_and_slot()[1]  # two clients of the process share its cap
    assert a is not None and b is not None
    assert one.turn_and_slot() == (0.0, None)
    other.give_back(a)
    c = one.turn_and_slot()[1]
    assert c is not None
    one.give_back(b)
    one.give_back(c)


def _clients(redis_url: str, cap: int, n: int, **settings) -> list[ConnectWiseClient]:
    """``n`` clients as ``n`` processes have them: each its own Redis connection and limiter, sharing Redis only."""
    return [ConnectWiseClient(_settings(**settings), rate_limiter=_limiter(redis_url, cap)) for _ in range(n)]


def _busy_answer(lock, busy, most, delay=0.03):
    def answer(request):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(delay)
        with lock:
            busy[0] -= 1
        return 200, {}, '{"id": 5}'
    return answer


def _all_at_once(clients: list[ConnectWiseClient], threads: int, call) -> list[BaseException]:
    failures: list[BaseException] = []

    def run(client):
        try:
            call(client)
        except Exception as e:  # noqa: BLE001 - collected for the assertions
            failures.append(e)

    workers = [threading.Thread(target=run, args=(c,)) for c in clients for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return failures


def test_clients_of_several_processes_keep_the_tenant_under_the_cap(redis_url, redis_conn):
    clients = _clients(redis_url, 3, 3)
    lock, busy, most = threading.Lock(), [0], [0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(COMPANYINFO, json=INFO)
        rsps.add_callback("GET", URL, callback=_busy_answer(lock, busy, most), content_type="application/json")
        failures = _all_at_once(clients, 4, lambda c: [c.companies.get(5) for _ in range(3)])
    assert failures == []
    assert most[0] == 3  # twelve threads in three "processes": three answered at once, no more
    assert sum(c.stats.counts["GET company/companies/{id}"] for c in clients) == 36
    assert redis_conn.zcard(f"{KEY}:flight") == 0


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout("slow"),
                                     requests.exceptions.ConnectionError("reset"), RuntimeError("a bug")])
def test_a_slot_is_given_back_whatever_the_request_met(redis_url, redis_conn, failure):
    [client] = _clients(redis_url, 2, 1)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(COMPANYINFO, json=INFO)
        rsps.get(URL, body=failure)
        for _ in range(3):  # more failures than slots: each one's slot came back
            with pytest.raises((NetworkError, RuntimeError)):
                client.companies.get(5)
    assert redis_conn.zcard(f"{KEY}:flight") == 0


def test_a_wait_for_a_slot_is_bounded_and_sends_nothing(redis_url, redis_conn):
    assert _limiter(redis_conn, 1).turn_and_slot()[1] is not None  # the one slot, held elsewhere
    [client] = _clients(redis_url, 1, 1, max_retry_seconds=0.4, max_attempts=2)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(COMPANYINFO, json=INFO)
        sent = rsps.get(URL, json={"id": 5})
        t0 = time.monotonic()
        with pytest.raises(RateLimited, match="in flight.*not sent"):
            client.companies.get(5)
        waited = time.monotonic() - t0
    assert 0.2 < waited < 2.0
    assert sent.call_count == 0
    assert redis_conn.zcard(f"{KEY}:flight") == 1  # only the other one's


def test_a_run_asked_to_stop_stops_waiting_for_a_slot(redis_url, redis_conn):
    assert _limiter(redis_conn, 1).turn_and_slot()[1] is not None
    [client] = _clients(redis_url, 1, 1, max_retry_seconds=60.0, max_attempts=5)
    told: list[float] = []
    client.notify_retry_waits(lambda err, seconds: told.append((seconds, err.why_not_done)) or (lambda: True))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(COMPANYINFO, json=INFO)
        sent = rsps.get(URL, json={"id": 5})
        t0 = time.monotonic()
        with pytest.raises(RateLimited):
            client.companies.get(5)
        waited = time.monotonic() - t0
    # told once the wait reached a second, as colcw's own wait (a run's pages say so), then asked whether to give up
    assert [why for _, why in told] == ["colcw waits for one of its requests in flight to ConnectWise to end"]
    assert 1.0 < waited < 4.0  # not the 60 s it could have waited
    assert sent.call_count == 0
