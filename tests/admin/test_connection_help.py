"""Admin → Integration → ConnectWise: the site URL's help said "https is required" beside a connected http sandbox.
It says the rule the validation applies: https, or http with “Allow http” ticked where this server's development
setting (COLCW_ALLOW_HTTP) allows it; https only where it does not."""

from __future__ import annotations

import html as html_lib
import re

from admin_support import BASE

from helpers import tune_runtime


def _site_url_help(admin_client) -> str:
    page = html_lib.unescape(admin_client.get(BASE + "/").get_data(as_text=True))
    field = page.index('name="site_url"')
    return re.search(r'<p class="hint">(.*?)</p>', page[field:], re.S).group(1)


def test_with_an_http_sandbox_connected_the_help_says_when_http_is_allowed(admin_client, connected):
    assert connected.base_url.startswith("http://")
    hint = _site_url_help(admin_client)
    assert "https is required" not in hint
    assert "It must use https:// (assumed when you leave it out), or http:// with “Allow http” ticked below" in hint
    assert "COLCW_ALLOW_HTTP" in hint


def test_without_the_development_setting_the_help_says_https_only(app, admin_client, monkeypatch):
    tune_runtime(monkeypatch, app, allow_http=False)
    hint = _site_url_help(admin_client)
    assert "It must use https:// (assumed when you leave it out)." in hint
    assert "http://" not in hint and "Allow http" not in hint
