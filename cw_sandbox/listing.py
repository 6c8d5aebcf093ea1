"""List and count endpoints: paging, Link headers and partial responses over ``finder.Finder``.

Navigable paging: ``page`` (1-based) and ``pageSize`` (default 25, max 1000). A ``pageSize``
above 1000 is clamped to 1000, the Link header then carries ``pageSize=1000``: a client that
stops on "fewer rows than I asked for" loses data, which is the bug we want tests to catch
(ConnectWise's behaviour above 1000 is unverified, API-NOTES §12 question 4). Forward-only
paging (header ``pagination-type: forward-only``) returns ids above ``pageId`` in id order,
rejects ``orderBy`` and links the next page with ``pageId=<last id>`` while more rows remain;
on the last page the Link header is present and empty (the end-of-data signal S8 relies on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from cw_sandbox.condition_parser import QueryError
from cw_sandbox.errors import bad_request
from cw_sandbox.finder import ListSource, ResourceSource, Stats, fields_param, parse_query, query_error
from cw_sandbox.ordering import project_fields

Source = ResourceSource | ListSource

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


def _int_arg(args: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"The value '{raw}' is not valid for {name}.") from None
    if value < 1 and name != "pageId":
        raise bad_request(f"The value '{raw}' is not valid for {name}: it must be 1 or more.")
    return value


def count(source: Source, schema: str, args: Mapping[str, str], stats: Stats) -> int:
    """``GET .../count``: how many records the filter parameters select."""
    return len(source.rows(parse_query(args, schema), stats))


def project(records: list[dict], fields: str | None, schema: str) -> list[dict]:
    """Partial responses for ``fields=``: names the schema lacks are dropped (400 ApiFindCondition
    only for a malformed list)."""
    kept = fields_param(fields, schema)
    if kept is None:
        return records
    try:
        return [project_fields(r, kept) for r in records]
    except QueryError as exc:
        raise query_error(exc) from None


@dataclass
class Page:
    """One page of results and its Link header value (None = no header)."""

    records: list[dict]
    link: str | None


def _link(base_url: str, args: Mapping[str, str], rel: str, **changes: int) -> str:
    query = {k: v for k, v in args.items() if k not in changes}
    query.update({k: str(v) for k, v in changes.items()})
    return f'<{base_url}?{urlencode(query)}>; rel="{rel}"'


def paginate(source: Source, schema: str, args: Mapping[str, str], headers: Mapping[str, str], base_url: str,
             stats: Stats) -> Page:
    """One page of the records the filter parameters select, as ConnectWise pages them."""
    args = dict(args)
    page_size = min(_int_arg(args, "pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if "pageSize" in args:
        args["pageSize"] = str(page_size)
    query = parse_query(args, schema)
    if headers.get("pagination-type", "").strip().lower() == "forward-only":
        if args.get("orderBy"):
            raise bad_request("orderBy is not supported with forward-only pagination.")
        page_id = _int_arg(args, "pageId", 0) or 0
        chunk, more = source.after(query, page_id, page_size, stats)
        args.pop("page", None)
        args["pageSize"] = str(page_size)
        link = _link(base_url, args, "next", pageId=chunk[-1]["id"]) if more else ""
        return Page(chunk, link)
    records = source.rows(query, stats)
    page = _int_arg(args, "page", 1) or 1
    total = len(records)
    last = max(1, -(-total // page_size))
    chunk = records[(page - 1) * page_size: page * page_size]
    links = [_link(base_url, args, "first", page=1)]
    if page > 1:
        links.append(_link(base_url, args, "prev", page=min(page - 1, last)))
    if page < last:
        links.append(_link(base_url, args, "next", page=page + 1))
    links.append(_link(base_url, args, "last", page=last))
    return Page(chunk, ", ".join(links))
