"""``/system/callbacks``: the registration rules, which changes a callback hears, and the signed message.

Registration (``CallbackEntry``, data/supplement_callbacks.json) goes through the generic
write pipeline; the rules here add what the schema cannot say:

* ``url`` must be an absolute http(s) URL. UNVERIFIED: ConnectWise may insist on https.
* ``type`` is free text, compared without case. Only ``company``, ``contact`` and
  ``opportunity`` are ever delivered here (the records the sandbox models); other types
  (ticket, activity...) register but never fire.
* ``level`` for those three types must be one of ``LEVELS``; ``owner`` hears every record of
  the type, the others narrow it by ``objectId``: the record itself (``company`` level of a
  company callback, ``contact``, ``opportunity``), its company, status, type or territory.
  ``objectId`` must then be a record id (1 or more); with ``owner`` it may be 0.
  UNVERIFIED: the contact and opportunity level names; the user guide lists company ones.
* The same ``url``, ``type``, ``level`` and ``objectId`` twice (inactive ones included) is a
  400 InvalidObject whose ``errors[]`` carries code ``ObjectExists`` on field ``url`` and names
  the existing id. UNVERIFIED: the exact envelope; integrations handle "ObjectExists".
* POST defaults ``inactiveFlag``, ``isSoapCallbackFlag`` and ``isSelfSuppressedFlag`` to false
  and ``memberId`` to the id of the member who registers it. ``isSelfSuppressedFlag`` is kept
  but does nothing here: what ConnectWise does with it is not public, so a client must not
  rely on it to suppress its own echoes.

Which changes fire (``subjects``): an API write (or a control-API person change) to a company,
contact or opportunity fires that type with ``added``/``updated``/``deleted`` (a deleted
company stays readable with ``deletedFlag``). A product line or forecast row added, edited or
deleted fires ``updated`` for its opportunity, with the opportunity as the Entity: ConnectWise
has no callback type for opportunity products, and the opportunity screen is where they live.
UNVERIFIED: whether ConnectWise itself notifies the opportunity then. Records made by
``/__sandbox__/generate``, seeding, and site or forecast-container deletes fire nothing.

The message (``payload``) carries ``MessageId``, ``FromUrl`` (the site's host), ``CompanyId``,
``MemberId`` (who made the change), ``Action``, ``Type`` (the callback's type, lower case),
``ID``, ``ProductInstanceId`` and ``PartnerId`` (null: their meaning is not public),
``Entity`` (the record as the API returns it, as a JSON string) and ``Metadata.key_url``.
``x-content-signature`` is base64(HMAC-SHA256(key = SHA-256(signing key), raw body)). The
signing key is the tenant's (kept in the store, new after a reset, rotatable); ``key_url`` is
``{api base}system/callbackkeys/{key id}`` on the sandbox's own host and answers
``{"signing_key": ...}`` without authentication. UNVERIFIED: the real key_url path; a client
should check only its scheme and host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cw_sandbox.callback_faults import CallbackFaultSet
from cw_sandbox.delivery import DeliverySettings, DeliveryWorker, Outgoing
from cw_sandbox.rules import PREPARE
from cw_sandbox.validation import WriteContext, find_by, now_iso

if TYPE_CHECKING:
    from flask import Flask

    from cw_sandbox.tenant import Tenant

LEVELS: dict[str, tuple[str, ...]] = {
    "company": ("owner", "company", "status", "type", "territory", "integratortag"),
    "contact": ("owner", "contact", "company", "type"),
    "opportunity": ("owner", "opportunity", "company", "status", "type"),
}
DIRECT_TYPES = {"companies": "company", "contacts": "contact", "opportunities": "opportunity"}
OPPORTUNITY_PARTS = ("products", "forecast_items")
KEY_PATH = "system/callbackkeys/"


# -- registration rules ------------------------------------------------------------------
def _lower(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def same_registration(a: dict, b: dict) -> bool:
    """Whether two entries register the same URL, type, level and objectId."""
    return (str(a.get("url", "")).strip() == str(b.get("url", "")).strip() and _lower(a.get("type")) == _lower(
        b.get("type")) and _lower(a.get("level")) == _lower(b.get("level")) and a.get("objectId") == b.get("objectId"))


def _callback_rules(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    url = fields.get("url")
    if isinstance(url, str):
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            ctx.error("InvalidObject", f"The url '{url}' is not an absolute http or https URL.", "url")
        else:
            fields["url"] = url.strip()
    for name in ("type", "level"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    ctype, level, object_id = _lower(fields.get("type")), _lower(fields.get("level")), fields.get("objectId")
    allowed = LEVELS.get(ctype)
    if allowed is not None and level and level not in allowed:
        ctx.error("InvalidObject", f"'{fields['level']}' is not a level of {ctype} callbacks; use one of "
                  f"{', '.join(allowed)}.", "level")
    if isinstance(object_id, int) and (object_id < 0 or (object_id == 0 and level and level != "owner")):
        ctx.error("InvalidObject", f"objectId must be the id of the {level or 'record'} the callback listens to "
                  "(1 or more; 0 only with level owner).", "objectId")
    previous = existing or {}
    for flag in ("inactiveFlag", "isSoapCallbackFlag", "isSelfSuppressedFlag"):
        fields.setdefault(flag, bool(previous.get(flag, False)) if mode == "patch" else False)
    if "memberId" not in fields:
        member = find_by(ctx.store, "members", "identifier", ctx.actor)
        if previous.get("memberId") is not None:
            fields["memberId"] = previous["memberId"]
        elif member is not None:
            fields["memberId"] = member["id"]
    own_id = previous.get("id")
    for other in ctx.store.all("callbacks"):
        if other["id"] != own_id and same_registration(other, fields):
            ctx.error("ObjectExists", f"A callback for this url, type, level and objectId already exists "
                      f"(id {other['id']}).", "url")
            break


PREPARE["callbacks"] = _callback_rules


# -- which callbacks a change selects ----------------------------------------------------
def subjects(store: Any, key: str, action: str, record: dict) -> list[tuple[str, str, dict]]:
    """(callback type, action, entity) for a write to ``key`` (empty when no callback type covers it)."""
    if key in DIRECT_TYPES:
        return [(DIRECT_TYPES[key], action, record)]
    if key in OPPORTUNITY_PARTS:
        opportunity = store.get("opportunities", (record.get("opportunity") or {}).get("id") or 0)
        return [("opportunity", "updated", opportunity)] if opportunity else []
    return []


def _ref_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else None


def selects(entry: dict, ctype: str, record: dict) -> bool:
    """Whether the active callback ``entry`` hears a change of ``record`` (of type ``ctype``)."""
    if entry.get("inactiveFlag") or _lower(entry.get("type")) != ctype:
        return False
    level, wanted = _lower(entry.get("level")), entry.get("objectId")
    if level == "owner":
        return True
    if level == ctype:
        return record.get("id") == wanted
    if level in ("company", "status", "territory"):
        return _ref_id(record.get(level)) == wanted
    if level == "type":
        kinds = record.get("types") or ([record["type"]] if record.get("type") else [])
        return any(_ref_id(k) == wanted for k in kinds)
    return False


# -- signing -----------------------------------------------------------------------------
def sign(body: bytes, signing_key: str) -> str:
    """``x-content-signature``: base64(HMAC-SHA256(SHA-256(signing key), body))."""
    key = hashlib.sha256(signing_key.encode("utf-8")).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


class SigningKeys:
    """The tenant's signing keys, kept in the store's meta (a reset makes a new one)."""

    META = "callback_signing_keys"

    def __init__(self, store: Any) -> None:
        self.store = store

    def _state(self) -> dict:
        state = self.store.get_meta(self.META)
        if not state or state.get("current") not in state.get("keys", {}):
            state = {"current": None, "keys": {}}
        return state

    def current(self) -> tuple[str, str]:
        """(key id, signing key), making the first one on demand."""
        with self.store.lock:
            state = self._state()
            if state["current"] is None:
                return self.rotate()
            return state["current"], state["keys"][state["current"]]

    def rotate(self) -> tuple[str, str]:
        """Start signing with a new key; older key_urls keep answering their key."""
        with self.store.lock:
            state = self._state()
            key_id, key = uuid.uuid4().hex, secrets.token_urlsafe(32)
            self.store.set_meta(self.META, {"current": key_id, "keys": {**state["keys"], key_id: key}})
            return key_id, key

    def get(self, key_id: str) -> str | None:
        """The signing key behind a key_url, or None."""
        return self._state()["keys"].get(key_id)


def payload(tenant: Tenant, ctype: str, action: str, record: dict, actor: str, key_url: str,
            message_id: str) -> bytes:
    """The raw JSON body ConnectWise POSTs for one change."""
    body = {
        "MessageId": message_id, "FromUrl": urlsplit(tenant.site_url).netloc, "CompanyId": tenant.company_id,
        "MemberId": actor, "Action": action, "Type": ctype, "ID": record["id"], "ProductInstanceId": None,
        "PartnerId": None, "Entity": json.dumps(record, ensure_ascii=False, separators=(",", ":")),
        "Metadata": {"key_url": key_url},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- the service that ties it together ---------------------------------------------------
class CallbackService:
    """Turns tenant writes into signed deliveries; owns the keys, the faults and the worker."""

    def __init__(self, tenant: Tenant, settings: DeliverySettings) -> None:
        self.tenant = tenant
        self.keys = SigningKeys(tenant.store)
        self.faults = CallbackFaultSet()
        self.worker = DeliveryWorker(settings, is_active=self.is_active, give_up=self.give_up)

    def key_url(self, key_id: str) -> str:
        """Where a receiver fetches the signing key ``key_id``."""
        return f"{self.tenant.api_base}{KEY_PATH}{key_id}"

    def on_write(self, key: str, action: str, record: dict, actor: str) -> None:
        """Write listener: queue a delivery for every active callback the change selects."""
        if key == "callbacks":
            self.worker.forget_failures(record["id"])
            return
        found = subjects(self.tenant.store, key, action, record)
        if not found:
            return
        entries = self.tenant.store.all("callbacks")
        outs: list[Outgoing] = []
        for ctype, act, entity in found:
            for entry in entries:
                if selects(entry, ctype, entity):
                    outs.extend(self._message(entry, ctype, act, entity, actor))
        if outs:
            self.worker.submit(outs)

    def _message(self, entry: dict, ctype: str, action: str, entity: dict, actor: str) -> list[Outgoing]:
        key_id, signing_key = self.keys.current()
        message_id = str(uuid.uuid4())
        body = payload(self.tenant, ctype, action, entity, actor, self.key_url(key_id), message_id)
        out = Outgoing(callback_id=entry["id"], url=entry["url"], type=ctype, action=action, record_id=entity["id"],
                       member_id=actor, message_id=message_id, body=body, signature=sign(body, signing_key))
        return self.faults.apply(out, sign)

    def is_active(self, callback_id: int) -> bool:
        """Whether the callback still exists and is active (checked before each attempt)."""
        entry = self.tenant.store.get("callbacks", callback_id)
        return bool(entry) and not entry.get("inactiveFlag")

    def give_up(self, callback_id: int) -> None:
        """Set ``inactiveFlag`` on a callback that kept failing (no callback fires for this)."""
        with self.tenant.store.lock:
            entry = self.tenant.store.get("callbacks", callback_id)
            if entry and not entry.get("inactiveFlag"):
                info = {**(entry.get("_info") or {}), "lastUpdated": now_iso()}
                self.tenant.store.put("callbacks", {**entry, "inactiveFlag": True, "_info": info})

    def reset(self) -> None:
        """Clear listener: forget faults, queued deliveries, the log and the clock."""
        self.faults.clear()
        self.worker.reset()


def install(app: Flask, tenant: Tenant, settings: dict | None = None) -> CallbackService:
    """Wire callbacks into a sandbox app: write listeners, the control API, person changes, the page.

    ``settings`` overrides delivery settings (names as in ``DeliverySettings.describe``).
    """
    from cw_sandbox.callback_control import callbacks_bp, key_bp
    from cw_sandbox.person import person_bp
    from cw_sandbox.sandbox_ui import ui_bp

    service = CallbackService(tenant, DeliverySettings().updated(settings or {}))
    tenant.write_listeners.append(service.on_write)
    tenant.clear_listeners.append(service.reset)
    app.extensions["cw_sandbox_callbacks"] = service
    for blueprint in (key_bp, callbacks_bp, person_bp, ui_bp):
        app.register_blueprint(blueprint)
    return service
