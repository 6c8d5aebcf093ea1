"""Codebase discovery: ``GET {site}/login/companyinfo/{companyId}`` (API-NOTES §2).

The call is unauthenticated. An unknown company id gets HTTP 200 with a JSON ``null``.

A codebase changes only when ConnectWise upgrades a cloud tenant, so it is discovered once and
remembered (API-NOTES §9.3: "discover the codebase once, cache it, and re-discover on 404"): a
:class:`CodebaseMemo` shared by the clients of every process spares each new client (a rep's
export, a search in the import dialog) a round trip to the login host and a second TLS handshake.
A client that starts from a remembered codebase reads it again on its first 404 (see the client).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from .errors import (
    ConnectWiseError,
    DiscoveryError,
    DiscoveryRateLimited,
    DiscoveryServerError,
    NetworkError,
    RateLimited,
    ServerError,
    TLSFailed,
)
from .settings import ClientSettings
from .transport import Transport

# A codebase is one path segment ("v2025_1/", "v4_6_release/"): anything else could
# steer requests elsewhere, so it is refused.
_CODEBASE_RE = re.compile(r"^[A-Za-z0-9_.\-]+/?$")

# How long a remembered codebase is used without asking again: a stale one is found by its 404 anyway.
CODEBASE_TTL_SECONDS = 6 * 3600


def is_codebase(value: object) -> bool:
    """Whether ``value`` is a codebase colcw will put in a URL (one path segment)."""
    return isinstance(value, str) and bool(_CODEBASE_RE.match(value))


class CodebaseMemo(Protocol):
    """Where clients remember a tenant's codebase (``site_root`` and company id say which tenant)."""

    def get(self, site_root: str, company_id: str) -> str | None: ...

    def put(self, site_root: str, company_id: str, codebase: str) -> None: ...


class CodebaseMemory:
    """A :class:`CodebaseMemo` of this process alone, each codebase kept ``ttl`` seconds. Thread-safe."""

    def __init__(self, ttl: float = CODEBASE_TTL_SECONDS, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self, site_root: str, company_id: str) -> str | None:
        with self._lock:
            codebase, until = self._kept.get((site_root, company_id.lower()), (None, 0.0))
        return codebase if codebase is not None and self._clock() < until else None

    def put(self, site_root: str, company_id: str, codebase: str) -> None:
        with self._lock:
            self._kept[(site_root, company_id.lower())] = (codebase, self._clock() + self.ttl)


@dataclass(frozen=True)
class CompanyInfo:
    """What ``/login/companyinfo/{companyId}`` said about the tenant."""

    company_id: str
    codebase: str
    company_name: str | None = None
    version_code: str | None = None
    version_number: str | None = None
    is_cloud: bool | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _as_met(error: DiscoveryError, cause: ConnectWiseError) -> DiscoveryError:
    """``error`` as ``cause`` was met: its time (a Retry-After counts from then) and its tries."""
    error.at = cause.at
    error.note_attempts(cause.attempts, cause.elapsed)
    return error


def read_company_info(transport: Transport, settings: ClientSettings, *, retry: bool = True) -> CompanyInfo:
    """Ask the site for the company's codebase; raise `DiscoveryError` on any failure.

    A 429, a 5xx, a timeout or a connection that fails is transient (tried again as any such failure, a 429 after its
    Retry-After: :class:`DiscoveryRateLimited`, :class:`DiscoveryServerError`, kind ``unreachable``); any other answer
    that is not the company's (a 404, an unknown company's ``null``, no codebase) says the site URL or the company id
    is wrong."""
    s = settings
    path = f"/login/companyinfo/{quote(s.company_id, safe='')}"
    try:
        response = transport.send(
            "GET", s.site_root + path, path=path, template="login/companyinfo", auth=False, retry=retry
        )
    except TLSFailed as exc:
        # An address written without a scheme was tried as https: a server speaking plain http may be meant.
        hint = DiscoveryError.HINTS["tls_without_scheme" if exc.not_tls and not s.scheme_given else "tls"]
        raise DiscoveryError(f"TLS failed talking to {s.site_root}: {exc.message}", kind="tls", hint=hint) from exc
    except NetworkError as exc:
        raise DiscoveryError(f"cannot reach {s.site_root}: {exc.message}", kind="unreachable") from exc
    except RateLimited as exc:  # (also a hold another request's Retry-After left: not sent)
        raise _as_met(DiscoveryRateLimited(f"{s.site_root} rate-limited the company lookup: {exc.message}",
                                           status=exc.status, retry_after=exc.retry_after), exc) from exc
    except ServerError as exc:
        raise _as_met(DiscoveryServerError(f"{s.site_root} failed the company lookup: {exc.message}",
                                           status=exc.status, retry_after=exc.retry_after), exc) from exc
    except ConnectWiseError as exc:
        raise DiscoveryError(
            f"{s.site_root} answered HTTP {exc.status} to the company lookup",
            kind="bad_response",
            status=exc.status,
        ) from exc
    try:
        body = response.json()
    except ValueError:
        raise DiscoveryError(
            f"{s.site_root} did not answer the company lookup with JSON", kind="bad_response"
        ) from None
    if body is None:
        raise DiscoveryError(
            f"ConnectWise does not know the company id {s.company_id!r}", kind="unknown_company"
        )
    codebase = body.get("Codebase") if isinstance(body, dict) else None
    if not is_codebase(codebase):
        raise DiscoveryError(
            f"{s.site_root} answered the company lookup without a codebase", kind="bad_response"
        )
    cloud = body.get("IsCloud")
    return CompanyInfo(
        company_id=str(body.get("CompanyID") or s.company_id),
        codebase=codebase,
        company_name=body.get("CompanyName"),
        version_code=body.get("VersionCode"),
        version_number=body.get("VersionNumber"),
        # "IsCloud" is the string "True"/"False" (API-NOTES §2).
        is_cloud=None if cloud is None else str(cloud).lower() == "true",
        raw=body,
    )
