"""ConnectWise's error envelope and the exception that carries it to the HTTP layer.

Body shape (API-NOTES §6.2): ``{"code", "message", "errors": [{"code", "message",
"resource", "field"}] | null}``. Codes inside ``errors`` follow what public material shows
from live tenants: ``NullValue`` (required field missing), ``MaxLengthField`` ("The field
summary must be a string with a maximum length of 100."), ``NotFound`` for a reference to a
missing record (field ``status/id``), ``ObjectExists`` for a duplicate identifier, and
``Security`` for a missing security role. The 401/404/clientId bodies are not documented
publicly; the strings here are our best guess and tests should not rely on them.
"""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, errors: list[dict] | None = None) -> dict[str, Any]:
    """The standard envelope."""
    return {"code": code, "message": message, "errors": errors}


def field_error(code: str, message: str, resource: str, field: str) -> dict[str, str]:
    """One ``errors[]`` entry."""
    return {"code": code, "message": message, "resource": resource, "field": field}


class ApiError(Exception):
    """An error response: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message") if body else str(status))
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid(resource: str, errors: list[dict]) -> ApiError:
    """400 InvalidObject wrapping field errors (ConnectWise reports them all at once)."""
    return ApiError(400, error_body("InvalidObject", f"{resource} object is invalid", errors))


def bad_request(message: str, code: str = "InvalidObject") -> ApiError:
    """400 for a malformed request (bad JSON, bad query parameter)."""
    return ApiError(400, error_body(code, message))


def not_found(label: str, rid: Any) -> ApiError:
    """404 for an unknown record id."""
    return ApiError(404, error_body("NotFound", f"{human(label)} recId {rid} not found."))


def human(label: str) -> str:
    """``opportunityStatus`` -> ``Opportunity Status`` (for messages)."""
    out = "".join(" " + ch if ch.isupper() else ch for ch in label)
    return out[:1].upper() + out[1:]


def find_error(message: str) -> ApiError:
    """400 ``ApiFindCondition``: a bad ``conditions``/``orderBy``/``fields``. Live answers quoted in
    public code carry only ``code`` and ``message`` (no ``errors`` key)."""
    return ApiError(400, {"code": "ApiFindCondition", "message": message})
