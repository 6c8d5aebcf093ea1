"""Exceptions raised by the ConnectWise client.

Every exception derives from `ConnectWiseError` and says whether it is ``transient``
(worth retrying later: 429, 5xx, timeouts, dropped connections) or permanent (400, 401,
403, 404, 409: repeating the same request will fail the same way). Each carries what
ConnectWise said (status, code, message, field errors), the method and path that
failed (never headers or credentials), and a ``hint`` telling a person what to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from . import places


@dataclass(frozen=True)
class FieldError:
    """One entry of ConnectWise's ``errors[]`` list."""

    code: str | None
    message: str | None
    resource: str | None
    field: str | None


class ConnectWiseError(Exception):
    """Base class. ``str(exc)`` is a one-line human message including the hint."""

    transient: ClassVar[bool] = False
    default_hint: ClassVar[str] = ""
    # Why ConnectWise did not do it, in a few words for a person (a transient failure, given up on).
    why_not_done: ClassVar[str] = "ConnectWise did not answer"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field_errors: Sequence[FieldError] = (),
        method: str | None = None,
        path: str | None = None,
        hint: str | None = None,
        resource: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.field_errors = tuple(field_errors)
        self.method = method
        self.path = path
        self.hint = hint if hint is not None else self.default_hint
        self.resource = resource
        self.attempts = 1
        self.elapsed = 0.0
        self.at = time.monotonic()  # when it was met: a Retry-After counts from then (wait_left)
        super().__init__(self._render())

    def wait_left(self) -> float:
        """Seconds still to wait before ConnectWise wants another request: what is left of its ``Retry-After``
        (a 429's, a 503's), counted from when it answered; 0 without one. Nothing colcw sends may go earlier, however
        short its own intervals."""
        seconds = getattr(self, "retry_after", None)
        if not seconds:
            return 0.0
        return max(0.0, float(seconds) - (time.monotonic() - self.at))

    @property
    def detail(self) -> str:
        """What ConnectWise answered, without the hint: for a message whose fix is given apart (a run's result
        has its message and its resolution; the hint there would say the fix twice)."""
        text = self._render(hint=False)
        return text if text.endswith(".") else text + "."

    def _render(self, *, hint: bool = True) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status} " if self.status else ""
        code = f"[{self.code}] " if self.code else ""
        text = f"{where}{status}{code}{self.message}"
        details = [f"{fe.field or fe.resource}: {fe.message}" for fe in self.field_errors if fe.message]
        if details:
            text += " (" + "; ".join(details) + ")"
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts in {self.elapsed:.1f}s)"
        if hint and self.hint:  # (after ConnectWise's own full stop, no second one)
            text += f"{'' if text.endswith('.') else '.'} {self.hint}"
        return text

    def note_attempts(self, attempts: int, elapsed: float) -> None:
        """Record how many tries were made before giving up (shown in the message)."""
        self.attempts = attempts
        self.elapsed = elapsed
        self.args = (self._render(),)

    @property
    def fields(self) -> list[str]:
        """Names of the fields ConnectWise complained about."""
        return [fe.field for fe in self.field_errors if fe.field]


# -- permanent -----------------------------------------------------------------------


class BadRequest(ConnectWiseError):
    """400: malformed request or bad condition syntax."""

    default_hint = "ConnectWise rejected the request; fix the data or query before trying again"


class ValidationFailed(BadRequest):
    """400 with field errors (``InvalidObject``): the record is invalid."""

    default_hint = "Correct the fields ConnectWise named and save again"


class AuthenticationFailed(ConnectWiseError):
    """401: the company id, keys or integrator login are wrong."""

    default_hint = (
        "Check the company id and the API keys (or integrator username/password) in the "
        "ConnectWise settings; keys may have been revoked"
    )


class PermissionDenied(ConnectWiseError):
    """403: the API member's security role lacks access to ``resource``."""

    default_hint = (
        f"Give the API member's security role access to this area in ConnectWise ({places.SECURITY_ROLES})"
    )


class NotFound(ConnectWiseError):
    """404: the record does not exist (or, on cloud, auth or codebase problems)."""

    default_hint = "The record may have been deleted in ConnectWise"


class Conflict(ConnectWiseError):
    """409: the record is in use or changed by someone else."""

    default_hint = "The record is in use or was changed in ConnectWise; reload it and try again"


class ClientError(ConnectWiseError):
    """Another 4xx (405, 415...): a bug in the request, not worth retrying."""

    default_hint = "This looks like a bug in colcw; report it with this message"


class BadResponse(ConnectWiseError):
    """The server answered 2xx with something that is not the expected JSON."""

    default_hint = "ConnectWise returned an unexpected response; check the site URL points at ConnectWise"


class PagingStalled(ConnectWiseError):
    """A paging loop stopped advancing (the server ignored page or pageId)."""

    default_hint = "Paging did not advance; this endpoint may not support this paging mode"


class TLSFailed(ConnectWiseError):
    """The TLS handshake or certificate check failed (permanent: configuration).

    ``not_tls``: the server answered, but not in TLS (most often a server speaking plain http).
    """

    default_hint = (
        "The server's certificate could not be verified; check the site URL (https) and, "
        "for on-premise servers with a private CA, the CA bundle"
    )

    def __init__(self, message: str, *, not_tls: bool = False, **kw: Any) -> None:
        self.not_tls = not_tls
        super().__init__(message, **kw)


class DiscoveryError(ConnectWiseError):
    """Codebase discovery (``/login/companyinfo``) failed.

    ``kind`` is one of ``unreachable``, ``rate_limited``, ``server_error`` (transient: ConnectWise is there but
    busy or failing, or did not answer; tried again as any such failure), ``tls``, ``unknown_company`` and
    ``bad_response`` (permanent: the site URL or the company id is wrong).
    """

    TRANSIENT_KINDS: ClassVar[frozenset[str]] = frozenset({"unreachable", "rate_limited", "server_error"})

    HINTS: ClassVar[dict[str, str]] = {
        "unreachable": "Check the site URL and that this server can reach it (firewall, proxy, DNS)",
        "tls": TLSFailed.default_hint,
        "tls_without_scheme": (
            "The address has no http:// or https://; it was tried as https://. If the server speaks plain http, "
            "write http:// in front (needs COLCW_ALLOW_HTTP)"
        ),
        "unknown_company": "Check the company id: it is the one typed on the ConnectWise login screen",
        "bad_response": "Check the site URL: it should be your ConnectWise address, e.g. https://na.myconnectwise.net",
        "rate_limited": ("ConnectWise is rate limiting this integration: nothing is wrong with the site URL; runs try "
                         "again once the wait ConnectWise asked for has passed"),
        "server_error": ("ConnectWise had a server error: nothing is wrong with the site URL; runs try again later, "
                         "or try again in a few minutes"),
    }

    def __init__(self, message: str, *, kind: str, **kw: Any) -> None:
        self.kind = kind
        kw.setdefault("hint", self.HINTS.get(kind, ""))
        super().__init__(message, **kw)

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.kind in self.TRANSIENT_KINDS


# -- transient -----------------------------------------------------------------------


class RateLimited(ConnectWiseError):
    """429: ConnectWise asked us to slow down. ``retry_after`` is in seconds."""

    transient = True
    default_hint = "ConnectWise is rate limiting this integration; it will be retried later"
    why_not_done = "ConnectWise kept rate-limiting colcw"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(ConnectWiseError):
    """500, 502, 503, 504: ConnectWise or a proxy failed."""

    transient = True
    default_hint = "ConnectWise had a server error; try again in a few minutes"
    why_not_done = "ConnectWise answered with a server error"  # once or after retries: true either way

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class NetworkError(ConnectWiseError):
    """Connection refused, DNS failure, timeout or a dropped connection.

    ``sent`` is False when the failure happened before the request could have reached
    the server (connect errors), which makes even a POST safe to retry.
    """

    transient = True
    default_hint = "Could not talk to ConnectWise; check the network and try again"
    why_not_done = "the connection to ConnectWise failed"  # not reached, dropped, or no answer in time: the detail says

    def __init__(self, message: str, *, sent: bool, **kw: Any) -> None:
        self.sent = sent
        super().__init__(message, **kw)


class InFlightFull(RateLimited):
    """Not ConnectWise's answer: every slot of colcw's requests in flight to the tenant (``COLCW_CW_MAX_IN_FLIGHT``,
    shared by every process) stayed taken for as long as the request could wait; it was not sent."""

    default_hint = "colcw sends only so many requests to ConnectWise at once; it will be retried later"
    why_not_done = "colcw waits for one of its requests in flight to ConnectWise to end"


class DiscoveryRateLimited(DiscoveryError, RateLimited):
    """429 to the company lookup: ConnectWise is there and asks colcw to wait (``retry_after``), as it does for any
    request. Counted and worded as rate-limited, never as a wrong site URL."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, kind="rate_limited", retry_after=retry_after, **kw)


class DiscoveryServerError(DiscoveryError, ServerError):
    """5xx to the company lookup: ConnectWise (or a gateway before it) failed; tried again later as any server error."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, kind="server_error", retry_after=retry_after, **kw)


# -- building exceptions from responses ---------------------------------------------


def _parse_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def parse_field_errors(body: dict[str, Any]) -> list[FieldError]:
    """Turn ``errors[]`` of a ConnectWise error body into `FieldError` objects."""
    raw = body.get("errors")
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict):
            out.append(
                FieldError(
                    code=_str_or_none(item.get("code")),
                    message=_str_or_none(item.get("message")),
                    resource=_str_or_none(item.get("resource")),
                    field=_str_or_none(item.get("field")),
                )
            )
    return out


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def error_from_response(
    response: requests.Response,
    *,
    method: str,
    path: str,
    resource: str | None = None,
    retry_after: float | None = None,
) -> ConnectWiseError:
    """Map a non-2xx response to the matching exception.

    ``path`` should be the request path without host (and without credentials);
    ``resource`` the resource path template used to name a denied permission.
    """
    status = response.status_code
    body = _parse_body(response)
    code = _str_or_none(body.get("code") or body.get("error"))
    message = _str_or_none(body.get("message")) or (response.reason or "") or f"HTTP {status}"
    field_errors = parse_field_errors(body)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "field_errors": field_errors,
        "method": method,
        "path": path,
    }
    if status == 400:
        cls = ValidationFailed if field_errors else BadRequest
        return cls(message, **kw)
    if status == 401:
        return AuthenticationFailed(message, **kw)
    if status == 403:
        denied = next((fe.resource for fe in field_errors if fe.resource), None) or resource
        hint = (
            f"Give the API member's security role access to {denied} in ConnectWise ({places.SECURITY_ROLES})"
            if denied
            else None
        )
        return PermissionDenied(message, resource=denied, hint=hint, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status == 409:
        return Conflict(message, **kw)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(message, retry_after=retry_after, **kw)
    return ClientError(message, **kw)
