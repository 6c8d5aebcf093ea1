"""The ConnectWise Manage REST client: discovery, generic calls and paging.

Threads: one `ConnectWiseClient` may be shared by several threads. It holds one
``requests.Session`` whose only shared state is the urllib3 connection pool (which is
thread-safe); headers and auth are passed per request and the session is never mutated
after construction. Discovery state is guarded by a lock, the token bucket and the
stats have their own locks. Discovery is single-flight: while one thread reads companyinfo, the others that
need the base URL wait for its answer (a failure included) instead of asking again; no lock is held while it
is read. With a memo shared by several processes (:class:`SharedLookup`), the clients of other processes that need
the tenant's base URL meanwhile wait a moment for the codebase it remembers instead of asking too. Size the pool
with ``ClientSettings.pool_size`` to at least the number of threads.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import requests

from . import conditions as C
from .connections import LeanAdapter, SharedConnections
from .discovery import CodebaseMemo, CompanyInfo, is_codebase, read_company_info
from .errors import BadResponse, ConnectWiseError, DiscoveryError, NotFound
from .paging import MAX_PAGE_SIZE, PagesAtOnce, body, iterate_forward_only, iterate_navigable
from .patch import patch_ops
from .query import (
    DEFAULT_MAX_URL_LENGTH,
    check_path,
    encode_query,
    fields_param,
    full_url,
    in_chunks,
    list_params,
    page_size_param,
)
from .ratelimit import TokenBucket
from .resources import ForecastResource, Resource, record_id
from .server_clock import ServerClock
from .settings import ClientSettings
from .stats import RequestStats, path_template
from .transport import Transport

log = logging.getLogger("colcw_plugin.cw")

Record = dict[str, Any]


# How long a client waits for the lookup another process's client is making for the same tenant (its codebase
# remembered in the shared memo) before it makes its own: a bound, so a slow or dead one costs at most this.
OTHERS_LOOKUP_WAIT_SECONDS = 5.0
_OTHERS_LOOKUP_POLL_SECONDS = 0.05
# A 404 on a record's path (``company/contacts/12``) in ConnectWise's own error body (``{"code": "NotFound", …}``) is
# the record's: deleted, or never there. A codebase this client looked up (at its start, or after such a 404) less
# than this long ago is not looked up again for it: reading deleted records cost one companyinfo lookup each. A 404
# on a list, a count or any path without an id, one without ConnectWise's body (a web server's page), or on a base only
# remembered still looks the codebase up (a cloud upgrade moves it: every path then answers 404).
RECORD_404_LOOKUP_SECONDS = 60.0


@runtime_checkable
class SharedLookup(Protocol):
    """A :class:`~.discovery.CodebaseMemo` shared by several processes may also let one of their clients make the
    tenant's lookup while the others wait a moment for the codebase it remembers (two workers starting runs at once).

    ``claim`` answers a function to call once the lookup has ended (its codebase remembered first), or None when
    another client holds the claim; a claim lasts ``seconds`` at most (a process that died holding it). A memo that
    cannot tell (its store away) answers a function that does nothing: each client then looks up on its own.
    ``claimed`` says whether anyone holds it now (False when it cannot tell)."""

    def claim(self, site_root: str, company_id: str, seconds: float) -> Callable[[], None] | None: ...

    def claimed(self, site_root: str, company_id: str) -> bool: ...


class _Lookup:
    """One companyinfo lookup in flight (:meth:`ConnectWiseClient.discover`): the threads that need its answer
    meanwhile wait for it, and get the same result or the same error. A transient failure with a Retry-After stays
    the answer until then (``failed_until``, on the client's clock): ConnectWise asked not to be asked before."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._info: CompanyInfo | None = None
        self._error: BaseException | None = None
        self.failed_until: float | None = None

    def settle(self, info: CompanyInfo | None, error: BaseException | None = None) -> None:
        self._info, self._error = info, error
        self._done.set()

    def result(self) -> CompanyInfo:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._info is not None
        return self._info


class ConnectWiseClient:
    """A client for one ConnectWise Manage tenant. See the module docstring on threads.

    ``sleep``, ``clock`` and ``rng`` are injectable so retry timing can be tested.
    ``rate_limiter`` lets several clients share one budget.
    """

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session | None = None,
        *,
        rate_limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
        codebases: CodebaseMemo | None = None,
        connections: SharedConnections | None = None,
    ) -> None:
        self.settings = settings
        self._codebases = codebases
        self._owns_session = session is None
        self._shared_connections = connections is not None
        if session is None:
            session = requests.Session()
            # No proxy or .netrc look-ups from the environment on every request (they cost ~2 s per
            # 11,000 requests); the connection's settings say where ConnectWise is.
            session.trust_env = False
            # Our own retry loop decides what to retry; urllib3 must not retry on its own. With
            # ``connections`` the pool is the process's, shared with the clients before and after this one.
            adapter = connections.adapter() if connections is not None else LeanAdapter(
                pool_connections=4, pool_maxsize=settings.pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.stats = RequestStats()
        if rate_limiter is None and settings.rate_limit_per_minute:
            rate_limiter = TokenBucket(settings.rate_limit_per_minute)
        self.rate_limiter = rate_limiter
        self.max_url_length = max_url_length
        # ConnectWise's clock against this machine's (the Date of its answers), for the times colcw compares with
        # ConnectWise's stamps (:mod:`.server_clock`).
        self.server_clock = ServerClock()
        self._transport = Transport(
            settings, session, limiter=rate_limiter, stats=self.stats, sleep=sleep, clock=clock, rng=rng,
            server_clock=self.server_clock,
        )
        self._clock = clock
        self._lock = threading.RLock()
        self._lookup: _Lookup | None = None  # the companyinfo lookup in flight, if any (single-flight)
        self._info: CompanyInfo | None = None
        self._base_url: str | None = None
        self._verified_base: str | None = None
        self._remembered_base: str | None = None  # the base URL as remembered, until this client reads it again
        self._looked_up_at: float | None = None  # when this client's last lookup answered (its clock)

        # Resource accessors (paths per API-NOTES §3, quirks included).
        self.companies = Resource(self, "company/companies")
        self.contacts = Resource(self, "company/contacts")
        self.states = Resource(self, "company/states")
        self.opportunities = Resource(self, "sales/opportunities")
        self.opportunity_statuses = Resource(self, "sales/opportunities/statuses")
        self.opportunity_types = Resource(self, "sales/opportunities/types")
        self.opportunity_stages = Resource(self, "sales/stages")  # not under opportunities (API-NOTES §3)
        self.products = Resource(self, "procurement/products")  # opportunity product lines
        self.catalog_items = Resource(self, "procurement/catalog")
        self.manufacturers = Resource(self, "procurement/manufacturers")
        self.categories = Resource(self, "procurement/categories")
        # Listed and created with a trailing slash; items without (API-NOTES §3).
        self.subcategories = Resource(
            self, "procurement/subcategories", list_path="procurement/subcategories/"
        )
        self.product_types = Resource(self, "procurement/types")
        self.members = Resource(self, "system/members")
        self.locations = Resource(self, "system/locations")
        self.departments = Resource(self, "system/departments")
        self.callbacks = Resource(self, "system/callbacks")

    def company_sites(self, company_id: int | str) -> Resource:
        """``company/companies/{id}/sites``."""
        return Resource(self, f"company/companies/{record_id(company_id)}/sites")

    def opportunity_forecast(self, opportunity_id: int | str) -> ForecastResource:
        """``sales/opportunities/{id}/forecast``."""
        return ForecastResource(self, f"sales/opportunities/{record_id(opportunity_id)}/forecast")

    def __repr__(self) -> str:
        return (
            f"<ConnectWiseClient {self.settings.site_root} company={self.settings.company_id!r} "
            f"auth={self.settings.auth_mode}>"
        )

    def notify_retry_waits(self, listener: Callable[[ConnectWiseError, float], Callable[[], bool] | None] | None
                           ) -> None:
        """Call ``listener(error, seconds)`` before a pause between two tries of a request that is either a second or
        more (a 429's Retry-After, a wait for another request's Retry-After, a long back-off), or a back-off (a server
        error's, no Retry-After) of at least twice ``ClientSettings.backoff_base`` (COLCW_CW_BACKOFF_SECONDS): a
        second with the default 0.5 s, the pauses after a request's third try and later ones whatever the jitter, so a
        shorter back-off tells of the same pauses (:meth:`.transport.Transport._worth_telling`). A Retry-After under a
        second is not told. The listener may answer a function the pause asks every second whether to give up: the
        request then fails with the error it waited on."""
        self._transport.on_retry_wait = listener

    @property
    def login_refused(self) -> ConnectWiseError | None:
        """ConnectWise's refusal of the login (401), once met: the client sends nothing more (each request fails at
        once with it), and a run stops as a whole (:mod:`colcw_plugin.sync.jobs.runs`)."""
        return self._transport.login_refused

    def close(self) -> None:
        """Close the session if this client created it (shared connections stay for the next client)."""
        if self._owns_session:
            if self._shared_connections:
                self.session.adapters.clear()
            self.session.close()

    def __enter__(self) -> ConnectWiseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- discovery --------------------------------------------------------------------

    def discover(self, *, retry: bool = True) -> CompanyInfo:
        """Read ``/login/companyinfo/{companyId}`` and set the API base URL (and remember its codebase
        for the clients that share this one's :class:`CodebaseMemo`).

        Raises `DiscoveryError` with ``kind`` unreachable, tls, unknown_company or
        bad_response.

        Single-flight: a call while another thread's lookup is in flight sends none and answers (or raises) what
        that one gets, a transient failure included (while ConnectWise keeps failing the lookup, the reads a run
        sent ahead side by side each asked again, one after the other's Retry-After), and so does a call while the
        Retry-After of its transient failure runs. Nothing is held while the lookup is sent but this client's note
        that it is in flight (no lock; a call here waits for no other process's lookup); a later call, once it
        ended, asks again.
        """
        info = self._look_up(retry=retry, needed=lambda: True)
        assert info is not None
        return info

    def _look_up(self, *, needed: Callable[[], bool], retry: bool = True,
                 others_first: bool = False) -> CompanyInfo | None:
        """:meth:`discover`, unless ``needed()`` (asked under the lock, with no lookup in flight) says the base URL
        is known by now: then None, and nothing sent. A thread that found no base URL (nor a remembered one) and
        asks for a lookup may come just after another thread's lookup ended: that one's answer is the base URL it
        needed (two lookups went out at a run's start when a read sent ahead came a moment late).

        With ``others_first`` (only the base URL is needed, not the whole answer) and a memo shared by several
        processes (:class:`SharedLookup`), the lookup is first left to another process's client making it now: its
        codebase, once remembered, is this client's (as remembered: read again on a 404). That wait is bounded
        (:data:`OTHERS_LOOKUP_WAIT_SECONDS`); after it, or when that lookup ended without an answer, this client
        makes its own."""
        with self._lock:
            lookup = self._lookup
            if lookup is not None and lookup.failed_until is not None and self._clock() >= lookup.failed_until:
                lookup = None  # ConnectWise's Retry-After has passed: ask again
            ours = lookup is None
            if ours:
                if not needed():
                    return None
                lookup = self._lookup = _Lookup()
        assert lookup is not None
        if not ours:
            return lookup.result()
        s = self.settings
        release: Callable[[], None] | None = None
        try:
            if others_first and isinstance(self._codebases, SharedLookup):
                release = self._codebases.claim(s.site_root, s.company_id, OTHERS_LOOKUP_WAIT_SECONDS)
                if release is None:
                    codebase = self._others_lookup()
                    if codebase is not None:
                        with self._lock:
                            self._base_url = self._remembered_base = self._base_for(codebase)
                            self._lookup = None
                        remembered = CompanyInfo(company_id=s.company_id, codebase=codebase)
                        lookup.settle(remembered)
                        return remembered
            info = read_company_info(self._transport, s, retry=retry)
        except BaseException as e:
            if release is not None:
                release()
            wait = getattr(e, "retry_after", None) if isinstance(e, DiscoveryError) and e.transient else None
            with self._lock:
                if wait:
                    lookup.failed_until = self._clock() + float(wait)
                else:
                    self._lookup = None
            lookup.settle(None, e)
            raise
        codebase = info.codebase
        with self._lock:
            self._info = info
            self._base_url = self._base_for(codebase)
            self._remembered_base = None
            self._lookup = None
            self._looked_up_at = self._clock()
        lookup.settle(info)
        log.info("ConnectWise codebase for %s is %s", s.company_id, codebase)
        if self._codebases is not None:
            try:
                self._codebases.put(s.site_root, s.company_id, codebase)
            except Exception:  # noqa: BLE001 - remembering is a saving, never a reason to fail
                log.warning("could not remember the ConnectWise codebase", exc_info=True)
        if release is not None:
            release()  # (once remembered: a client waiting for it finds it)
        return info

    def _others_lookup(self) -> str | None:
        """The codebase another process's client is looking up now, once it remembers it; None when its claim ends
        without one (its lookup failed, or it died) or after :data:`OTHERS_LOOKUP_WAIT_SECONDS`."""
        memo = self._codebases
        assert isinstance(memo, SharedLookup)
        s = self.settings
        deadline = time.monotonic() + OTHERS_LOOKUP_WAIT_SECONDS  # (real time: the memo's claim lasts as long)
        while True:
            codebase = self._remembered()
            if codebase is not None:
                return codebase
            if not memo.claimed(s.site_root, s.company_id) or time.monotonic() >= deadline:
                return self._remembered()  # (remembered just before its claim ended, or not at all)
            time.sleep(_OTHERS_LOOKUP_POLL_SECONDS)

    def _base_for(self, codebase: str) -> str:
        return f"{self.settings.api_root}/{codebase.strip('/')}/apis/3.0/"

    def _remembered(self) -> str | None:
        """The codebase another client found for this tenant, if it is remembered and well formed."""
        if self._codebases is None:
            return None
        try:
            codebase = self._codebases.get(self.settings.site_root, self.settings.company_id)
        except Exception:  # noqa: BLE001 - without the memo the client discovers, as it would anyway
            log.warning("could not read the remembered ConnectWise codebase", exc_info=True)
            return None
        return codebase if is_codebase(codebase) else None

    @property
    def company_info(self) -> CompanyInfo | None:
        """The last companyinfo answer, or None before the first call."""
        return self._info

    @property
    def base_url(self) -> str:
        """``{api host}/{codebase}apis/3.0/``: on first use the remembered codebase, else discovered (one lookup
        for the threads that need it at once: :meth:`discover`)."""
        with self._lock:
            if self._base_url is not None:
                return self._base_url
        codebase = self._remembered()  # (a read of the shared memo: not under the lock)
        if codebase is not None:
            with self._lock:
                if self._base_url is None:
                    self._base_url = self._remembered_base = self._base_for(codebase)
                return self._base_url
        # Not under the lock: a lookup in flight is waited for, and one that ended meanwhile is not sent again.
        self._look_up(needed=lambda: self._base_url is None, others_first=True)
        with self._lock:
            assert self._base_url is not None
            return self._base_url

    def _rediscover(self, stale_base: str) -> bool:
        """Re-read companyinfo after a 404; True when the base URL changed."""
        with self._lock:
            if self._base_url != stale_base:
                return True  # another thread already refreshed it
        try:
            # (another thread's lookup in flight is waited for, and one that moved the base meanwhile is not sent
            # again: single-flight)
            self._look_up(needed=lambda: self._base_url == stale_base)
        except DiscoveryError:
            log.warning("ConnectWise rediscovery after a 404 failed", exc_info=True)
            return False
        with self._lock:
            return self._base_url != stale_base

    def _record_missing(self, base: str, template: str, error: NotFound) -> bool:
        """Whether a 404 on ``base`` is taken for the record's own, the codebase not looked up again for it: on a
        record's path, in ConnectWise's error body, on the base this client looked up itself less than
        :data:`RECORD_404_LOOKUP_SECONDS` ago (so reading deleted records costs at most one lookup that long)."""
        if "{id}" not in template.split("/") or error.code is None:
            return False
        with self._lock:
            looked = self._looked_up_at
            return (base == self._base_url and base != self._remembered_base and looked is not None
                    and self._clock() - looked < RECORD_404_LOOKUP_SECONDS)

    # -- raw calls --------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        """One API call relative to the base URL, with retries and rediscovery on 404 (not for a record's own 404 just
        after a lookup: :meth:`_record_missing`)."""
        path = check_path(path)
        template = path_template(path)
        query = encode_query(params)  # (once, not again for each base or try)

        def send(base: str) -> requests.Response:
            url = full_url(base + path, query)
            self._check_url_length(url)
            return self._transport.send(method, base + path, path=path, template=template, body=body,
                                        extra_headers=extra_headers, retry=retry, prepared_url=url)

        base = self.base_url
        try:
            response = send(base)
        except NotFound as e:
            # A 404 on a base that worked before, or that was only remembered, may mean the tenant
            # moved to a new codebase (cloud upgrades): re-read companyinfo once and retry if it moved. A record's
            # own 404 just after this client looked the codebase up is not (reading deleted records).
            if base not in (self._verified_base, self._remembered_base) or self._record_missing(base, template, e) \
                    or not self._rediscover(base):
                raise
            base = self.base_url
            response = send(base)
        self._verified_base = base
        return response

    def _check_url_length(self, full: str) -> None:
        """Refuse a URL longer than ``max_url_length`` before it is sent: colcw's own limit (the Developer Guide's safe
        length, :data:`.query.DEFAULT_MAX_URL_LENGTH`), below what ConnectWise refuses, whose answer is undocumented
        (the sandbox answers 414 over 2,048). The caller builds its conditions to fit: long ``in`` lists go through
        :meth:`iterate_in`, long ``like`` patterns are made shorter (as the export's look-alikes and the import
        popup's search do). A ValueError, not a ConnectWise error: nothing was sent, and the bug is colcw's (its
        message may reach a run's log, which asks to send it to colcw's support). ``full``: the URL as sent, its query
        in it (:func:`.query.full_url`)."""
        if len(full) > self.max_url_length:
            raise ValueError(f"a ConnectWise URL of {len(full)} characters, over the {self.max_url_length} colcw "
                             "keeps to, was not sent: colcw must build its conditions shorter (a long in-list through "
                             "iterate_in, a long like pattern cut)")

    def _json(self, response: requests.Response, path: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return body(response)
        except ValueError:
            raise BadResponse("response is not JSON", method=response.request.method, path=path) from None

    # -- generic operations -----------------------------------------------------------

    def get(
        self, path: str, *, fields: Sequence[str] | None = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """GET ``path`` and return the decoded JSON."""
        query = dict(params or {})
        if fields:
            query["fields"] = fields_param(fields)
        return self._json(self.request("GET", path, params=query or None), path)

    def list_params(self, **kwargs: Any) -> dict[str, Any]:
        """Query parameters shared by list, iterate and count (see :func:`.query.list_params`)."""
        return list_params(**kwargs)

    def list(
        self,
        path: str,
        *,
        conditions: C.Condition | None = None,
        fields: Sequence[str] | None = None,
        order_by: str | None = None,
        page: int = 1,
        page_size: int = 25,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
    ) -> list[Record]:
        """One page of a list endpoint."""
        params = self.list_params(
            conditions=conditions,
            fields=fields,
            order_by=order_by,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
        )
        params.update(page=int(page), pageSize=page_size_param(page_size))
        data = self._json(self.request("GET", path, params=params), path)
        if not isinstance(data, list):
            raise BadResponse("list response is not a JSON array", method="GET", path=path)
        return data

    def iterate_pages(
        self,
        path: str,
        *,
        conditions: C.Condition | None = None,
        fields: Sequence[str] | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
        forward_only: bool | None = None,
        at_once: int = 1,
    ) -> Iterator[list[Record]]:
        """Every page, in order. ``forward_only=None`` picks forward-only when there is no orderBy.

        With ``fields``, ``id`` is always requested too: the loops use it to check
        they advance. ``at_once`` > 1 (page-numbered paging only) asks for that many pages side
        by side, from now on (:class:`.paging.PagesAtOnce`: close it when stopping early).
        """
        if forward_only is None:
            forward_only = order_by is None
        if forward_only and order_by is not None:
            raise ValueError("forward-only paging cannot be combined with orderBy")
        params = self.list_params(
            conditions=conditions,
            fields=fields,
            order_by=order_by,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
            need_id=True,
        )
        size = page_size_param(page_size)

        def fetch(query: dict[str, Any], headers: Mapping[str, str] | None) -> requests.Response:
            return self.request("GET", path, params=query, extra_headers=headers)

        if at_once > 1:
            if forward_only:
                raise ValueError("forward-only pages cannot be asked for several at once: each needs the one before")
            return PagesAtOnce(fetch, params, page_size=size, path=path, at_once=at_once)
        loop = iterate_forward_only if forward_only else iterate_navigable
        return loop(fetch, params, page_size=size, path=path)

    def iterate(self, path: str, **kwargs: Any) -> Iterator[Record]:
        """Yield every record of a list endpoint (same arguments as `iterate_pages`)."""
        for page in self.iterate_pages(path, **kwargs):
            yield from page

    def iterate_in(
        self,
        path: str,
        field_name: str,
        values: Iterable[Any],
        *,
        conditions: C.Condition | None = None,
        **kwargs: Any,
    ) -> Iterator[Record]:
        """Records whose ``field_name`` is in ``values``, split into ``in (...)`` chunks
        so every URL stays under ``max_url_length`` characters."""
        for chunk in self.in_chunks(path, field_name, values, conditions=conditions, **kwargs):
            yield from self.iterate(path, conditions=C.and_(C.in_(field_name, chunk), conditions), **kwargs)

    def in_chunks(self, path: str, field_name: str, values: Iterable[Any], *,
                  conditions: C.Condition | None = None, **kwargs: Any) -> Iterator[list[Any]]:
        """Split ``values`` (deduplicated, order kept) into URL-length-safe ``in (...)`` chunks."""
        return in_chunks(self.base_url + check_path(path), field_name, values, max_url_length=self.max_url_length,
                         conditions=conditions, **kwargs)

    def count(
        self,
        path: str,
        *,
        conditions: C.Condition | None = None,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
    ) -> int:
        """``GET {path}/count``."""
        params = self.list_params(
            conditions=conditions,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
        )
        count_path = check_path(path).rstrip("/") + "/count"
        data = self._json(self.request("GET", count_path, params=params or None), count_path)
        if not isinstance(data, dict) or not isinstance(data.get("count"), int):
            raise BadResponse("count response has no integer 'count'", method="GET", path=count_path)
        return data["count"]

    def create(self, path: str, body: Mapping[str, Any]) -> Record:
        """POST a new record; returns the created record (201)."""
        return self._json(self.request("POST", path, body=dict(body)), path)

    def update(self, path: str, body: Mapping[str, Any]) -> Record:
        """PUT a whole record (fields left out are reset by ConnectWise)."""
        return self._json(self.request("PUT", path, body=dict(body)), path)

    def patch(self, path: str, changes: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Record:
        """PATCH: ``changes`` is ``{field: new value}`` (turned into replace ops) or a ready op list."""
        ops = patch_ops(changes) if isinstance(changes, Mapping) else [dict(op) for op in changes]
        if not ops:
            raise ValueError("nothing to patch")
        return self._json(self.request("PATCH", path, body=ops), path)

    def delete(self, path: str) -> None:
        """DELETE a record (204)."""
        self.request("DELETE", path)

    # -- system -----------------------------------------------------------------------

    def system_info(self) -> Record:
        """``GET system/info``: version, isCloud, serverTimeZone..."""
        return self.get("system/info")

