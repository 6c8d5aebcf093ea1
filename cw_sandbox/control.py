"""The test control API under ``/__sandbox__/`` (no auth; never part of ConnectWise).

* ``POST /__sandbox__/faults`` arm a fault (see faults.py); ``GET`` lists, ``DELETE`` clears.
* ``GET /__sandbox__/requests`` every API request since the last reset; ``DELETE`` clears it.
* ``POST /__sandbox__/reset`` ``{"seed": "empty"|"demo"}``: back to the seed, clears faults,
  denied resources, the request log and the throttle's window, and restores the default
  options and budget (the codebase stays as it is; ``"codebase": "v2025_1/"`` moves it first, as
  ``POST /__sandbox__/codebase`` does, in the same request).
* ``POST /__sandbox__/codebase`` ``{"codebase": "v2026_1/"}``: the old base then answers 404.
* ``POST /__sandbox__/permissions`` ``{"deny": ["procurement/catalog"]}``: those answer 403.
* ``POST /__sandbox__/generate`` ``{"companies": N, "contacts_per_company": 2.5}``.
* ``POST /__sandbox__/options`` ``{"forecast_shape": "array"|"object"}``: what
  ``GET /sales/opportunities/{id}/forecast`` returns: the spec's array (default) or the single
  object some integrations read (API-NOTES §3 INCONSISTENCY); ``{"record_bodies": true}``: the
  request log also keeps each JSON request and response body (``request_json``,
  ``response_json``), for contract tests; ``"requests"``: the request bodies only (what a benchmark
  needs to replay the requests, without parsing every response it sends back);
  ``{"required_fields": {"opportunities": ["type", "stage"]}}``: fields the tenant made mandatory, by
  resource key, as a ConnectWise admin can (a write without one is 400 InvalidObject with a
  ``NullValue`` entry naming the field, like any required field; ``{}`` makes them optional again);
  ``{"reclose": "stamp"|"keep"}``: what moving an opportunity from one closed status to another (Won →
  Lost) does to its ``closedDate`` and ``closedBy``: stamps who did it and when (default), or keeps the first
  close's (nothing public says which ConnectWise does; colcw must work under both);
  ``{"clock_offset_seconds": -600}``: the tenant's clock set that far from the machine's (negative: behind), for
  the records' ``lastUpdated``/``dateEntered`` stamps and the answers' ``Date`` header alike (a ConnectWise whose
  clock is not its client's; a reset sets it back to 0).
* ``GET|POST /__sandbox__/throttle`` ``{"per_minute": 1000, "in_flight": 10, "window_seconds": 60}``:
  the tenant's request budget (``null`` turns a limit off; a shorter window lets a test watch a
  client wait out a 429 quickly); a reset restores the one the server started with.
* ``GET /__sandbox__/info``: company id, codebase and credentials.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from cw_sandbox.errors import ApiError, bad_request
from cw_sandbox.resources import RESOURCES_BY_KEY
from cw_sandbox.responses import json_response
from cw_sandbox.schemas import field_rules
from cw_sandbox.seed import SEEDS, apply_seed
from cw_sandbox.seed import generate as generate_records

control_bp = Blueprint("cw_sandbox_control", __name__, url_prefix="/__sandbox__")
MAX_CLOCK_OFFSET = 86400  # seconds: a day either way


def _tenant() -> Any:
    return current_app.extensions["cw_sandbox"]


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise bad_request("The control API takes a JSON object.")
    if data is not None and not isinstance(data, dict):
        raise bad_request("The control API takes a JSON object.")
    return data or {}


def _ok(data: Any, status: int = 200) -> Response:
    return json_response(data, status)


@control_bp.post("/faults")
def add_fault() -> Response:
    """Arm a fault; answers its id and spec."""
    fault = _tenant().faults.add(_json_body())
    return _ok({"id": fault.fid, **fault.spec}, 201)


@control_bp.get("/faults")
def list_faults() -> Response:
    """Armed faults with how often each matched and fired."""
    return _ok(_tenant().faults.describe())


@control_bp.delete("/faults")
def clear_faults() -> Response:
    """Disarm all faults."""
    _tenant().faults.clear()
    return _ok(None, 204)


@control_bp.get("/requests")
def list_requests() -> Response:
    """The request log: method, path, query, status (int, or "drop"; None while in flight)."""
    return _ok([{k: v for k, v in e.items() if k != "time"} | {"time": e["time"]} for e in _tenant().requests()])


@control_bp.delete("/requests")
def clear_requests() -> Response:
    """Empty the request log."""
    tenant = _tenant()
    with tenant.log_lock:
        tenant.request_log.clear()
    return _ok(None, 204)


@control_bp.post("/reset")
def reset() -> Response:
    """Reload a seed and clear faults, permissions, the request log and the throttle window."""
    body = _json_body()
    seed = body.get("seed", "empty")
    if seed not in SEEDS:
        raise bad_request(f"Unknown seed {seed!r}; use one of {', '.join(SEEDS)}.")
    codebase = body.get("codebase")
    if codebase is not None and (not isinstance(codebase, str) or not codebase.strip("/")):
        raise bad_request('codebase is a text such as "v2025_1/".')
    tenant = _tenant()
    if codebase is not None:
        tenant.set_codebase(codebase)
    tenant.clear_controls()
    with tenant.store.lock:
        apply_seed(tenant, seed)
    return _ok({"seed": seed})


@control_bp.route("/codebase", methods=["GET", "POST"])
def codebase() -> Response:
    """Read or move the codebase (e.g. "v2026_1/")."""
    tenant = _tenant()
    if request.method == "POST":
        value = _json_body().get("codebase")
        if not isinstance(value, str) or not value.strip("/"):
            raise bad_request('Send {"codebase": "v2026_1/"}.')
        tenant.set_codebase(value)
    return _ok({"codebase": tenant.codebase})


@control_bp.post("/permissions")
def permissions() -> Response:
    """Deny resources (paths under apis/3.0/) as a missing security role would."""
    deny = _json_body().get("deny", [])
    if not isinstance(deny, list) or not all(isinstance(d, str) for d in deny):
        raise bad_request('Send {"deny": ["procurement/catalog", ...]}.')
    tenant = _tenant()
    tenant.denied = {d.strip("/") for d in deny}
    return _ok({"deny": sorted(tenant.denied)})


@control_bp.post("/generate")
def generate() -> Response:
    """Bulk-generate companies and contacts."""
    body = _json_body()
    try:
        companies = int(body.get("companies", 0))
        per = float(body.get("contacts_per_company", 2.5))
        age = float(body.get("age_minutes", 0))
    except (TypeError, ValueError):
        raise bad_request("companies must be an integer, contacts_per_company and age_minutes numbers.") from None
    if companies < 0 or per < 0 or age < 0:
        raise bad_request("companies, contacts_per_company and age_minutes must not be negative.")
    return _ok(generate_records(_tenant(), companies, per, age_minutes=age), 201)


@control_bp.post("/options")
def options() -> Response:
    """Switch behaviours that public sources disagree on, and what the request log keeps."""
    tenant = _tenant()
    body = _json_body()
    unknown = set(body) - {"forecast_shape", "record_bodies", "required_fields", "reclose", "clock_offset_seconds"}
    if unknown:
        raise bad_request(f"Unknown option(s): {', '.join(sorted(unknown))}.")
    if "forecast_shape" in body:
        if body["forecast_shape"] not in ("object", "array"):
            raise bad_request("forecast_shape is 'object' or 'array'.")
        tenant.forecast_shape = body["forecast_shape"]
    if "record_bodies" in body:
        if not isinstance(body["record_bodies"], bool) and body["record_bodies"] != "requests":
            raise bad_request("record_bodies is true, false or \"requests\".")
        tenant.record_bodies = body["record_bodies"]
    if "required_fields" in body:
        tenant.required_fields = _required_fields(body["required_fields"])
    if "reclose" in body:
        if body["reclose"] not in ("stamp", "keep"):
            raise bad_request("reclose is 'stamp' or 'keep'.")
        tenant.reclose = body["reclose"]
    if "clock_offset_seconds" in body:
        offset = body["clock_offset_seconds"]
        if isinstance(offset, bool) or not isinstance(offset, int | float) or abs(offset) > MAX_CLOCK_OFFSET:
            raise bad_request(f"clock_offset_seconds is a number of seconds from -{MAX_CLOCK_OFFSET} to "
                              f"{MAX_CLOCK_OFFSET} (negative: the tenant's clock is behind the machine's).")
        tenant.clock_offset = float(offset)
    return _ok({"forecast_shape": tenant.forecast_shape, "record_bodies": tenant.record_bodies,
                "required_fields": {k: list(v) for k, v in tenant.required_fields.items()},
                "reclose": tenant.reclose, "clock_offset_seconds": tenant.clock_offset})


def _required_fields(value: Any) -> dict[str, tuple[str, ...]]:
    """``{"opportunities": ["type"]}`` checked: writable resources, fields of their official schema."""
    shape = 'required_fields is an object of resource keys to field names, e.g. {"opportunities": ["type"]}.'
    if not isinstance(value, dict):
        raise bad_request(shape)
    out: dict[str, tuple[str, ...]] = {}
    for key, names in value.items():
        res = RESOURCES_BY_KEY.get(key)
        if res is None or res.read_only or not res.schema:
            raise bad_request(f"Unknown or read-only resource {key!r}. {shape}")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad_request(shape)
        rules = field_rules(res.schema)
        wrong = [n for n in names if n not in rules or n in ("id", "_info")]
        if wrong:
            raise bad_request(f"{res.schema} has no field {', '.join(map(repr, wrong))}.")
        if names:
            out[key] = tuple(dict.fromkeys(names))
    return out


@control_bp.route("/throttle", methods=["GET", "POST"])
def throttle() -> Response:
    """Read or set the request budget: ``{"per_minute": N|null, "in_flight": M|null}``."""
    limits = _tenant().throttle
    if request.method == "POST":
        body = _json_body()
        unknown = set(body) - {"per_minute", "in_flight", "window_seconds"}
        if unknown:
            raise bad_request(f"Unknown throttle setting(s): {', '.join(sorted(unknown))}.")
        current = limits.describe()
        try:
            limits.configure(per_minute=body.get("per_minute", current["per_minute"]),
                             in_flight=body.get("in_flight", current["in_flight"]),
                             window=body.get("window_seconds", current["window_seconds"]))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    return _ok(limits.describe())


@control_bp.get("/info")
def info() -> Response:
    """Company id, codebase and both credential pairs."""
    t = _tenant()
    return _ok({"company_id": t.company_id, "codebase": t.codebase, "public_key": t.public_key,
                "private_key": t.private_key, "integrator_username": t.integrator_username,
                "integrator_password": t.integrator_password, "api_member": t.api_member})


@control_bp.errorhandler(ApiError)
def _error(exc: ApiError) -> Response:
    return _ok(exc.body, exc.status)
