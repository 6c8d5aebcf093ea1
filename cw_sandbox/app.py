"""The ConnectWise Manage REST API sandbox as a Flask app.

Routes: ``GET /login/companyinfo/<companyId>`` (no auth), ``/<codebase>apis/3.0/...`` for the
resources in ``resources.py`` (the tenant's codebase, and the generic ``v4_6_release/`` that cloud
tenants also answer on, API-NOTES §2), and the test control API under ``/__sandbox__/`` (see
``control.py``). Every API request passes, in order: the gate (``gate.py``: URL length 414,
throttle 429, fault injection), codebase check (404), Basic auth (401), ``clientId`` header
(401), ``Accept`` version (400), security role (403), routing (404) and method (405).
"""

from __future__ import annotations

import base64
import binascii
import uuid

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from cw_sandbox import gate
from cw_sandbox.control import control_bp
from cw_sandbox.dispatch import dispatch
from cw_sandbox.errors import ApiError, error_body
from cw_sandbox.readonly import match
from cw_sandbox.responses import LATEST_VERSION, accepted_version, json_response
from cw_sandbox.routing import resolve
from cw_sandbox.seed import apply_seed
from cw_sandbox.serving import CLOCK_OFFSET_KEY
from cw_sandbox.store import Store
from cw_sandbox.tenant import Tenant
from cw_sandbox.throttle import DEFAULT_IN_FLIGHT, DEFAULT_PER_MINUTE, Throttle

GENERIC_CODEBASE = "v4_6_release/"


def create_app(seed: str = "empty", db_path: str | None = None, company_id: str = "sandbox",
               codebase: str = "v2025_1/", site_url: str = "http://127.0.0.1",
               requests_per_minute: int | None = DEFAULT_PER_MINUTE,
               max_in_flight: int | None = DEFAULT_IN_FLIGHT, callback_settings: dict | None = None) -> Flask:
    """Build the sandbox app.

    ``seed`` is "empty" (a new tenant) or "demo"; with ``db_path`` the data lives in that
    SQLite file and an existing file is reused as is (not reseeded). ``site_url`` is used for
    the ``_href`` links inside returned references and the callbacks' ``key_url``.
    ``requests_per_minute`` and ``max_in_flight`` are the tenant's request budget (None: no
    limit); ``callback_settings`` overrides callback delivery settings (see delivery.py), e.g.
    ``{"retry_delays": [0.1, 0.2]}``; a reset returns to both.
    """
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    store = Store(db_path)
    tenant = Tenant(store=store, company_id=company_id, codebase=codebase, site_url=site_url,
                    throttle=Throttle(requests_per_minute, max_in_flight))
    if store.is_empty():
        apply_seed(tenant, seed)
    app.extensions["cw_sandbox"] = tenant

    @app.before_request
    def _clock() -> None:  # the Date header by the tenant's clock (serving.py), whatever answers the request
        if tenant.clock_offset:
            request.environ[CLOCK_OFFSET_KEY] = tenant.clock_offset

    app.register_blueprint(control_bp)

    from cw_sandbox.callbacks import install as install_callbacks

    install_callbacks(app, tenant, callback_settings)
    gate.install(app, log=tenant.log, throttle=tenant.throttle, faults=tenant.faults,
                 record_bodies=lambda: tenant.record_bodies)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A sandbox bug must still look like a ConnectWise 500 to the client under test.
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
        rel = _relative(path, tenant.codebase)
        if rel is None:
            raise ApiError(404, error_body("NotFound", f"The resource /{path} was not found."))
        actor = authenticate(tenant)
        version = accepted_version(request.headers.get("Accept", ""))
        rel_clean = rel.strip("/")
        for denied in tenant.denied:
            if rel_clean == denied or rel_clean.startswith(denied + "/") or _nested_denied(rel_clean, denied):
                raise ApiError(403, error_body("Security", "You do not have security permission to perform "
                                               "this action."))
        route = resolve(rel) or match(rel)
        if route is None:
            raise ApiError(404, error_body("NotFound", f"The resource /{path} was not found."))
        resp = dispatch(tenant, route, actor)
        resp.headers["api-current-version"] = LATEST_VERSION
        resp.headers["x-cw-request-id"] = str(uuid.uuid4())
        resp.headers["x-cw-requested-version"] = version
        return resp

    return app


def _relative(path: str, codebase: str) -> str | None:
    """The part of ``path`` after ``{codebase}apis/3.0/`` for the tenant's or the generic codebase."""
    for base in (codebase, GENERIC_CODEBASE):
        prefix = f"{base}apis/3.0/"
        if (path + "/").startswith(prefix):
            return path[len(prefix):]
    return None


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
