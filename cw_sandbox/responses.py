"""JSON responses, and the media type ConnectWise answers API requests with.

The official spec declares every 200 as ``application/vnd.connectwise.com+json; version=2026.4``;
the version is the one the client asked for in ``Accept`` (the latest when it asked for none).
Error bodies use the same media type (unverified: the spec declares only 2xx responses; a
client that insists on ``application/json`` would break on either).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response

from cw_sandbox.errors import bad_request

LATEST_VERSION = "2026.4"
VENDOR_TYPE = "application/vnd.connectwise.com+json"
_VERSION = re.compile(r"^(\d{4})\.(\d{1,2})$")
_ACCEPT_VERSION = re.compile(r"version\s*=\s*([^;,\s]+)", re.I)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; ``ensure_ascii=False`` because ConnectWise answers UTF-8 text."""
    body = "" if data is None and status == 204 else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    resp = Response(body, status=status, mimetype="application/json")
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def accepted_version(accept: str) -> str:
    """The API version asked for in ``Accept`` (latest when none); 400 for a malformed one."""
    match = _ACCEPT_VERSION.search(accept)
    if not match:
        return LATEST_VERSION
    version = match.group(1).strip('"')
    parsed = _VERSION.match(version)
    if not parsed or not (2019 <= int(parsed.group(1)) <= 2026) or not 1 <= int(parsed.group(2)) <= 24:
        raise bad_request(f"The API version '{version}' is not supported.", code="InvalidVersion")
    if (int(parsed.group(1)), int(parsed.group(2))) > (2026, 4):
        raise bad_request(f"The API version '{version}' is not supported.", code="InvalidVersion")
    return version


def vendor_media_type(accept: str) -> str:
    """The ``Content-Type`` of an API answer to a request that sent ``accept``."""
    try:
        version = accepted_version(accept)
    except Exception:  # noqa: BLE001 - a bad version is answered (400) in this media type too
        version = LATEST_VERSION
    return f"{VENDOR_TYPE}; version={version}; charset=utf-8"
