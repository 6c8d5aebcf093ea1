"""Person changes: what someone would do in the ConnectWise screens, through the control API.

Each change runs the same write pipeline as the API (validation, side effects such as
forecast rows following an opportunity's status) and fires callbacks exactly as an API write
does, with ``MemberId`` = the member who made it. It is not an API request, so it is not in
the request log and API faults do not apply. Under ``/__sandbox__/person/``:

* ``POST opportunities/<id>/status`` ``{"status": "Lost" | 3 | {"id": 3} | {"name": "Lost"}}``
  sets the status (by name without case, or by id); answers the opportunity.
* ``PATCH <kind>/<id>`` ``{"changes": {"name": "New name", "city": null}}`` edits a company,
  contact, opportunity or product line (``kind`` = companies | contacts | opportunities |
  products); a null value removes the field. Answers the record.
* ``DELETE <kind>/<id>``: deletes it as the API would (a company is kept with ``deletedFlag``;
  a contact still used by an opportunity is a 409). Answers 204.
* ``POST opportunities/<id>/products`` ``{"fields": {"catalogItem": {"identifier": "X"},
  "quantity": 2}}`` adds a product line to the opportunity (``billableOption`` defaults to
  "Billable", as on the product screen); answers it (201).
* ``POST contacts`` ``{"fields": {"firstName": "Grace", "company": {"id": 3}}}`` adds a contact
  (as on the company's Contacts tab); answers it (201).

Every call takes an optional ``"member"`` (a member identifier, in the body or as
``?member=``); the default is ``admin1``, the tenant's administrator. Errors use ConnectWise's
envelope and status (400 InvalidObject, 404 NotFound, 409).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from cw_sandbox.app import json_response
from cw_sandbox.callback_control import json_object
from cw_sandbox.errors import bad_request
from cw_sandbox.resources import RESOURCES_BY_KEY
from cw_sandbox.validation import find_by

person_bp = Blueprint("cw_sandbox_person", __name__, url_prefix="/__sandbox__/person")

KINDS = ("companies", "contacts", "opportunities", "products")
DEFAULT_MEMBER = "admin1"


def _tenant() -> Any:
    return current_app.extensions["cw_sandbox"]


def member_for(tenant: Any, identifier: str | None) -> str:
    """The identifier of the member making a change (400 when there is no such member)."""
    wanted = identifier or DEFAULT_MEMBER
    member = find_by(tenant.store, "members", "identifier", wanted)
    if member is None:
        known = ", ".join(m["identifier"] for m in tenant.store.all("members")[:20])
        raise bad_request(f"There is no member '{wanted}'; use one of: {known}.")
    return member["identifier"]


def _kind(kind: str) -> Any:
    if kind not in KINDS:
        raise bad_request(f"A person can change {', '.join(KINDS)}; not '{kind}'.")
    return RESOURCES_BY_KEY[kind]


def status_id(tenant: Any, status: Any) -> int:
    """The id of an opportunity status given by id, name, or a reference object."""
    if isinstance(status, dict):
        status = status.get("id", status.get("name"))
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status.strip())
    rows = tenant.store.all("opportunity_statuses")
    if isinstance(status, int) and not isinstance(status, bool):
        found = next((s for s in rows if s["id"] == status), None)
    elif isinstance(status, str):
        found = find_by(tenant.store, "opportunity_statuses", "name", status)
    else:
        raise bad_request('Send {"status": "<status name>"} or {"status": <status id>}.')
    if found is None:
        names = ", ".join(f"{s['name']} ({s['id']})" for s in rows)
        raise bad_request(f"There is no opportunity status {status!r}; the tenant has: {names}.")
    return found["id"]


def set_status(tenant: Any, opportunity_id: int, status: Any, member: str | None = None) -> dict:
    """Set an opportunity's status as a person would; returns the opportunity."""
    actor = member_for(tenant, member)
    ops = [{"op": "replace", "path": "status", "value": {"id": status_id(tenant, status)}}]
    return tenant.patch(RESOURCES_BY_KEY["opportunities"], opportunity_id, ops, actor)


def edit(tenant: Any, kind: str, rid: int, changes: Any, member: str | None = None) -> dict:
    """Edit fields of a record (None removes a field); returns the record."""
    res = _kind(kind)
    if not isinstance(changes, dict) or not changes:
        raise bad_request('Send {"changes": {"<field>": <value>, ...}} with at least one field.')
    ops = [{"op": "remove", "path": name} if value is None else {"op": "replace", "path": name, "value": value}
           for name, value in changes.items()]
    return tenant.patch(res, rid, ops, member_for(tenant, member))


def _member_arg(body: dict) -> str | None:
    member = body.get("member", request.args.get("member"))
    if member is not None and not isinstance(member, str):
        raise bad_request("member must be a member identifier (text).")
    return member


@person_bp.post("/opportunities/<int:rid>/status")
def opportunity_status(rid: int) -> Response:
    """Set an opportunity's status."""
    body = json_object()
    if "status" not in body:
        raise bad_request('Send {"status": "Lost"} (a status name or id).')
    return json_response(set_status(_tenant(), rid, body["status"], _member_arg(body)))


@person_bp.patch("/<kind>/<int:rid>")
def edit_record(kind: str, rid: int) -> Response:
    """Edit a company, contact, opportunity or product line."""
    body = json_object()
    return json_response(edit(_tenant(), kind, rid, body.get("changes"), _member_arg(body)))


@person_bp.delete("/<kind>/<int:rid>")
def delete_record(kind: str, rid: int) -> Response:
    """Delete a company, contact, opportunity or product line."""
    body = json_object()
    tenant = _tenant()
    tenant.delete(_kind(kind), rid, member_for(tenant, _member_arg(body)))
    return json_response(None, 204)


@person_bp.post("/opportunities/<int:rid>/products")
def add_product(rid: int) -> Response:
    """Add a product line to an opportunity."""
    body = json_object()
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise bad_request('Send {"fields": {"catalogItem": {"identifier": "..."}, "quantity": 1}}.')
    tenant = _tenant()
    actor = member_for(tenant, _member_arg(body))
    tenant.get(RESOURCES_BY_KEY["opportunities"], rid)  # 404 for an unknown opportunity
    # The product screen starts a new line as Billable; the API itself insists on billableOption.
    body = {"billableOption": "Billable", **fields, "opportunity": {"id": rid}}
    product = tenant.create(RESOURCES_BY_KEY["products"], body, actor)
    return json_response(product, 201)


@person_bp.post("/contacts")
def add_contact() -> Response:
    """Add a contact to a company."""
    body = json_object()
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise bad_request('Send {"fields": {"firstName": "...", "company": {"id": <company id>}}}.')
    tenant = _tenant()
    contact = tenant.create(RESOURCES_BY_KEY["contacts"], fields, member_for(tenant, _member_arg(body)))
    return json_response(contact, 201)
