"""Retry edges: back-off, Retry-After, total time bound, what is never retried, POST safety."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.client import RemoteDisconnected

import pytest
import requests
import urllib3.exceptions
from cwtest_support import BASE, make_settings

from colcw_plugin.cw import (
    AuthenticationFailed,
    BadRequest,
    ClientSettings,
    Conflict,
    ConnectWiseClient,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TLSFailed,
    TokenBucket,
)
from colcw_plugin.cw.transport import parse_retry_after

URL = BASE + "company/companies/5"


def test_transient_503_is_retried_with_growing_backoff(rsps, make_client, fake_time):
    for _ in range(3):
        rsps.get(URL, status=503, json={"code": "Unavailable", "message": "busy"})
    rsps.get(URL, json={"id": 5})
    client = make_client()

    assert client.companies.get(5) == {"id": 5}

    # base 0.5 s doubling, equal jitter with rng=0.5: 3/4 of each ceiling.
    assert fake_time.sleeps == [0.375, 0.75, 1.5]
    assert client.stats.retries == 3
    assert client.stats.counts["GET company/companies/{id}"] == 4


def test_backoff_is_capped(make_client):
    client = make_client(backoff_base=1.0, backoff_cap=4.0)
    delays = [client._transport.backoff(n) for n in range(1, 8)]
    assert max(delays) <= 4.0
    assert delays[-1] == 3.0  # cap 4, rng 0.5 -> 2 + 1


def test_retry_after_seconds_is_honoured(rsps, make_client, fake_time):
    rsps.get(
        URL, status=429, headers={"Retry-After": "7"}, json={"error": "ConnectWiseAPI", "message": "slow"}
    )
    rsps.get(URL, json={"id": 5})
    make_client().companies.get(5)
    assert fake_time.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(rsps, make_client, fake_time):
    when = datetime.now(UTC) + timedelta(seconds=30)
    rsps.get(URL, status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    rsps.get(URL, json={"id": 5})
    make_client().companies.get(5)
    assert len(fake_time.sleeps) == 1
    assert 27 <= fake_time.sleeps[0] <= 30.5


def test_retry_after_parsing():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:20 GMT", now=now) == 20.0
    assert parse_retry_after("Tue, 31 Dec 2024 23:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_429_without_header_uses_the_wait_in_the_documented_body(rsps, make_client, fake_time):
    rsps.get(
        URL,
        status=429,
        json={"error": "ConnectWiseAPI", "message": "Too many requests. Please try again in 3 seconds."},
    )
    rsps.get(URL, json={"id": 5})
    make_client().companies.get(5)
    assert fake_time.sleeps == [3.0]


def test_total_retry_time_is_bounded(rsps, make_client, fake_time):
    rsps.get(URL, status=429, headers={"Retry-After": "4"})
    client = make_client(max_retry_seconds=10, max_attempts=50)
    with pytest.raises(RateLimited) as info:
        client.companies.get(5)
    # 4 + 4 = 8 s slept; a third wait would end at 12 s > 10 s, so it gives up.
    assert fake_time.sleeps == [4.0, 4.0]
    assert info.value.attempts == 3
    assert info.value.retry_after == 4.0
    assert "gave up after 3 attempts" in str(info.value)


def test_retry_after_longer_than_the_bound_fails_at_once(rsps, make_client, fake_time):
    rsps.get(URL, status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as info:
        make_client(max_retry_seconds=120).companies.get(5)
    assert fake_time.sleeps == []
    assert info.value.retry_after == 600.0  # callers (RQ) can reschedule with it


def test_max_attempts_is_respected(rsps, make_client, fake_time):
    rsps.get(URL, status=502)
    with pytest.raises(ServerError) as info:
        make_client(max_attempts=3).companies.get(5)
    assert len(rsps.calls) == 1 + 3  # companyinfo + 3 tries
    assert info.value.transient is True
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, BadRequest),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
    ],
)
def test_permanent_errors_are_not_retried(rsps, make_client, fake_time, status, exc_type):
    rsps.get(URL, status=status, json={"code": "X", "message": "no"})
    with pytest.raises(exc_type) as info:
        make_client().companies.get(5)
    assert info.value.transient is False
    assert info.value.status == status
    assert fake_time.sleeps == []
    assert [c.request.url for c in rsps.calls].count(URL) == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_idempotent_writes_are_retried_on_transient_failures(rsps, make_client, method):
    rsps.add(method, URL, status=504)
    rsps.add(method, URL, json={"id": 5}, status=200)
    client = make_client()
    if method == "PUT":
        client.companies.update(5, {"name": "x"})
    elif method == "PATCH":
        client.companies.patch(5, {"name": "x"})
    else:
        client.companies.delete(5)
    assert client.stats.retries == 1


def test_get_is_retried_after_a_read_timeout(rsps, make_client):
    rsps.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(URL, json={"id": 5})
    assert make_client().companies.get(5) == {"id": 5}


POST_URL = BASE + "company/companies"


def test_post_is_not_retried_after_a_read_timeout(rsps, make_client, fake_time):
    # The server may have created the company before the response was lost.
    rsps.post(POST_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(POST_URL, json={"id": 1}, status=201)
    with pytest.raises(NetworkError) as info:
        make_client().companies.create({"name": "Acme"})
    assert info.value.sent is True
    assert [c.request.method for c in rsps.calls].count("POST") == 1
    assert fake_time.sleeps == []


def test_post_is_not_retried_after_the_connection_dropped(rsps, make_client):
    dropped = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
    )
    rsps.post(POST_URL, body=dropped)
    rsps.post(POST_URL, json={"id": 1}, status=201)
    with pytest.raises(NetworkError):
        make_client().companies.create({"name": "Acme"})
    assert [c.request.method for c in rsps.calls].count("POST") == 1


def test_post_is_not_retried_on_503(rsps, make_client):
    rsps.post(POST_URL, status=503)
    rsps.post(POST_URL, json={"id": 1}, status=201)
    with pytest.raises(ServerError):
        make_client().companies.create({"name": "Acme"})


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None, "/", urllib3.exceptions.NewConnectionError(None, "Connection refused")
            )
        ),
    ],
    ids=["connect-timeout", "refused"],
)
def test_post_is_retried_when_it_never_reached_the_server(rsps, make_client, failure):
    rsps.post(POST_URL, body=failure)
    rsps.post(POST_URL, json={"id": 1}, status=201)
    assert make_client().companies.create({"name": "Acme"}) == {"id": 1}


def test_post_is_retried_on_429(rsps, make_client, fake_time):
    rsps.post(POST_URL, status=429, headers={"Retry-After": "2"})
    rsps.post(POST_URL, json={"id": 1}, status=201)
    assert make_client().companies.create({"name": "Acme"}) == {"id": 1}
    assert fake_time.sleeps == [2.0]


def test_tls_errors_are_permanent(rsps, make_client):
    rsps.get(URL, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(TLSFailed) as info:
        make_client().companies.get(5)
    assert info.value.transient is False
    assert "certificate" in str(info.value)


def test_token_bucket_allows_a_burst_then_paces():
    fake_now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake_now[0] += seconds

    bucket = TokenBucket(60, burst=3, clock=lambda: fake_now[0], sleep=sleep)  # 1 per second
    for _ in range(5):
        bucket.acquire()
    assert slept == pytest.approx([1.0, 1.0])


def test_rate_limiter_is_shared_by_all_threads_using_the_client(rsps):
    rsps.get(URL, json={"id": 5})
    # 6,000 a minute = 100 a second, burst 1: 40 requests need at least ~0.39 s in total,
    # however many threads send them.
    settings = ClientSettings(
        site_url="https://na.myconnectwise.net",
        company_id="acme",
        client_id="c",
        public_key="p",
        private_key="q",
        rate_limit_per_minute=6000,
    )
    client = ConnectWiseClient(settings, rate_limiter=TokenBucket(6000, burst=1))
    client.discover()
    start = time.monotonic()

    def work() -> None:
        for _ in range(10):
            client.companies.get(5)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert client.stats.counts["GET company/companies/{id}"] == 40
    assert elapsed >= 0.37


def test_settings_build_a_limiter_of_the_configured_rate(make_client):
    client = make_client(rate_limit_per_minute=1200)
    assert client.rate_limiter is not None
    assert client.rate_limiter.rate == pytest.approx(20.0)
    assert make_client(rate_limit_per_minute=None).rate_limiter is None


def _most_at_once(rsps, client: ConnectWiseClient, threads: int = 6) -> int:
    """How many of ``threads`` simultaneous GETs ConnectWise was answering at once, at most."""
    lock, busy, most = threading.Lock(), [0], [0]

    def answer(request):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.05)
        with lock:
            busy[0] -= 1
        return 200, {}, '{"id": 5}'

    rsps.add_callback("GET", URL, callback=answer, content_type="application/json")
    workers = [threading.Thread(target=client.companies.get, args=(5,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return most[0]


def test_a_client_keeps_at_most_max_in_flight_requests_out_whatever_its_threads(rsps):
    bounded = ConnectWiseClient(make_settings(max_in_flight=2))
    assert _most_at_once(rsps, bounded) == 2
    assert bounded.stats.counts["GET company/companies/{id}"] == 6  # each thread's request was sent, in turn


def test_without_max_in_flight_the_threads_requests_go_out_together(rsps):
    assert _most_at_once(rsps, ConnectWiseClient(make_settings())) > 2


def test_max_in_flight_below_one_is_refused():
    with pytest.raises(ValueError, match="max_in_flight"):
        make_settings(max_in_flight=0)
