"""``SandboxServer`` methods for callbacks (mixed into cw_sandbox.testing).

    server.set_callback_settings(retry_delays=[0.05, 0.1], timeout_seconds=1)
    server.add_callback_fault("drop", fraction=0.3)
    server.wait_for_deliveries()                       # raises TimeoutError if still busy
    [d["state"] for d in server.deliveries()]

The methods raise ``requests.HTTPError`` when the sandbox refuses a call.
"""

from __future__ import annotations

from typing import Any


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
