"""Building a request's query: paths, ``fields``, ``orderBy``, the list parameters, page sizes, and
``in (...)`` lists split so that no URL is longer than ConnectWise's safe maximum."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, urlencode

import requests

from . import conditions as C
from .paging import MAX_PAGE_SIZE

# The Developer Guide's "safe max" URL length (API-NOTES §4.2: keep URLs under 2,000 characters,
# safe around 1,745). Every request is checked against it before it is sent.
DEFAULT_MAX_URL_LENGTH = 1745
# Room kept free in iterate_in() for "&page=N&pageSize=1000" or "&pageId=N".
_PAGING_RESERVE = 48
_PATH_RE = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*/?$")
_ORDER_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_/]*(?:\s+(?:asc|desc))?(?:\s*,\s*[A-Za-z_][A-Za-z0-9_/]*(?:\s+(?:asc|desc))?)*$",
    re.IGNORECASE,
)


# A URL that ``PreparedRequest.prepare_url`` leaves exactly as it is: http(s), a lower-case host name, a port from 1 to
# 65535, and a path of unreserved characters whose segments are neither empty nor start with a dot (so no "." or ".."
# segment to remove), with no query, fragment or credentials. Every URL the client sends is its base URL (lower-cased
# by ClientSettings) and a path check_path allows, so every one is.
_PLAIN_URL_RE = re.compile(
    r"^https?://[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?"
    r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"/(?:[A-Za-z0-9_~\-][A-Za-z0-9_.~\-]*/)*(?:[A-Za-z0-9_~\-][A-Za-z0-9_.~\-]*)?\Z"
)


def encode_query(params: Mapping[str, Any] | None) -> str:
    """``params`` as ``Session.request`` encodes them: each value (each of a list's) quoted, None left out."""
    if not params:
        return ""
    pairs = []
    for name, value in params.items():
        for one in value if isinstance(value, list | tuple) else (value,):
            if one is not None:
                pairs.append((name, one))
    return urlencode(pairs)


def full_url(url: str, query: str) -> str:
    """The URL requests sends for ``url`` with ``query`` (from :func:`encode_query`) added, exactly as
    ``PreparedRequest.prepare_url`` makes it. A plain URL (:data:`_PLAIN_URL_RE`) is left as it is, and an encoded
    query is too (``urlencode`` leaves only unreserved characters, ``+`` and upper-case ``%XX`` escapes of reserved
    ones, which requests keeps): then nothing is parsed again (parsing and re-quoting cost about a hundred Python
    calls a request). Any other URL is prepared by requests."""
    if _PLAIN_URL_RE.match(url):
        return f"{url}?{query}" if query else url
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, query)  # (a str is added to the URL's query as it is)
    return prepared.url or url


def check_path(path: str) -> str:
    path = path.lstrip("/")
    if not _PATH_RE.match(path) or ".." in path:
        raise ValueError(f"invalid ConnectWise API path: {path!r}")
    return path


def fields_param(fields: Sequence[str] | None, *, need_id: bool = False) -> str | None:
    if not fields:
        return None
    if isinstance(fields, str):
        raise TypeError("fields must be a list of field names, not a string")
    names = [C.check_field(f) for f in fields]
    if need_id and "id" not in names:
        names.insert(0, "id")  # the paging loops need ids to check they advance
    return ",".join(names)


def order_param(order_by: str | None) -> str | None:
    if order_by is None:
        return None
    if not _ORDER_RE.match(order_by.strip()):
        raise ValueError(f"invalid orderBy: {order_by!r} (expected e.g. 'name asc')")
    return order_by.strip()



def list_params(
    *,
    conditions: C.Condition | None = None,
    fields: Sequence[str] | None = None,
    order_by: str | None = None,
    child_conditions: C.Condition | None = None,
    custom_field_conditions: C.Condition | None = None,
    need_id: bool = False,
) -> dict[str, Any]:
    """Query parameters shared by list, iterate and count."""
    params = {
        "conditions": C.render(conditions),
        "childConditions": C.render(child_conditions),
        "customFieldConditions": C.render(custom_field_conditions),
        "orderBy": order_param(order_by),
        "fields": fields_param(fields, need_id=need_id),
    }
    return {k: v for k, v in params.items() if v is not None}


def in_chunks(url: str, field_name: str, values: Iterable[Any], *, max_url_length: int = DEFAULT_MAX_URL_LENGTH,
              conditions: C.Condition | None = None, **kwargs: Any) -> Iterator[list[Any]]:
    """Split ``values`` (deduplicated, order kept) into chunks whose ``field_name in (...)`` request
    to ``url`` (with the other list arguments in ``kwargs``) stays within ``max_url_length``."""
    unique = list(dict.fromkeys(values))
    if not unique:
        return
    list_kwargs = {k: kwargs[k] for k in ("fields", "order_by", "child_conditions", "custom_field_conditions")
                   if k in kwargs}
    probe = list_params(conditions=C.and_(C.InList(field_name, unique[:1]), conditions), need_id=True, **list_kwargs)
    probe_url = full_url(url, encode_query(probe))

    def listed(value: Any) -> int:
        return len(quote_plus(C.format_value(value)))

    def cost(value: Any) -> int:
        if not (isinstance(value, str) and "*" in value):
            return listed(value)
        # C.in_ asks for it apart: "(<field> in (...) OR <field> like "<escaped>") AND ...", counted generously.
        apart = f"({field_name} in ()) OR {field_name} like {C.format_value(C.escape_like(value))}"
        return len(quote_plus(apart))

    separator = len(quote_plus(", "))
    fixed = len(probe_url) - listed(unique[0]) + _PAGING_RESERVE
    chunk: list[Any] = []
    used = 0
    for value in unique:
        extra = cost(value) + (separator if chunk else 0)
        if chunk and fixed + used + extra > max_url_length:
            yield chunk
            chunk, used = [], 0
            extra = cost(value)
        if fixed + extra > max_url_length:
            raise ValueError(f"value too long for one ConnectWise URL: {str(value)[:40]!r}...")
        chunk.append(value)
        used += extra
    if chunk:
        yield chunk


def page_size_param(page_size: int) -> int:
    size = int(page_size)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return size
