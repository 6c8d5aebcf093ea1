"""The sandbox tenant: settings, credentials and the record operations behind the HTTP routes.

``Tenant`` holds the store plus everything a test can change at run time (codebase, denied
resources, faults, the request log). Its ``create``/``replace``/``patch``/``delete`` run the
whole write pipeline under the store lock so concurrent requests never interleave halfway.
After each write the ``write_listeners`` hear ``(resource key, "added"|"updated"|"deleted",
record, actor)``, still under the lock so they hear writes in commit order (callbacks.py
turns them into callback deliveries); ``clear_controls`` also calls the ``clear_listeners``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from cw_sandbox.errors import ApiError, bad_request, field_error, invalid, not_found
from cw_sandbox.faults import FaultSet
from cw_sandbox.finder import Finder
from cw_sandbox.resources import RESOURCES_BY_KEY, Resource
from cw_sandbox.rules import conflict, in_use_by, prepare
from cw_sandbox.schemas import field_rules
from cw_sandbox.sideeffects import AFTER_WRITE, CLEARED_ON_DELETE, before_delete
from cw_sandbox.store import Store
from cw_sandbox.throttle import Throttle
from cw_sandbox.validation import (
    WriteContext,
    check_required,
    check_unique,
    clean_body,
    make_reference,
    now_iso,
)

PATCH_OPS = {"add", "replace", "remove"}


class Tenant:
    """One ConnectWise company (login company id) with its data and test controls."""

    def __init__(self, *, store: Store, company_id: str, codebase: str, site_url: str,
                 public_key: str = "sandbox-public", private_key: str = "sandbox-private",
                 integrator_username: str = "integrator", integrator_password: str = "sandbox-password",  # noqa: S107 - sandbox login, documented
                 api_member: str = "APIMember", throttle: Throttle | None = None) -> None:
        self.store = store
        self.company_id = company_id
        self.site_url = site_url.rstrip("/")
        self.public_key = public_key
        self.private_key = private_key
        self.integrator_username = integrator_username
        self.integrator_password = integrator_password
        self.api_member = api_member
        self.codebase = store.get_meta("codebase", codebase)
        self.denied: set[str] = set()
        self.faults = FaultSet()
        self.throttle = throttle or Throttle()
        self.finder = Finder(store)
        self.forecast_shape = "array"  # the spec's; "object" only when a test asks for it
        self.record_bodies: bool | str = False  # JSON bodies in the request log: True both, "requests" those only
        # Fields the tenant made mandatory, by resource key (e.g. {"opportunities": ("type",)}), as an admin
        # does in ConnectWise's setup; writes without them are refused like any missing required field.
        self.required_fields: dict[str, tuple[str, ...]] = {}
        # What a change from one closed opportunity status to another does to closedDate/closedBy: "stamp"
        # (who made it, and when: the default) or "keep" (the first close's). Unverified either way (README).
        self.reclose = "stamp"
        # Seconds the tenant's clock is ahead of the machine's (negative: behind): its records' stamps and its answers'
        # Date header (a ConnectWise whose clock is not its client's; the clock_offset_seconds option).
        self.clock_offset = 0.0
        self.log_lock = threading.Lock()
        self.request_log: list[dict] = []
        self.write_listeners: list[Callable[[str, str, dict, str], None]] = []
        self.clear_listeners: list[Callable[[], None]] = []
        # The seeded store as seed.apply_seed left it (JSON text, and the times stamped while it was written), by
        # seed and what its records depend on: a reset restores it rather than writing each record again.
        self.seed_snapshots: dict[tuple, tuple[str, list[str]]] = {}

    # -- settings ------------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        """``{site}/{codebase}apis/3.0/`` (the codebase carries its trailing slash)."""
        return f"{self.site_url}/{self.codebase}apis/3.0/"

    def set_codebase(self, codebase: str) -> None:
        """Move the API to a new codebase (the old one then answers 404)."""
        if not codebase.endswith("/"):
            codebase += "/"
        self.codebase = codebase
        self.store.set_meta("codebase", codebase)

    def log(self, entry: dict) -> None:
        """Append to the request log."""
        with self.log_lock:
            self.request_log.append(entry)

    def requests(self) -> list[dict]:
        """A copy of the request log."""
        with self.log_lock:
            return list(self.request_log)

    def clear_controls(self) -> None:
        """Forget faults, the request log, denied resources and the throttle's window; default options."""
        self.faults.clear()
        self.denied.clear()
        self.throttle.reset()
        self.forecast_shape = "array"
        self.record_bodies = False
        self.required_fields = {}
        self.reclose = "stamp"
        self.clock_offset = 0.0
        with self.log_lock:
            self.request_log.clear()
        for listener in self.clear_listeners:
            listener()

    def changed(self, key: str, action: str, record: dict, actor: str) -> None:
        """Tell the write listeners that ``record`` of resource ``key`` was added, updated or deleted."""
        for listener in self.write_listeners:
            listener(key, action, record, actor)

    # -- reads ---------------------------------------------------------------------------
    def get(self, res: Resource, rid: int, parent_id: int | None = None) -> dict:
        """One record, or 404 (also when it belongs to another parent)."""
        record = self.store.get(res.key, rid)
        if record is None or (res.parent and res.parent_of(record) != parent_id):
            raise not_found(res.label, rid)
        return record

    def records(self, res: Resource, parent_id: int | None = None) -> list[dict]:
        """All records of a resource (of one parent for nested ones, read through an index), in id order."""
        if not res.parent:
            return self.store.all(res.key)
        return self.finder.rows(res, parent_id)

    def require_parent(self, res: Resource, parent_id: int | None) -> dict | None:
        """The parent record of a nested resource, or 404."""
        if not res.parent:
            return None
        parent_res = RESOURCES_BY_KEY[res.parent]
        parent = self.store.get(parent_res.key, parent_id or 0)
        if parent is None:
            raise not_found(parent_res.label, parent_id)
        return parent

    # -- writes --------------------------------------------------------------------------
    def _context(self, res: Resource, actor: str) -> WriteContext:
        return WriteContext(store=self.store, actor=actor, api_base=self.api_base, resource=res,
                            extra_required=self.required_fields.get(res.key, ()),
                            reclose_keeps=self.reclose == "keep")

    def _finish(self, ctx: WriteContext, res: Resource, body: Any, *, mode: str, actor: str,
                existing: dict | None, parent: dict | None, rid: int | None) -> dict:
        fields = clean_body(ctx, body, mode=mode)
        if parent is not None and res.parent_field:
            fields[res.parent_field] = make_reference(ctx, _parent_ref_schema(res), parent)
        prepare(ctx, fields, mode=mode, existing=existing)
        check_required(ctx, fields, mode=mode)
        check_unique(ctx, fields, rid)
        ctx.raise_if_errors()
        stamp = now_iso()
        info = dict((existing or {}).get("_info") or {"dateEntered": stamp, "enteredBy": actor})
        info.update(lastUpdated=stamp, updatedBy=actor)
        record = {"id": rid if rid is not None else self.store.new_id(res.key), **fields, "_info": info}
        self.store.put(res.key, record)
        _after_write(self, ctx, res, record, existing)
        final = self.store.get(res.key, record["id"]) or record
        self.changed(res.key, "added" if existing is None else "updated", final, actor)
        return final

    def create(self, res: Resource, body: Any, actor: str, parent_id: int | None = None) -> dict:
        """POST: validate, default, store; returns the created record."""
        with self.store.lock:
            parent = self.require_parent(res, parent_id)
            ctx = self._context(res, actor)
            return self._finish(ctx, res, body, mode="post", actor=actor, existing=None, parent=parent, rid=None)

    def replace(self, res: Resource, rid: int, body: Any, actor: str, parent_id: int | None = None) -> dict:
        """PUT: the body replaces the record (left-out fields are reset)."""
        with self.store.lock:
            parent = self.require_parent(res, parent_id)
            existing = self.get(res, rid, parent_id)
            ctx = self._context(res, actor)
            return self._finish(ctx, res, body, mode="put", actor=actor, existing=existing, parent=parent, rid=rid)

    def patch(self, res: Resource, rid: int, ops: Any, actor: str, parent_id: int | None = None) -> dict:
        """PATCH: apply JSON-Patch operations to the record, then validate the result like a PUT."""
        with self.store.lock:
            parent = self.require_parent(res, parent_id)
            existing = self.get(res, rid, parent_id)
            draft = {k: copy.deepcopy(v) for k, v in existing.items() if k not in ("id", "_info")}
            if not apply_patch(res, draft, ops):
                return existing  # only paths inside references: ConnectWise's "false 200"
            ctx = self._context(res, actor)
            return self._finish(ctx, res, draft, mode="patch", actor=actor, existing=existing, parent=parent,
                                rid=rid)

    def delete(self, res: Resource, rid: int, actor: str, parent_id: int | None = None) -> None:
        """DELETE: 404 if missing, 409 if still referenced; companies are soft-deleted."""
        with self.store.lock:
            record = self.get(res, rid, parent_id)
            if res.key == "companies":
                # ConnectWise keeps deleted companies visible with deletedFlag (API-NOTES §8).
                stamp = now_iso()
                deleted = {**record, "deletedFlag": True, "dateDeleted": stamp, "deletedBy": actor,
                           "_info": {**record["_info"], "lastUpdated": stamp, "updatedBy": actor}}
                self.store.put(res.key, deleted)
                self.changed(res.key, "deleted", deleted, actor)
                return
            if res.key == "opportunities":
                for product in self.store.all("products"):
                    if (product.get("opportunity") or {}).get("id") == rid:
                        self.store.delete("products", product["id"])
                for item in self.store.all("forecast_items"):
                    if item["opportunity"]["id"] == rid:
                        self.store.delete("forecast_items", item["id"])
            else:
                used_by = in_use_by(self.store, res.key, rid, ignore=CLEARED_ON_DELETE.get(res.key, ()))
                if used_by:
                    raise conflict(res.label, rid, used_by)
                before_delete(self, self._context(res, actor), res.key, record)
            if res.key == "products" and record.get("forecastDetailId"):
                self.store.delete("forecast_items", record["forecastDetailId"])
            self.store.delete(res.key, rid)
            self.changed(res.key, "deleted", record, actor)


def _parent_ref_schema(res: Resource) -> str:
    rule = field_rules(res.schema)[res.parent_field or ""]
    return rule.ref or ""


def apply_patch(res: Resource, draft: dict, ops: Any) -> bool:
    """Apply ConnectWise PATCH operations to ``draft`` (400 on a malformed operation).

    Paths are top-level property names, case-sensitive, with or without a leading slash.
    A path inside a reference (``company/identifier``) changes nothing, and a PATCH made only of
    such paths answers 200 with the record as it was: the Developer Guide's documented "false 200"
    (API-NOTES §5.1). Returns whether any operation applied.
    """
    if not isinstance(ops, list) or not ops:
        raise bad_request("The PATCH body must be a non-empty JSON array of operations.")
    rules = field_rules(res.schema)
    errors = []
    applied = False
    for n, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
            raise bad_request(f"Operation {n} must be an object with op and path.")
        kind, path = op["op"].lower(), op["path"].lstrip("/")
        if kind not in PATCH_OPS:
            raise bad_request(f"Operation {n}: op must be add, replace or remove, not {op['op']!r}.")
        if "/" in path:
            continue  # inside a reference: ignored (the false 200)
        if path not in rules or path in ("id", "_info"):
            errors.append(field_error("InvalidObject", f"{path} is not a patchable property of {res.label}.",
                                      res.label, path))
            continue
        applied = True
        if kind == "remove":
            draft.pop(path, None)
        else:
            if "value" not in op:
                raise bad_request(f"Operation {n} ({kind} {path}) needs a value.")
            draft[path] = op["value"]
    if errors:
        raise invalid(res.label, errors)
    return applied


def _after_write(tenant: Tenant, ctx: WriteContext, res: Resource, record: dict, existing: dict | None) -> None:
    """Side effects ConnectWise performs after a write."""
    hook = AFTER_WRITE.get(res.key)
    if hook:
        hook(tenant, ctx, record, existing)


__all__ = ["Tenant", "ApiError", "apply_patch"]
