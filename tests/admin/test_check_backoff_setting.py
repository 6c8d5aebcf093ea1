"""Test Connection's check (the page's Test Connection, and the check run when the connection is saved) builds its own
ConnectWise client: it now backs off as COLCW_CW_BACKOFF_SECONDS says, like every other client colcw builds
(sync/runtime.py), instead of the client's built-in 0.5 s. ConnectWise fails the check's first read of the members
(503) once: the pause before the second try is the configured back-off's (half to all of it). Against the sandbox."""

from __future__ import annotations

import pytest
from admin_support import connection_form

from colcw_plugin.cw import ConnectWiseClient
from colcw_plugin.setup import connection as setup_connection
from colcw_plugin.setup.connection import get_settings
from helpers import tune_runtime
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"
BACKOFF = 0.02  # unlike the client's default (0.5 s) and the tests' (0.05 s)


@pytest.fixture()
def check_clients(monkeypatch):
    """The check's clients: each one's back-off setting and the pauses it slept between tries."""
    seen: list[tuple[float, list[float]]] = []

    class Recording(ConnectWiseClient):
        def __init__(self, settings, *args, **kwargs):
            pauses: list[float] = []
            seen.append((settings.backoff_base, pauses))

            def sleep(seconds: float) -> None:
                pauses.append(seconds)

            super().__init__(settings, *args, sleep=sleep, **kwargs)

    monkeypatch.setattr(setup_connection, "ConnectWiseClient", Recording)
    return seen


@pytest.mark.parametrize("action", ["test", "connection"], ids=["test-connection", "save"])
def test_the_check_backs_off_as_configured(app, monkeypatch, admin_client, cw_sandbox, check_clients, action):
    tune_runtime(monkeypatch, app, cw_backoff_seconds=BACKOFF)
    cw_sandbox.add_fault(status=503, nth=2, path="system/members")  # (the 1st: a probe, never retried)

    resp = admin_client.post(URL + action, data=connection_form(admin_client, cw_sandbox))
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:500]

    [(backoff, pauses)] = check_clients
    assert backoff == BACKOFF
    assert pauses and all(BACKOFF / 2 <= p <= BACKOFF for p in pauses), pauses  # (0.25-0.5 s before)
    if action == "test":
        assert resp.get_json()["ok"] is True  # the second try went through
    else:
        assert get_settings(db.session).check_ok is True
