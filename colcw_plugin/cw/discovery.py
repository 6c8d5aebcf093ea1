"""Codebase discovery: ``GET {site}/login/companyinfo/{companyId}`` (API-NOTES §2).

The call is unauthenticated. An unknown company id gets HTTP 200 with a JSON ``null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .errors import ConnectWiseError, DiscoveryError, NetworkError, TLSFailed
from .settings import ClientSettings
from .transport import Transport

# A codebase is one path segment ("v2025_1/", "v4_6_release/"): anything else could
# steer requests elsewhere, so it is refused.
_CODEBASE_RE = re.compile(r"^[A-Za-z0-9_.\-]+/?$")


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


def read_company_info(transport: Transport, settings: ClientSettings, *, retry: bool = True) -> CompanyInfo:
    """Ask the site for the company's codebase; raise `DiscoveryError` on any failure."""
    s = settings
    path = f"/login/companyinfo/{quote(s.company_id, safe='')}"
    try:
        response = transport.send(
            "GET", s.site_root + path, path=path, template="login/companyinfo", auth=False, retry=retry
        )
    except TLSFailed as exc:
        raise DiscoveryError(f"TLS failed talking to {s.site_root}: {exc.message}", kind="tls") from exc
    except NetworkError as exc:
        raise DiscoveryError(f"cannot reach {s.site_root}: {exc.message}", kind="unreachable") from exc
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
    if not isinstance(codebase, str) or not _CODEBASE_RE.match(codebase):
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
