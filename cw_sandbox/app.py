"""The ConnectWise Manage REST API sandbox as a Flask app.

Routes: ``GET /login/companyinfo/<companyId>`` (no auth), ``/<codebase>apis/3.0/...`` for the
resources in ``resources.py``, and the test control API under ``/__sandbox__/`` (see
``control.py``). Every API request passes, in order: fault injection, codebase check (404),
Basic auth (401), ``clientId`` header (401), ``Accept`` version (400), security role (403),
routing (404) and method (405).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from cw_sandbox.errors import ApiError, bad_request, error_body
from cw_sandbox.listing import filter_records, paginate, project
from cw_sandbox.resources import Resource
from cw_sandbox.routing import Route, resolve
from cw_sandbox.seed import apply_seed
from cw_sandbox.sideeffects import forecast_container
from cw_sandbox.store import Store
from cw_sandbox.tenant import Tenant

LATEST_VERSION = "2026.4"
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


def create_app(seed: str = "empty", db_path: str | None = None, company_id: str = "sandbox",
               codebase: str = "v2025_1/", site_url: str = "http://127.0.0.1",
               callback_settings: dict | None = None) -> Flask:
    """Build the sandbox app.

    ``seed`` is "empty" (a new tenant) or "demo"; with ``db_path`` the data lives in that
    SQLite file and an existing file is reused as is (not reseeded). ``site_url`` is used for
    the ``_href`` links inside returned references and the callbacks' ``key_url``.
    ``callback_settings`` overrides callback delivery settings (see delivery.py), e.g.
    ``{"retry_delays": [0.1, 0.2]}``; a reset returns to them.
    """
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    store = Store(db_path)
    tenant = Tenant(store=store, company_id=company_id, codebase=codebase, site_url=site_url)
    if store.is_empty():
        apply_seed(tenant, seed)
    app.extensions["cw_sandbox"] = tenant

    from cw_sandbox.control import control_bp

    app.register_blueprint(control_bp)

    from cw_sandbox.callbacks import install as install_callbacks

    install_callbacks(app, tenant, callback_settings)

    @app.before_request
    def _faults() -> Response | None:
        if request.path.startswith("/__sandbox__"):
            return None
        g.logged = {"method": request.method, "path": request.path,
                    "query": request.query_string.decode("latin-1"), "status": None, "time": time.time()}
        tenant.log(g.logged)
        fault = tenant.faults.pick(request.method, request.path)
        if fault is None:
            return None
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault.status == "hang":
            time.sleep(fault.seconds)
        elif fault.status == "drop":
            g.logged["status"] = "drop"
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                # Shut down (not close) the socket: the client sees the connection end with no
                # response, and werkzeug's later write fails with a quiet BrokenPipeError.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=500)
        elif fault.status == 429:
            seconds = fault.retry_after
            return json_response({"error": "ConnectWiseAPI",
                                  "message": f"Too many requests. Please try again in {seconds} seconds."},
                                 429, {"Retry-After": str(seconds)})
        elif fault.status in (500, 503):
            message = "An error has occurred." if fault.status == 500 else "The service is unavailable."
            return json_response(error_body("ServerError" if fault.status == 500 else "ServiceUnavailable",
                                            message), int(fault.status))
        return None

    @app.after_request
    def _log(resp: Response) -> Response:
        logged = g.get("logged")
        if logged is not None and logged["status"] is None:
            logged["status"] = resp.status_code
        return resp

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A sandbox bug must still look like a ConnectWise 500 to the client under test.
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return json_response(error_body(exc.name.replace(" ", ""), exc.description or exc.name), exc.code or 500)
        app.logger.exception("cw_sandbox: unexpected error")
        return json_response(error_body("UnexpectedError", f"An unexpected error occurred: {exc}"), 500)

    @app.get("/login/companyinfo/<company>")
    def company_info(company: str) -> Response:
        if company.lower() != tenant.company_id.lower():
            return json_response(None)  # ConnectWise: HTTP 200 with a JSON null body
        version = tenant.codebase.strip("/").replace("_", ".")
        return json_response({
            "CompanyName": "Sandbox Company", "Codebase": tenant.codebase, "VersionCode": version,
            "VersionNumber": "v4.6.2025", "CompanyID": tenant.company_id, "IsCloud": "True",
            "SiteUrl": request.host,
        })

    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api(path: str) -> Response:
        prefix = f"{tenant.codebase}apis/3.0/"
        if not (path + "/").startswith(prefix) and path + "/" != prefix:
            raise ApiError(404, error_body("NotFound", f"The resource /{path} was not found."))
        actor = authenticate(tenant)
        version = accepted_version(request.headers.get("Accept", ""))
        rel = path[len(prefix):] if len(path) >= len(prefix) else ""
        rel_clean = rel.strip("/")
        for denied in tenant.denied:
            if rel_clean == denied or rel_clean.startswith(denied + "/") or _nested_denied(rel_clean, denied):
                raise ApiError(403, error_body("Security", "You do not have security permission to perform "
                                               "this action."))
        route = resolve(rel)
        if route is None:
            raise ApiError(404, error_body("NotFound", f"The resource /{path} was not found."))
        resp = dispatch(tenant, route, actor)
        resp.headers["api-current-version"] = LATEST_VERSION
        resp.headers["x-cw-request-id"] = str(uuid.uuid4())
        resp.headers["x-cw-requested-version"] = version
        return resp

    return app


def _nested_denied(rel: str, denied: str) -> bool:
    """``company/companies/5/sites`` is denied when ``company/companies`` is."""
    parts = rel.split("/")
    return len(parts) > 2 and "/".join(parts[:2]) == denied


def authenticate(tenant: Tenant) -> str:
    """Check Basic ``companyId+publicKey:privateKey`` (or an integrator login) and ``clientId``.

    Returns the member identifier (or integrator username) recorded as ``updatedBy``.
    """
    header = request.headers.get("Authorization", "")
    actor = None
    if header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        company, _, login = user.partition("+")
        if company.lower() == tenant.company_id.lower():
            if login == tenant.public_key and password == tenant.private_key:
                actor = tenant.api_member
            elif login == tenant.integrator_username and password == tenant.integrator_password:
                actor = tenant.integrator_username
    if actor is None:
        raise ApiError(401, error_body("Unauthorized", "Incorrect public/private key or company id."),
                       {"WWW-Authenticate": 'Basic realm="ConnectWise"'})
    if not request.headers.get("clientId", "").strip():
        # UNVERIFIED (API-NOTES §12 q5): the body for a missing clientId is not documented.
        raise ApiError(401, error_body("Unauthorized", "A clientId header is required. Register one at "
                                       "https://developer.connectwise.com/ClientID."))
    return actor


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


def _body() -> Any:
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


def dispatch(tenant: Tenant, route: Route, actor: str) -> Response:
    """Run the request against the tenant."""
    method = request.method
    if route.action == "system_info":
        if method != "GET":
            raise _method_not_allowed(method, frozenset({"GET"}))
        return json_response({"version": "v2025.1.100000", "isCloud": True, "serverTimeZone": "Eastern Standard Time",
                              "cloudRegion": "NA", "licenseBits": [], "maxWorkFlowRecordsAllowed": 100})
    res = route.resource
    assert res is not None
    allowed = _allowed(route)
    if res.read_only:
        allowed = allowed & {"GET"}
    if method not in allowed:
        raise _method_not_allowed(method, allowed)
    args = request.args.to_dict()
    if route.action == "forecast":
        return _forecast(tenant, route, actor, method, args)
    if route.action == "forecast_count":
        tenant.require_parent(res, route.parent_id)
        return json_response({"count": len(tenant.records(res, route.parent_id))})
    if route.action in ("collection", "count") and method == "GET":
        tenant.require_parent(res, route.parent_id)
        rows = filter_records(tenant.records(res, route.parent_id), args)
        if route.action == "count":
            return json_response({"count": len(rows)})
        page = paginate(rows, args, request.headers, request.base_url)
        headers = {"Link": page.link} if page.link is not None else {}
        return json_response(project(page.records, args.get("fields")), 200, headers)
    if route.action == "collection":  # POST
        return json_response(project([tenant.create(res, _body(), actor, route.parent_id)], args.get("fields"))[0],
                             201)
    assert route.rid is not None
    if method == "GET":
        record = tenant.get(res, route.rid, route.parent_id)
        return json_response(project([record], args.get("fields"))[0])
    if method == "PUT":
        return json_response(tenant.replace(res, route.rid, _body(), actor, route.parent_id))
    if method == "PATCH":
        return json_response(tenant.patch(res, route.rid, _body(), actor, route.parent_id))
    if method == "POST":  # POST /forecast/{id}: ConnectWise's "Post ForecastItem"
        return json_response(tenant.create(res, _body(), actor, route.parent_id), 201)
    tenant.delete(res, route.rid, actor, route.parent_id)
    return json_response(None, 204)


def _method_not_allowed(method: str, allowed: frozenset[str]) -> ApiError:
    return ApiError(405, error_body("MethodNotAllowed", f"The requested resource does not support http method "
                                    f"'{method}'."), {"Allow": ", ".join(sorted(allowed))})


def _forecast(tenant: Tenant, route: Route, actor: str, method: str, args: dict) -> Response:
    """The Forecast container of an opportunity: GET, POST (add items), PUT/PATCH (replace items), DELETE."""
    res: Resource = route.resource  # type: ignore[assignment]
    with tenant.store.lock:
        opportunity = tenant.require_parent(res, route.parent_id)
        assert opportunity is not None
        if method in ("POST", "PUT", "PATCH"):
            body = _body()
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
