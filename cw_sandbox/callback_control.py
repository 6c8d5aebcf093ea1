"""The control API for callbacks (no auth; never part of ConnectWise), and the key_url endpoint.

Under ``/__sandbox__/callbacks/``:

* ``GET`` / ``POST settings``: the delivery settings; POST takes any of ``retry_delays``
  (seconds, default ``[2, 4]``), ``retry_statuses`` (``[404, 409, 419, 429]``),
  ``timeout_seconds`` (5), ``give_up_after_seconds`` (259200 = 3 days) and ``workers`` (4),
  and answers all of them. ``POST /__sandbox__/reset`` puts them back as the server was built.
* ``POST faults`` arms a callback fault (spec in callback_faults.py) and answers it with its
  ``id``; ``GET faults`` lists them with ``seen``/``fired`` counters; ``DELETE faults`` disarms.
* ``GET deliveries`` the delivery log, oldest first (``?body=1`` adds each raw body); every
  entry: ``seq``, ``message_id``, ``callback_id``, ``url``, ``type``, ``action``, ``id``,
  ``member_id``, ``state`` (pending | delivered | failed | dropped | cancelled), ``faults``,
  ``queued_at``, ``attempts`` ([{time, status, error}]), ``gave_up``, ``signature``.
  ``DELETE deliveries`` empties it.
* ``POST drain`` ``{"timeout": 10}``: waits until nothing is queued or in flight; answers
  ``{"drained": true|false, "pending": n, "in_flight": n}`` (200 either way).
* ``POST clock`` ``{"advance_seconds": 86400}``: moves the callback clock forward (give-up
  emulation); answers ``{"offset_seconds": total}``.
* ``GET key``: ``{"key_id", "key_url", "signing_key"}`` of the key signing now;
  ``POST key/rotate`` starts a new key and answers the same for it.

``POST /__sandbox__/reset`` also disarms callback faults, empties the queue and the log, and
sets the clock back (the registered callbacks go with the tenant's data).

``GET /<codebase>/apis/3.0/system/callbackkeys/<key id>`` (the ``Metadata.key_url`` of a
message) answers ``{"signing_key": "..."}`` without authentication, or 404. It passes the API
fault injection and the request log like any API request, so a test can count key fetches.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from cw_sandbox.app import json_response
from cw_sandbox.errors import ApiError, bad_request, error_body

callbacks_bp = Blueprint("cw_sandbox_callbacks", __name__, url_prefix="/__sandbox__/callbacks")
key_bp = Blueprint("cw_sandbox_callback_keys", __name__)


def service() -> Any:
    """The app's CallbackService."""
    return current_app.extensions["cw_sandbox_callbacks"]


def json_object() -> dict:
    """The request's JSON object body ({} when empty; 400 for anything else)."""
    data = request.get_json(silent=True)
    if (data is None and request.get_data()) or (data is not None and not isinstance(data, dict)):
        raise bad_request("The control API takes a JSON object.")
    return data or {}


def _key(key_id: str, signing_key: str) -> dict:
    return {"key_id": key_id, "key_url": service().key_url(key_id), "signing_key": signing_key}


@callbacks_bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    """Read or change the delivery settings."""
    worker = service().worker
    if request.method == "POST":
        worker.configure(json_object())
    return json_response(worker.settings.describe())


@callbacks_bp.post("/faults")
def add_fault() -> Response:
    """Arm a callback fault."""
    fault = service().faults.add(json_object())
    return json_response({"id": fault.fid, **fault.spec}, 201)


@callbacks_bp.get("/faults")
def list_faults() -> Response:
    """Armed callback faults with their counters."""
    return json_response(service().faults.describe())


@callbacks_bp.delete("/faults")
def clear_faults() -> Response:
    """Disarm all callback faults."""
    service().faults.clear()
    return json_response(None, 204)


@callbacks_bp.get("/deliveries")
def deliveries() -> Response:
    """The delivery log."""
    body = request.args.get("body", "").lower() in ("1", "true", "yes")
    return json_response(service().worker.log(body=body))


@callbacks_bp.delete("/deliveries")
def clear_deliveries() -> Response:
    """Empty the delivery log."""
    service().worker.clear_log()
    return json_response(None, 204)


@callbacks_bp.post("/drain")
def drain() -> Response:
    """Wait for the queue to empty."""
    timeout = json_object().get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout <= 600:
        raise bad_request("timeout must be a number of seconds from 0 to 600.")
    worker = service().worker
    drained = worker.drain(float(timeout))
    return json_response({"drained": drained, **worker.counts()})


@callbacks_bp.post("/clock")
def clock() -> Response:
    """Move the callback clock forward."""
    seconds = json_object().get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise bad_request('Send {"advance_seconds": N} with N >= 0.')
    return json_response({"offset_seconds": service().worker.advance(float(seconds))})


@callbacks_bp.get("/key")
def current_key() -> Response:
    """The key signing now."""
    return json_response(_key(*service().keys.current()))


@callbacks_bp.post("/key/rotate")
def rotate_key() -> Response:
    """Sign with a new key from now on."""
    return json_response(_key(*service().keys.rotate()))


@key_bp.get("/<codebase>/apis/3.0/system/callbackkeys/<key_id>")
def signing_key(codebase: str, key_id: str) -> Response:
    """``Metadata.key_url``: the signing key, without authentication."""
    tenant = current_app.extensions["cw_sandbox"]
    found = service().keys.get(key_id) if codebase + "/" == tenant.codebase else None
    if found is None:
        raise ApiError(404, error_body("NotFound", f"The resource {request.path} was not found."))
    return json_response({"signing_key": found})
