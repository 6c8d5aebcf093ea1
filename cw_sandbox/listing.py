"""List and count endpoints: filtering, ordering, paging, Link headers, partial responses.

Navigable paging: ``page`` (1-based) and ``pageSize`` (default 25, max 1000). A ``pageSize``
above 1000 is clamped to 1000, the Link header then carries ``pageSize=1000``: a client that
stops on "fewer rows than I asked for" loses data, which is the bug we want tests to catch
(ConnectWise's behaviour above 1000 is unverified, API-NOTES §12 question 4). Forward-only
paging (header ``pagination-type: forward-only``) returns ids above ``pageId`` in id order,
rejects ``orderBy`` and links the next page with ``pageId=<last id>`` while more rows remain;
on the last page the Link header is present and empty (the end-of-data signal S8 relies on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from cw_sandbox.errors import bad_request
from cw_sandbox.query import (
    QueryError,
    compile_child_conditions,
    compile_conditions,
    project_fields,
    sort_records,
)

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


def _custom_field_predicate(text: str) -> Callable[[dict], bool]:
    """customFieldConditions: true when any entry of ``customFields`` matches."""
    test = compile_conditions(text)
    return lambda record: any(test(cf) for cf in record.get("customFields") or [] if isinstance(cf, dict))


def filter_records(records: list[dict], args: Mapping[str, str]) -> list[dict]:
    """Apply conditions, childConditions and customFieldConditions (400 on a syntax error)."""
    try:
        tests: list[Callable[[dict], bool]] = []
        if args.get("conditions"):
            tests.append(compile_conditions(args["conditions"]))
        if args.get("childConditions"):
            tests.append(compile_child_conditions(args["childConditions"]))
        if args.get("customFieldConditions"):
            tests.append(_custom_field_predicate(args["customFieldConditions"]))
        for test in tests:
            records = [r for r in records if test(r)]
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    return records


def project(records: list[dict], fields: str | None) -> list[dict]:
    """Partial responses for ``fields=`` (400 on a bad field list)."""
    if not fields:
        return records
    try:
        return [project_fields(r, fields) for r in records]
    except QueryError as exc:
        raise bad_request(str(exc)) from None


@dataclass
class Page:
    """One page of results and its Link header value (None = no header)."""

    records: list[dict]
    link: str | None


def _link(base_url: str, args: Mapping[str, str], rel: str, **changes: int) -> str:
    query = {k: v for k, v in args.items() if k not in changes}
    query.update({k: str(v) for k, v in changes.items()})
    return f'<{base_url}?{urlencode(query)}>; rel="{rel}"'


def paginate(records: list[dict], args: Mapping[str, str], headers: Mapping[str, str], base_url: str) -> Page:
    """Order and page filtered ``records`` (already in id order) as ConnectWise does."""
    args = dict(args)
    page_size = min(_int_arg(args, "pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if "pageSize" in args:
        args["pageSize"] = str(page_size)
    forward_only = headers.get("pagination-type", "").strip().lower() == "forward-only"
    if forward_only:
        if args.get("orderBy"):
            raise bad_request("orderBy is not supported with forward-only pagination.")
        page_id = _int_arg(args, "pageId", 0) or 0
        # Records are id-ordered; a linear scan is fast enough for tens of thousands of rows.
        rest = [r for r in records if r["id"] > page_id] if page_id else records
        chunk = rest[:page_size]
        args.pop("page", None)
        args["pageSize"] = str(page_size)
        link = _link(base_url, args, "next", pageId=chunk[-1]["id"]) if len(rest) > page_size else ""
        return Page(chunk, link)
    if args.get("orderBy"):
        try:
            records = sort_records(records, args["orderBy"])
        except QueryError as exc:
            raise bad_request(str(exc)) from None
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
