"""Registering the callbacks again after the connection was saved, while ConnectWise rate-limits or fails its company
lookup (/login/companyinfo: 429, 503), says ConnectWise is busy and to save again later, not "ConnectWise refused it
… Correct it": nothing in the connection is wrong. (On the page the check's own warning says it first when the check
met it too; the callbacks' registration meets it alone when its client had to look the codebase up again.)"""

from __future__ import annotations

import pytest

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.setup.live_updates import LiveInput
from colcw_plugin.sync.inbound.switch import apply_live, recheck_callbacks
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


@pytest.mark.parametrize("status, lead", [(429, "ConnectWise is rate-limiting colcw"), (503, "ConnectWise failed")])
def test_a_busy_company_lookup_while_the_callbacks_register_says_busy_not_refused(app, connected, status, lead):
    rt = runtime()
    messages = apply_live(db.session, rt.box, rt.client, LiveInput(True, "https://quotes.example.com", HOST_MASTER),
                          "tests", check=lambda url: "")
    assert ("info", "Callbacks: registered company, contact, opportunity.") in messages
    rt.codebases.forget_all()  # the registration's client asks the login host first
    connected.add_fault(status=status, retry_after=30, path="login/companyinfo")

    done = recheck_callbacks(db.session, rt.box, rt.interactive_client)

    assert done.failed
    [(category, text)] = done.messages
    assert category == "warning"
    assert f"{lead} when colcw registered the callbacks" in text, text
    assert "refused" not in text and "does not work" not in text and "Correct it" not in text, text
    assert "try again in a few minutes" in text or "save the connection again" in text.lower(), text
