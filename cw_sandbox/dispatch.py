"""Running one routed API request against the tenant: lists, counts, reads, writes, the forecast."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request

from cw_sandbox.errors import ApiError, bad_request, error_body
from cw_sandbox.finder import ResourceSource, Stats, fields_param, query_args
from cw_sandbox.listing import count, paginate, project
from cw_sandbox.readonly import answer_read_only
from cw_sandbox.resources import Resource
from cw_sandbox.responses import json_response
from cw_sandbox.routing import Route
from cw_sandbox.sideeffects import forecast_container
from cw_sandbox.tenant import Tenant


def request_body() -> Any:
    """The JSON body (415 when not sent as JSON, 400 when it does not parse)."""
    if not request.is_json:
        raise ApiError(415, error_body("UnsupportedMediaType", "The request body must be sent as application/json."))
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None


def _allowed(route: Route) -> frozenset[str]:
    res = route.resource
    assert res is not None
    if route.action in ("collection", "forecast"):
        methods = set(res.collection_methods)
        if route.action == "forecast":
            methods |= {"GET", "POST", "PUT", "PATCH", "DELETE"}
        return frozenset(methods)
    if route.action in ("count", "forecast_count"):
        return frozenset({"GET"})
    return res.item_methods


def method_not_allowed(method: str, allowed: frozenset[str]) -> ApiError:
    """405 with an ``Allow`` header."""
    return ApiError(405, error_body("MethodNotAllowed", f"The requested resource does not support http method "
                                    f"'{method}'."), {"Allow": ", ".join(sorted(allowed))})


def record_cost(stats: Stats) -> None:
    """Put what the request examined into its request-log entry."""
    logged = g.get("logged")
    if logged is not None:
        logged["examined"] = stats.examined


def dispatch(tenant: Tenant, route: Route, actor: str) -> Response:
    """Run the request against the tenant."""
    method = request.method
    args = query_args(request.args.items(multi=True))
    if route.action == "system_info":
        if method != "GET":
            raise method_not_allowed(method, frozenset({"GET"}))
        return json_response({"version": "v2025.1.100000", "isCloud": True, "serverTimeZone": "Eastern Standard Time",
                              "cloudRegion": "NA", "licenseBits": [], "maxWorkFlowRecordsAllowed": 100})
    if route.action == "read_only":
        if method != "GET":
            raise method_not_allowed(method, frozenset({"GET"}))
        stats = Stats()
        try:
            return answer_read_only(tenant, route, args, stats)
        finally:
            record_cost(stats)
    res = route.resource
    assert res is not None
    allowed = _allowed(route)
    if res.read_only:
        allowed = allowed & {"GET"}
    if method not in allowed:
        raise method_not_allowed(method, allowed)
    if route.action == "forecast":
        return _forecast(tenant, route, actor, method)
    if route.action == "forecast_count":
        tenant.require_parent(res, route.parent_id)
        return json_response({"count": len(tenant.records(res, route.parent_id))})
    if route.action in ("collection", "count") and method == "GET":
        tenant.require_parent(res, route.parent_id)
        stats = Stats()
        try:
            source = ResourceSource(tenant.finder, res, route.parent_id)
            if route.action == "count":
                return json_response({"count": count(source, res.schema, args, stats)})
            page = paginate(source, res.schema, args, request.headers, request.base_url, stats)
        finally:
            record_cost(stats)
        headers = {"Link": page.link} if page.link is not None else {}
        return json_response(project(page.records, args.get("fields"), res.schema), 200, headers)
    fields_param(args.get("fields"), res.schema)  # a malformed list is refused before any write
    if route.action == "collection":  # POST
        created = tenant.create(res, request_body(), actor, route.parent_id)
        return json_response(project([created], args.get("fields"), res.schema)[0], 201)
    assert route.rid is not None
    if method == "GET":
        record = tenant.get(res, route.rid, route.parent_id)
        return json_response(project([record], args.get("fields"), res.schema)[0])
    if method == "PUT":
        return json_response(tenant.replace(res, route.rid, request_body(), actor, route.parent_id))
    if method == "PATCH":
        return json_response(tenant.patch(res, route.rid, request_body(), actor, route.parent_id))
    if method == "POST":  # POST /forecast/{id}: ConnectWise's "Post ForecastItem"
        return json_response(tenant.create(res, request_body(), actor, route.parent_id), 201)
    tenant.delete(res, route.rid, actor, route.parent_id)
    return json_response(None, 204)


def _forecast(tenant: Tenant, route: Route, actor: str, method: str) -> Response:
    """The Forecast container of an opportunity: GET, POST (add items), PUT/PATCH (replace items), DELETE.

    GET answers the spec's array of one Forecast (API-NOTES §3: the spec and the three independent
    clients expect it); ``forecast_shape = "object"`` (control API) answers the bare object that
    several integrations read instead.
    """
    res: Resource = route.resource  # type: ignore[assignment]
    with tenant.store.lock:
        opportunity = tenant.require_parent(res, route.parent_id)
        assert opportunity is not None
        if method in ("POST", "PUT", "PATCH"):
            body = request_body()
            if method == "PATCH":
                items = next((op.get("value") for op in body if isinstance(op, dict)
                              and str(op.get("path", "")).lstrip("/") == "forecastItems"), None) \
                    if isinstance(body, list) else None
                if items is None:
                    raise bad_request("Only the forecastItems path can be patched on a forecast.")
            else:
                items = body.get("forecastItems") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise bad_request("The forecast body needs a forecastItems array.")
            replaced = tenant.records(res, route.parent_id) if method != "POST" else []
            for old in replaced:
                tenant.store.delete(res.key, old["id"])
            created: list[int] = []
            try:
                for item in items:
                    created.append(tenant.create(res, item, actor, route.parent_id)["id"])
            except ApiError:
                # All or nothing: put the forecast back as it was before answering the 400.
                for rid in created:
                    tenant.store.delete(res.key, rid)
                tenant.store.put_many(res.key, replaced)
                raise
        elif method == "DELETE":
            for old in tenant.records(res, route.parent_id):
                tenant.store.delete(res.key, old["id"])
            return json_response(None, 204)
        container = forecast_container(tenant, opportunity)
    status = 201 if method == "POST" else 200
    if tenant.forecast_shape == "array" and method == "GET":
        return json_response([container], status)
    return json_response(container, status)
