"""Sending one logical request: headers, timeouts, rate limit, retries, error mapping.

Retry rules (API-NOTES §6.4):
* transient failures (429, 5xx, timeouts, dropped or refused connections) are retried
  with exponential back-off and jitter, honouring ``Retry-After`` (seconds or an HTTP
  date), until ``max_attempts`` or ``max_retry_seconds`` of total time would be exceeded;
* permanent failures (400, 401, 403, 404, 409, TLS) are raised at once;
* POST is not idempotent: it is retried only when the request cannot have reached the
  server (connect error) or on 429, which ConnectWise returns before processing;
* a ``Retry-After`` holds every request of the client, not only the one it answered: no thread
  sends before it has passed (one that would wait past ``max_retry_seconds`` fails at once as
  rate-limited, unsent); a limiter that offers a :class:`~.ratelimit.SharedHold` (colcw's Redis
  limiter) carries the hold to every client sharing it, in every process, and the client waits
  out theirs as its own;
* ConnectWise refusing the login (401) is remembered: the client sends nothing more, each later
  request failing at once with the same refusal (the keys do not change under a client).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import requests
import urllib3.exceptions
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity

from .conditions import format_datetime
from .errors import (
    AuthenticationFailed,
    ConnectWiseError,
    InFlightFull,
    NetworkError,
    RateLimited,
    TLSFailed,
    error_from_response,
)
from .query import encode_query, full_url
from .ratelimit import SharedHold, SharedSlots, SharedTurn, TokenBucket
from .server_clock import ServerClock, http_date
from .settings import ClientSettings
from .stats import RequestStats

log = logging.getLogger("colcw_plugin.cw")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A pause between two tries at least this long is told to Transport.on_retry_wait (a back-off also from twice the
# client's backoff_base, a second by default: Transport._worth_telling).
NOTED_WAIT_SECONDS = 1.0
GIVE_UP_POLL_SECONDS = 1.0  # how often a pause between tries asks whether to give up (see Transport.on_retry_wait)
# After a shared Retry-After hold each waiter sends up to this much later (a quarter of the hold at most), at random.
HOLD_JITTER_SECONDS = 0.25
# Every slot of the tenant's requests in flight taken: ask again after this long, doubling up to the most (jittered).
SLOT_POLL_FIRST_SECONDS = 0.005
SLOT_POLL_MAX_SECONDS = 0.1
_TRY_AGAIN_RE = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)


class _SlotWait:
    """A request's wait for a slot of the tenant's requests in flight (:meth:`Transport._wait_for_slot`)."""

    __slots__ = ("since", "polls", "told", "give_up", "asked")

    def __init__(self, since: float) -> None:
        self.since = since
        self.polls = 0
        self.told = False
        self.give_up: Callable[[], bool] | None = None
        self.asked = since

    def ask(self, now: float) -> bool:
        self.asked = now
        return bool(self.give_up and self.give_up())


def json_default(value: Any) -> Any:
    """JSON encoder hook: datetimes as ConnectWise's UTC format, Decimals as numbers."""
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} to ConnectWise")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = http_date(value)
    if when is None:
        return None
    now = now or datetime.now(UTC)
    return max(0.0, when - now.timestamp())


def _retry_after_of(response: requests.Response) -> float | None:
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if seconds is None and response.status_code == 429:
        # ConnectWise's 429 body says "Please try again in N seconds." (API-NOTES §6.3).
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        match = _TRY_AGAIN_RE.search(message or "")
        if match:
            seconds = float(match.group(1))
    return seconds


def _find_cause(exc: BaseException, types: tuple[type[BaseException], ...]) -> BaseException | None:
    """Search an exception's args / reason / cause chain for one of ``types``."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types):
            return item
        stack.extend(item.args)
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return None


def network_error(exc: requests.RequestException, *, method: str, path: str) -> ConnectWiseError:
    """Classify a requests exception: TLS (permanent), connect (not sent) or other.

    The message says in words what went wrong (:func:`network_reason`), never the library's text
    (``HTTPConnectionPool(host=...): Max retries exceeded ...``).
    """
    kw: dict[str, Any] = {"method": method, "path": path}
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSFailed(f"the secure connection failed: {network_reason(exc)}", not_tls=_not_tls(exc), **kw)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkError("the server did not accept the connection in time", sent=False, **kw)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return NetworkError("timed out waiting for the response", sent=True, **kw)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _find_cause(exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                             urllib3.exceptions.NameResolutionError)):
            return NetworkError(f"could not connect: {network_reason(exc)}", sent=False, **kw)
        # Reset or closed after the request went out: the server may have acted on it.
        return NetworkError(f"connection dropped: {network_reason(exc)}", sent=True, **kw)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return NetworkError("the response was cut short", sent=True, **kw)
    return ConnectWiseError(f"the request failed: {network_reason(exc)}", **kw)


# What OpenSSL says when the server's first bytes are not a TLS record: most often an http answer ("HTTP/1.1 400").
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE",
                              "UNKNOWN_PROTOCOL"})


def _not_tls(exc: BaseException) -> bool:
    """Whether the TLS handshake failed because the server does not speak TLS there (not a certificate)."""
    found = _find_cause(exc, (ssl.SSLError,))
    return found is not None and not isinstance(found, ssl.SSLCertVerificationError) and \
        getattr(found, "reason", None) in _NOT_TLS_REASONS


def network_reason(exc: BaseException) -> str:
    """What went wrong on the network, in words a person can act on (no library text)."""
    if _find_cause(exc, (socket.gaierror, urllib3.exceptions.NameResolutionError)):
        return "the server's name could not be found (DNS); check the spelling of the site URL"
    if _find_cause(exc, (ConnectionRefusedError,)):
        return "the server refused the connection (nothing answers at that address and port)"
    if _find_cause(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "the server closed the connection"
    if _find_cause(exc, (socket.timeout, TimeoutError, urllib3.exceptions.TimeoutError)):
        return "no answer in time"
    if _find_cause(exc, (ssl.SSLCertVerificationError,)):
        return "the server's certificate could not be verified"
    if _not_tls(exc):
        return "the server did not answer in TLS"
    if _find_cause(exc, (ssl.SSLError,)):
        return "the TLS handshake failed"
    errno_error = _find_cause(exc, (OSError,))
    reason = getattr(errno_error, "strerror", None)
    if reason and not isinstance(errno_error, requests.RequestException):
        return str(reason).lower()
    return "the network connection failed"


class Transport:
    """Sends requests for one client. Thread-safe: state is the shared session's
    connection pool (thread-safe), the token bucket and the stats (both locked)."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session,
        *,
        limiter: TokenBucket | None,
        stats: RequestStats,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        server_clock: ServerClock | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.server_clock = server_clock if server_clock is not None else ServerClock()
        self.limiter = limiter
        self.stats = stats
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._auth = settings.authorization_header()
        # Held while a request takes its turn and is out (never between tries): the client's threads beyond it wait here,
        # not holding a slot of the tenant's (SharedSlots) meanwhile.
        self._slots = (threading.BoundedSemaphore(settings.max_in_flight) if settings.max_in_flight
                       else contextlib.nullcontext())
        self._header_sets: dict[tuple, CaseInsensitiveDict] = {}  # (when the session's headers hold credentials)
        self._valid_auth: str | None = None  # the Authorization value validated for this client's requests
        # Told before a pause of a second or more between tries (the error, the seconds; _worth_telling), so a run can
        # show that it waits for ConnectWise (rate-limited, a server error) while it waits. It may answer a
        # function the pause asks every second whether to give up (a run an admin asked to stop): the request
        # then fails with the error it waited on, as when its tries run out.
        self.on_retry_wait: Callable[[ConnectWiseError, float], Callable[[], bool] | None] | None = None
        # Until when (``clock``) ConnectWise asked for no request: the latest Retry-After met, whichever thread met it.
        self._hold_until = 0.0
        self._hold_lock = threading.Lock()
        # The same hold shared with the other clients of the tenant (other workers, web processes), when the limiter
        # offers one: a Retry-After one of them met holds this client's requests too.
        self._shared_hold: SharedHold | None = limiter if isinstance(limiter, SharedHold) else None
        # A shared hold asked for with the request's turn, in one round trip (both are Redis's, in colcw).
        self._shared_turn: SharedTurn | None = (limiter if self._shared_hold is not None
                                                and isinstance(limiter, SharedTurn) else None)
        # The tenant's requests in flight capped with the turn, shared with its other clients (SharedSlots), when the
        # limiter offers a cap: a request waits for a free slot (see _wait_for_slot).
        self._shared_slots: SharedSlots | None = (limiter if self._shared_turn is not None
                                                  and isinstance(limiter, SharedSlots) and limiter.max_in_flight
                                                  else None)
        # ConnectWise refused the login (401): nothing more is sent (see login_refused).
        self.login_refused: AuthenticationFailed | None = None

    def headers(self, *, auth: bool, body: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Request headers. Built per call so nothing secret lives on the session."""
        headers = {"Accept": self.settings.accept_header, "clientId": self.settings.client_id}
        if auth:
            headers["Authorization"] = self._auth
        if body:
            headers["Content-Type"] = "application/json"
        if extra:
            headers.update(extra)
        return headers

    def backoff(self, failures: int) -> float:
        """Delay before retry number ``failures`` (1-based): exponential, equal jitter."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * (2 ** (failures - 1)))
        return ceiling / 2 + self._rng() * ceiling / 2

    def may_retry(self, method: str, err: ConnectWiseError) -> bool:
        """Whether ``err`` on ``method`` is safe and useful to retry."""
        if not err.transient:
            return False
        if method in IDEMPOTENT:
            return True
        if isinstance(err, RateLimited):
            return True  # rejected before processing
        return isinstance(err, NetworkError) and not err.sent

    def send(
        self,
        method: str,
        url: str,
        *,
        path: str,
        template: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        auth: bool = True,
        retry: bool = True,
        prepared_url: str | None = None,
    ) -> requests.Response:
        """Send with rate limiting and retries; return a 2xx response or raise. ``prepared_url``: the URL to send,
        its query included, as requests prepares it (:func:`.query.full_url`), when the caller has it already: then
        ``url`` and ``params`` are not used (the query is encoded once, by the caller, and nothing here could send
        another encoding of it)."""
        method = method.upper()
        if prepared_url is not None:
            url, params = prepared_url, None
        data = None if body is None else json.dumps(body, default=json_default).encode("utf-8")
        headers = self.headers(auth=auth, body=data is not None, extra=extra_headers)
        verify: bool | str = self.settings.ca_bundle or True
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            if auth and self.login_refused is not None:
                raise self._refused_again(method, path)
            try:
                # This client's slot first (its threads wait for it, not holding the tenant's), then the turn and the
                # tenant's slot (SharedSlots), given back as soon as the answer or the failure has come.
                with self._slots:
                    slot = self._take_turn(method, path, start, attempt, retry)
                    try:
                        self.stats.record(method, template)
                        t0 = self._clock()
                        told = self.server_clock.wants()  # ConnectWise's clock, from a few answers' Date
                        sent_at = time.time() if told else 0.0
                        response = self._request(method, url, params=params, data=data, headers=headers,
                                                 verify=verify, prepared_url=prepared_url)
                        if told:
                            self.server_clock.heard(sent_at, time.time(), response.headers.get("Date"))
                    finally:
                        if slot is not None:
                            self._shared_slots.give_back(slot)
            except requests.RequestException as exc:
                err = network_error(exc, method=method, path=path)
                err.__cause__ = exc
            else:
                if log.isEnabledFor(logging.DEBUG):  # (not timed when not logged)
                    log.debug("ConnectWise %s %s -> %s in %.0f ms", method, template, response.status_code,
                              (self._clock() - t0) * 1000)
                if response.status_code < 400:
                    return response
                err = error_from_response(
                    response,
                    method=method,
                    path=path,
                    resource=_resource_of(template),
                    retry_after=_retry_after_of(response),
                )
                if isinstance(err, AuthenticationFailed) and auth:
                    self.login_refused = self.login_refused or err
                self._hold(err)
            if not retry or attempt >= self.settings.max_attempts or not self.may_retry(method, err):
                err.note_attempts(attempt, self._clock() - start)
                raise err
            wait = err_wait = getattr(err, "retry_after", None)
            if wait is None:
                wait = self.backoff(attempt)
            elapsed = self._clock() - start
            if elapsed + wait > self.settings.max_retry_seconds or self._too_long_to_hold(err, wait):
                # Sleeping past the bound would only delay the same failure.
                err.note_attempts(attempt, elapsed)
                raise err
            log.warning(
                "ConnectWise %s %s failed (%s); retry %d in %.2fs",
                method,
                template,
                err.status or type(err).__name__,
                attempt,
                wait,
            )
            self.stats.record_retry(wait)
            told = self.on_retry_wait is not None and self._worth_telling(wait, backoff=err_wait is None)
            give_up = self.on_retry_wait(err, wait) if told else None
            if not self._pause(wait, give_up):
                err.note_attempts(attempt, self._clock() - start)
                raise err

    def _hold(self, err: ConnectWiseError) -> None:
        """A Retry-After holds the client's every request until it has passed (counted from now: the answer came)."""
        seconds = getattr(err, "retry_after", None)
        if not seconds:
            return
        with self._hold_lock:
            self._hold_until = max(self._hold_until, self._clock() + float(seconds))
        if self._shared_hold is not None:
            self._shared_hold.hold(float(seconds))

    def _held_for(self) -> float:
        """Seconds left of the longest Retry-After met by this client or, through the shared hold, any other."""
        left = self._hold_until - self._clock()
        if self._shared_hold is not None:
            left = max(left, self._shared_hold.held_for())
        return left

    def _take_turn(self, method: str, path: str, start: float, attempt: int, retry: bool) -> object | None:
        """Before a request: wait out the Retry-After holds (:meth:`_wait_out_hold`), then take the request's turn
        from the limiter. A limiter that asks for its shared hold with the turn (:class:`SharedTurn`) does both in
        one round trip: this client's own hold is waited out first, then the shared one, until a turn is taken
        with no hold set (the hold is asked before every request, as before). A limiter that caps the tenant's
        requests in flight (:class:`SharedSlots`) takes a slot in the same round trip: the slot is returned (to be
        given back once the answer has come), after waiting for one while every slot is taken (:meth:`_wait_for_slot`).
        A shared hold waited out ends a little later for each waiter (up to :data:`HOLD_JITTER_SECONDS`), so every
        process it held does not send at the same instant."""
        turn = self._shared_turn
        if turn is None:
            self._wait_out_hold(method, path, start, attempt, retry)
            if self.limiter is not None:
                self.limiter.acquire()
            return None
        slots = self._shared_slots
        slot_wait: _SlotWait | None = None
        while True:
            self._wait_out_hold(method, path, start, attempt, retry, left=self._hold_until - self._clock())
            if slots is None:
                held, slot = turn.turn_unless_held(), None
                if held <= 0:
                    return None
            else:
                held, slot = slots.turn_and_slot()
                if slot is not None:
                    return slot
                if held <= 0:
                    slot_wait = slot_wait or _SlotWait(self._clock())
                    self._wait_for_slot(slot_wait, method, path, start, attempt)
                    continue
            self._wait_out_hold(method, path, start, attempt, retry,
                                left=held + self._rng() * min(HOLD_JITTER_SECONDS, held / 4))

    def _wait_for_slot(self, wait: _SlotWait, method: str, path: str, start: float, attempt: int) -> None:
        """Every slot of the tenant's requests in flight is taken (by any process): wait a moment before asking
        again, a few milliseconds at first, then longer (up to :data:`SLOT_POLL_MAX_SECONDS`, jittered). The wait
        is bounded as a Retry-After's is (``max_retry_seconds`` from the request's start); one of a second or more
        is told to ``on_retry_wait``, whose answer is then asked every second whether to give up (a run asked to
        stop). Either ends the request at once, unsent, as rate-limited."""
        step = min(SLOT_POLL_MAX_SECONDS, SLOT_POLL_FIRST_SECONDS * 2 ** min(wait.polls, 8)) * (0.5 + self._rng())
        wait.polls += 1
        now = self._clock()
        elapsed = now - start
        err = None
        if elapsed + step > self.settings.max_retry_seconds or (
                wait.give_up is not None and now - wait.asked >= GIVE_UP_POLL_SECONDS and wait.ask(now)):
            err = InFlightFull(f"colcw's {self._shared_slots.max_in_flight} requests in flight to ConnectWise (the "
                              f"most it sends at once) were all still out after {now - wait.since:.1f} s; not sent",
                              method=method, path=path)
            err.note_attempts(attempt - 1 or 1, elapsed)
            raise err
        if wait.give_up is None and not wait.told and now - wait.since >= NOTED_WAIT_SECONDS:
            wait.told = True
            if self.on_retry_wait is not None:
                err = InFlightFull(InFlightFull.why_not_done, method=method, path=path)
                wait.give_up = self.on_retry_wait(err, NOTED_WAIT_SECONDS)
                wait.asked = now
        self._sleep(step)

    def _wait_out_hold(self, method: str, path: str, start: float, attempt: int, retry: bool, *,
                       left: float | None = None) -> None:
        """Before a request: wait until the latest Retry-After met has passed. A wait that would take the request past
        ``max_retry_seconds`` (or any wait for a request that is not retried) fails it at once, unsent, as
        rate-limited, saying how long is left; so does a run asked to stop meanwhile. ``left``: the seconds left of
        the hold, when the caller knows them (else this client's and the shared hold are asked)."""
        if left is None:
            left = self._held_for()
        if left <= 0:
            return
        err = RateLimited(f"ConnectWise asked colcw to send nothing for {left:.0f} s more (Retry-After); not sent",
                          retry_after=left, method=method, path=path)
        elapsed = self._clock() - start
        if not retry or elapsed + left > self.settings.max_retry_seconds or self._too_long_to_hold(err, left):
            err.note_attempts(attempt - 1 or 1, elapsed)
            raise err
        told = self.on_retry_wait is not None and self._worth_telling(left, backoff=False)
        give_up = self.on_retry_wait(err, left) if told else None
        if not self._pause(left, give_up):
            err.note_attempts(attempt - 1 or 1, self._clock() - start)
            raise err
        # (another thread may have met a later Retry-After meanwhile: the loop asks again before sending)
        self._wait_out_hold(method, path, start, attempt, retry)

    def _worth_telling(self, wait: float, *, backoff: bool) -> bool:
        """Whether a pause between two tries is told to ``on_retry_wait``: one of a second or more, and a back-off (no
        Retry-After timed it) from twice ``backoff_base`` on (a second by default: from the third try's on, whatever
        the jitter), so a client with shorter back-offs (the tests') tells of the same pauses of a request as the
        default one does, only shorter."""
        return wait >= NOTED_WAIT_SECONDS or (backoff and wait >= 2 * self.settings.backoff_base)

    def _too_long_to_hold(self, err: ConnectWiseError, wait: float) -> bool:
        """A Retry-After longer than ``max_hold_seconds``: not slept here (a queued run waits for it in RQ instead)."""
        bound = self.settings.max_hold_seconds
        return bound is not None and getattr(err, "retry_after", None) is not None and wait > bound

    def _refused_again(self, method: str, path: str) -> AuthenticationFailed:
        """The login refusal met earlier, for this request (not sent)."""
        first = self.login_refused
        assert first is not None
        return AuthenticationFailed(f"{first.message} (refused earlier; not sent again)", status=first.status,
                                    code=first.code, method=method, path=path)

    def _pause(self, seconds: float, give_up: Callable[[], bool] | None) -> bool:
        """Sleep ``seconds`` between two tries; False as soon as ``give_up()`` says so (asked every second)."""
        if give_up is None:
            self._sleep(seconds)
            return True
        left = seconds
        while left > 0:
            step = min(GIVE_UP_POLL_SECONDS, left)
            self._sleep(step)
            left -= step
            if left > 0 and give_up():
                return False
        return True

    def _request(self, method: str, url: str, *, params: Mapping[str, Any] | None, data: bytes | None,
                 headers: dict[str, str], verify: bool | str, prepared_url: str | None = None) -> requests.Response:
        """``session.request(...)``, prepared with less work.

        ``Session.request`` merges what the session holds into each request through generic code (its
        ``merge_setting`` and params encoding test each value against typing protocols, slow on Python
        3.11): about a tenth of colcw's CPU per request in a bulk export. A session that reads nothing from
        the environment (``trust_env`` off, as the client's own) gets the same prepared request built
        directly: the session's headers under the call's (validated once per distinct set, then copied),
        the query encoded as ``Session.request`` encodes it, the session's cookies when it holds any, its
        auth and hooks, and the same send settings (redirects followed, the session's proxies, stream and
        cert). Any other session goes through ``Session.request``. The URL is requests' own (:func:`.query.full_url`:
        a plain one, as every one the client sends is, is not parsed again).
        """
        session = self.session
        timeout = self.settings.timeout
        if session.trust_env:
            return session.request(method, url, params=params, data=data, headers=headers, timeout=timeout,
                                   verify=verify)
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = prepared_url or full_url(url, encode_query(params))
        prepared.headers = self._merged_headers(session, headers)
        prepared.prepare_body(data, None)
        if session.auth is not None or "@" in url:
            prepared.prepare_auth(session.auth, url)
        jar = RequestsCookieJar()
        if session.cookies:
            jar = merge_cookies(jar, session.cookies)
            prepared.prepare_cookies(jar)
        else:
            prepared._cookies = jar  # what a redirect would carry on (nothing to send)
        prepared.prepare_hooks(session.hooks)
        return session.send(prepared, timeout=timeout, allow_redirects=True, proxies=dict(session.proxies),
                            stream=session.stream, verify=verify if verify is not None else session.verify,
                            cert=session.cert)

    def _merged_headers(self, session: requests.Session, headers: dict[str, str]) -> CaseInsensitiveDict:
        """The session's headers with the call's over them, as ``PreparedRequest.prepare_headers`` leaves them
        (each validated); the result for a set seen before is copied, not validated again.

        Sets are kept for the whole process (a run's client is new, and most of its few requests were the first of
        their set), without the credentials: the call's ``Authorization`` is kept out of the set (a stand-in holds
        its place) and put in each copy, validated once per client. A session whose own headers hold an
        ``Authorization`` keeps its sets to this client."""
        session_key = tuple(session.headers.items())
        if "authorization" in session.headers:
            return self._merged_once(self._header_sets, (session_key, tuple(headers.items())), session, headers)
        auth = headers.get("Authorization")
        if auth is None:
            return self._merged_once(_HEADER_SETS, (session_key, tuple(headers.items()), False), session, headers)
        open_headers = {**headers, "Authorization": _AUTH_STAND_IN}
        merged = self._merged_once(_HEADER_SETS, (session_key, tuple(open_headers.items()), True), session,
                                   open_headers)
        if auth != self._valid_auth:
            check_header_validity(("Authorization", auth))  # (as prepare_headers validates it)
            self._valid_auth = auth
        merged["Authorization"] = auth
        return merged

    @staticmethod
    def _merged_once(sets: dict[tuple, CaseInsensitiveDict], key: tuple, session: requests.Session,
                     headers: dict[str, str]) -> CaseInsensitiveDict:
        """A copy of the validated set ``key`` in ``sets`` (validated and kept first, when not there)."""
        merged = sets.get(key)
        if merged is None:
            combined = CaseInsensitiveDict(session.headers)
            combined.update(headers)
            probe = requests.PreparedRequest()
            probe.prepare_headers({name: value for name, value in combined.items() if value is not None})
            merged = _Headers(probe.headers)
            if len(sets) > 64:
                sets.clear()
            sets[key] = merged
        return merged.copy()


# Validated header sets shared by the clients of the process (Transport._merged_headers): no credentials in them.
_HEADER_SETS: dict[tuple, CaseInsensitiveDict] = {}
_AUTH_STAND_IN = "Basic -"  # where a request's Authorization goes in a shared set (replaced in each copy)


def _store_copies(cls: type) -> bool:
    """Whether ``cls`` (requests' ``CaseInsensitiveDict``) keeps its headers as this module copies them: a private
    ``_store`` mapping of each lower-cased name to (name, value). Checked once, at import: a requests that keeps them
    otherwise gets ``CaseInsensitiveDict``'s own copy (:class:`_Headers`)."""
    try:
        probe = cls({"X-Probe": "1"})
        store = probe._store
        copied = cls.__new__(cls)
        copied._store = store.copy()
        return (dict(store) == {"x-probe": ("X-Probe", "1")} and copied.get("x-PROBE") == "1"
                and dict(copied) == {"X-Probe": "1"} and copied._store is not store)
    except Exception:  # noqa: BLE001 - any other shape: the public way
        return False


_STORE_COPIES = _store_copies(CaseInsensitiveDict)


class _Headers(CaseInsensitiveDict):
    """A request's headers whose copy is a copy of the validated store (``CaseInsensitiveDict.copy`` sets each header
    again, a dozen Python calls a header). What a copy holds, and its type, are as ``CaseInsensitiveDict``'s. It rests
    on requests' private ``_store`` only when :func:`_store_copies` found it as known at import."""

    def copy(self) -> _Headers:
        if not _STORE_COPIES:
            return _Headers(self)  # (the public way: each header set again)
        copied = _Headers.__new__(_Headers)  # (its store is set next)
        copied._store = self._store.copy()
        return copied


def _resource_of(template: str) -> str:
    """``company/companies/{id}`` or ``.../count`` -> ``company/companies`` (for 403 messages)."""
    parts = template.split("/")
    while len(parts) > 1 and parts[-1] in ("{id}", "count", "info", "default"):
        parts.pop()
    return "/".join(parts)
