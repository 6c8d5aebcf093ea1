"""``colcw configure`` with keys ConnectWise refuses saves them, as the Connection page does (an admin may enter keys
before ConnectWise accepts them: the page saves whatever ConnectWise says and warns), and exits 1 with the same
warning whether Live updates are on or off, so a script stops on it (it exited 0 with Live updates off)."""

from __future__ import annotations

import html

from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"


def _configure(app, sandbox, private_key: str):
    return app.test_cli_runner().invoke(args=[
        "colcw", "configure", "--site", sandbox.base_url, "--company-id", sandbox.company_id, "--public-key",
        sandbox.public_key, "--private-key", private_key, "--client-id", "colcw-cli", "--allow-http"])


def test_configure_saves_a_refused_key_as_the_page_does_and_exits_1_with_live_updates_off(app, admin_client,
                                                                                          connected):
    result = _configure(app, connected, "not-the-key")
    assert result.exit_code == 1, result.output
    assert "Saved the ConnectWise connection to" in result.output
    assert "Warning: saved, but ConnectWise refused the API keys" in result.output
    assert "not-the-key" not in result.output
    db.session.expire_all()
    assert get_settings(db.session).check_ok is False
    page = html.unescape(admin_client.get(URL).get_data(as_text=True))
    assert "ConnectWise refused the API keys" in page  # the Connection card: saved, and not working

    fixed = _configure(app, connected, connected.private_key)
    assert fixed.exit_code == 0, fixed.output
    assert "ConnectWise accepted it" in fixed.output
