"""Run the sandbox in a background thread for tests: ``SandboxServer``.

    server = SandboxServer(seed="empty")      # starts at once on a free port
    server.api("GET", "company/companies", params={"pageSize": 1000}).json()
    server.add_fault(status=429, retry_after=1, count=1)
    server.stop()

``api`` is an authenticated ``requests`` call for tests that want to see what ConnectWise
holds; the code under test should use its own client with ``base_url``, ``company_id``,
``public_key`` and ``private_key``. Callback controls and person changes
(``set_opportunity_status``, ``wait_for_deliveries``...) come from
``cw_sandbox.callback_testing.CallbackControls``.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer

from cw_sandbox.app import create_app
from cw_sandbox.callback_testing import CallbackControls
from cw_sandbox.serving import make_server
from cw_sandbox.throttle import DEFAULT_IN_FLIGHT, DEFAULT_PER_MINUTE

CLIENT_ID = "00000000-0000-4000-8000-000000000000"


class _Dispatcher:
    """A WSGI app whose target is set after the socket is bound (the port feeds site_url)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.app(environ, start_response)


class SandboxServer(CallbackControls):
    """A live sandbox on ``http://127.0.0.1:<free port>``, served with threads and kept-alive
    connections (``serving.py``). ``requests_per_minute`` and ``max_in_flight`` are the tenant's
    request budget (ConnectWise's 1,000 a minute by default; None for no limit).
    ``callback_settings`` overrides the callback delivery settings for this server's life
    (a reset returns to them), e.g. ``{"retry_delays": [0.05, 0.1]}``.
    """

    def __init__(self, seed: str = "empty", db_path: str | None = None, company_id: str = "sandbox",
                 codebase: str = "v2025_1/", host: str = "127.0.0.1", port: int = 0,
                 requests_per_minute: int | None = DEFAULT_PER_MINUTE,
                 max_in_flight: int | None = DEFAULT_IN_FLIGHT, callback_settings: dict | None = None) -> None:
        self._dispatcher = _Dispatcher()
        self._server: BaseWSGIServer = make_server(host, port, self._dispatcher, quiet=True)
        self.port: int = self._server.server_port
        self.base_url = f"http://{host}:{self.port}"
        self.app = create_app(seed=seed, db_path=db_path, company_id=company_id, codebase=codebase,
                              site_url=self.base_url, requests_per_minute=requests_per_minute,
                              max_in_flight=max_in_flight, callback_settings=callback_settings)
        self._dispatcher.app = self.app
        self.tenant = self.app.extensions["cw_sandbox"]
        self.company_id = company_id
        self.public_key = self.tenant.public_key
        self.private_key = self.tenant.private_key
        self.username = self.tenant.integrator_username
        self.password = self.tenant.integrator_password
        self.client_id = CLIENT_ID
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._server.serve_forever, name="cw-sandbox", daemon=True)
        self._thread.start()

    # -- URLs and credentials ------------------------------------------------------------
    @property
    def codebase(self) -> str:
        """The current codebase, e.g. "v2025_1/"."""
        return self.tenant.codebase

    @property
    def api_url(self) -> str:
        """``{base_url}/{codebase}apis/3.0/`` for the current codebase."""
        return f"{self.base_url}/{self.codebase}apis/3.0/"

    @property
    def auth(self) -> tuple[str, str]:
        """The (username, password) pair for API-key Basic auth."""
        return (f"{self.company_id}+{self.public_key}", self.private_key)

    # -- control API ---------------------------------------------------------------------
    def _control(self, method: str, path: str, json: Any = None) -> Any:
        resp = self._session.request(method, f"{self.base_url}/__sandbox__/{path}", json=json, timeout=120)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def reset(self, seed: str = "empty", codebase: str | None = None) -> None:
        """Back to ``seed``; clears faults, denied resources and the request log. With ``codebase``, the API
        moves there first (``set_codebase``), in the same request."""
        self._control("POST", "reset", {"seed": seed, **({"codebase": codebase} if codebase is not None else {})})

    def add_fault(self, **spec: Any) -> dict:
        """Arm a fault (see cw_sandbox.faults for the keys); returns it with its id."""
        return self._control("POST", "faults", spec)

    def clear_faults(self) -> None:
        """Disarm all faults."""
        self._control("DELETE", "faults")

    def requests(self) -> list[dict]:
        """Every API request since the last reset: method, path, query, status, time."""
        return self._control("GET", "requests")

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._control("DELETE", "requests")

    def set_codebase(self, codebase: str) -> None:
        """Move the API to another codebase (the old one answers 404)."""
        self._control("POST", "codebase", {"codebase": codebase})

    def deny(self, resources: list[str]) -> None:
        """Make these resources answer 403 (``[]`` allows everything again)."""
        self._control("POST", "permissions", {"deny": list(resources)})

    def generate(self, companies: int, contacts_per_company: float = 2.5, age_minutes: float = 0) -> dict:
        """Bulk-generate companies and contacts, last changed ``age_minutes`` ago."""
        return self._control("POST", "generate", {"companies": companies, "contacts_per_company": contacts_per_company,
                                                  "age_minutes": age_minutes})

    def set_options(self, **options: Any) -> dict:
        """E.g. ``set_options(forecast_shape="object")``."""
        return self._control("POST", "options", options)

    def throttle(self) -> dict:
        """The request budget: ``{"per_minute": ..., "in_flight": ...}``."""
        return self._control("GET", "throttle")

    def set_throttle(self, **limits: Any) -> dict:
        """Change the request budget until the next reset, e.g. ``set_throttle(per_minute=5)``
        (None turns a limit off)."""
        return self._control("POST", "throttle", limits)

    # -- API -----------------------------------------------------------------------------
    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        """An authenticated request to ``{api_url}{path}`` (no raise on error statuses)."""
        headers = {"clientId": self.client_id, "Accept": "application/vnd.connectwise.com+json; version=2025.16",
                   **kw.pop("headers", {})}
        kw.setdefault("timeout", 60)
        kw.setdefault("auth", self.auth)
        return self._session.request(method, self.api_url + path.lstrip("/"), headers=headers, **kw)

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.app.extensions["cw_sandbox_callbacks"].worker.close()
        self._session.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
