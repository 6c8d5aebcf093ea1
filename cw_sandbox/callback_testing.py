"""``SandboxServer`` methods for callbacks and person changes (mixed into cw_sandbox.testing).

    server.set_callback_settings(retry_delays=[0.05, 0.1], timeout_seconds=1)
    server.add_callback_fault("drop", fraction=0.3)
    server.set_opportunity_status(7, "Lost")          # fires the opportunity callbacks
    server.wait_for_deliveries()                       # raises TimeoutError if still busy
    [d["state"] for d in server.deliveries()]

Person changes raise ``SandboxControlError`` (with ``.status`` and ConnectWise's ``.body``)
when the sandbox refuses them; the other methods raise ``requests.HTTPError``.
"""

from __future__ import annotations

from typing import Any


class SandboxControlError(Exception):
    """A control-API call the sandbox refused: ``status`` and the error ``body`` it answered."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        message = body.get("message") if isinstance(body, dict) else body
        details = [e.get("message", "") for e in (body.get("errors") or [])] if isinstance(body, dict) else []
        super().__init__(f"{what}: HTTP {status}: {message}" + (f" ({'; '.join(details)})" if details else ""))
        self.status = status
        self.body = body


class CallbackControls:
    """Needs ``_control(method, path, json)`` and ``_session``/``base_url`` from SandboxServer."""

    base_url: str
    _session: Any

    def _control(self, method: str, path: str, json: Any = None) -> Any:  # provided by SandboxServer
        raise NotImplementedError

    # -- delivery settings, faults, log ----------------------------------------------------
    def callback_settings(self) -> dict:
        """The delivery settings (retry_delays, retry_statuses, timeout_seconds, give_up_after_seconds, workers)."""
        return self._control("GET", "callbacks/settings")

    def set_callback_settings(self, **settings: Any) -> dict:
        """Change delivery settings until the next reset; returns all of them."""
        return self._control("POST", "callbacks/settings", settings)

    def add_callback_fault(self, kind: str, **spec: Any) -> dict:
        """Arm a callback fault: kind drop | duplicate | delay | reorder | bad_signature (see callback_faults)."""
        return self._control("POST", "callbacks/faults", {"kind": kind, **spec})

    def callback_faults(self) -> list[dict]:
        """The armed callback faults with their seen/fired counters."""
        return self._control("GET", "callbacks/faults")

    def clear_callback_faults(self) -> None:
        """Disarm all callback faults."""
        self._control("DELETE", "callbacks/faults")

    def deliveries(self, body: bool = False) -> list[dict]:
        """The delivery log, oldest first (``body=True`` adds each raw body)."""
        return self._control("GET", "callbacks/deliveries" + ("?body=1" if body else ""))

    def clear_deliveries(self) -> None:
        """Empty the delivery log."""
        self._control("DELETE", "callbacks/deliveries")

    def wait_for_deliveries(self, timeout: float = 10.0) -> list[dict]:
        """Wait until no delivery is queued or in flight; returns the log. TimeoutError if still busy."""
        state = self._control("POST", "callbacks/drain", {"timeout": timeout})
        if not state["drained"]:
            raise TimeoutError(f"callback deliveries still busy after {timeout:g} s: {state['pending']} queued, "
                               f"{state['in_flight']} in flight")
        return self.deliveries()

    def advance_callback_clock(self, seconds: float) -> float:
        """Move the callback service's clock forward (give-up emulation); returns the total offset."""
        return self._control("POST", "callbacks/clock", {"advance_seconds": seconds})["offset_seconds"]

    def signing_key(self) -> dict:
        """The key signing now: key_id, key_url, signing_key."""
        return self._control("GET", "callbacks/key")

    def rotate_signing_key(self) -> dict:
        """Sign with a new key from now on; returns it (old key_urls keep answering)."""
        return self._control("POST", "callbacks/key/rotate")

    # -- person changes ----------------------------------------------------------------------
    def _person(self, method: str, path: str, body: dict) -> Any:
        resp = self._session.request(method, f"{self.base_url}/__sandbox__/person/{path}", json=body, timeout=60)
        data = resp.json() if resp.content else None
        if resp.status_code >= 400:
            raise SandboxControlError(resp.status_code, data, f"{method} /__sandbox__/person/{path}")
        return data

    @staticmethod
    def _with_member(body: dict, member: str | None) -> dict:
        return {**body, "member": member} if member else body

    def set_opportunity_status(self, opportunity_id: int, status: str | int, member: str | None = None) -> dict:
        """Set an opportunity's status (name or id) as a person would; returns the opportunity."""
        return self._person("POST", f"opportunities/{opportunity_id}/status",
                            self._with_member({"status": status}, member))

    def edit_record(self, kind: str, record_id: int, changes: dict, member: str | None = None) -> dict:
        """Edit fields of a company, contact, opportunity or product (kind = companies | contacts |
        opportunities | products); a None value removes the field. Returns the record."""
        return self._person("PATCH", f"{kind}/{record_id}", self._with_member({"changes": changes}, member))

    def delete_record(self, kind: str, record_id: int, member: str | None = None) -> None:
        """Delete a company (kept with deletedFlag), contact, opportunity or product line."""
        self._person("DELETE", f"{kind}/{record_id}", self._with_member({}, member))

    def edit_company(self, company_id: int, changes: dict, member: str | None = None) -> dict:
        """Edit a company (e.g. ``{"addressLine1": "2 New St"}``)."""
        return self.edit_record("companies", company_id, changes, member)

    def delete_company(self, company_id: int, member: str | None = None) -> None:
        """Delete a company (ConnectWise keeps it, with deletedFlag)."""
        self.delete_record("companies", company_id, member)

    def add_contact(self, fields: dict, member: str | None = None) -> dict:
        """Add a contact (e.g. ``{"firstName": "Grace", "company": {"id": 3}}``); returns it."""
        return self._person("POST", "contacts", self._with_member({"fields": fields}, member))

    def edit_contact(self, contact_id: int, changes: dict, member: str | None = None) -> dict:
        """Edit a contact."""
        return self.edit_record("contacts", contact_id, changes, member)

    def delete_contact(self, contact_id: int, member: str | None = None) -> None:
        """Delete a contact (409 while an opportunity uses it)."""
        self.delete_record("contacts", contact_id, member)

    def edit_opportunity(self, opportunity_id: int, changes: dict, member: str | None = None) -> dict:
        """Edit an opportunity (name, expectedCloseDate, ...)."""
        return self.edit_record("opportunities", opportunity_id, changes, member)

    def add_product(self, opportunity_id: int, fields: dict, member: str | None = None) -> dict:
        """Add a product line to an opportunity (e.g. ``{"catalogItem": {"identifier": "X"}, "quantity": 2}``)."""
        return self._person("POST", f"opportunities/{opportunity_id}/products",
                            self._with_member({"fields": fields}, member))

    def edit_product(self, product_id: int, changes: dict, member: str | None = None) -> dict:
        """Edit a product line (quantity, price, description...)."""
        return self.edit_record("products", product_id, changes, member)

    def delete_product(self, product_id: int, member: str | None = None) -> None:
        """Remove a product line from its opportunity."""
        self.delete_record("products", product_id, member)
