"""Saving the connection while ConnectWise rate-limits or fails its company lookup (/login/companyinfo: 429, 503)
says so on the Connection card, not "ConnectWise refused it … Check the site URL": the address is right, ConnectWise
is busy. A 404 there still says to check the site URL (see test_companyinfo_errors)."""

from __future__ import annotations

import html
import re

import pytest
from admin_support import connection_form

URL = "/admin/integration/connectwise/"


def _card(page: str) -> str:
    found = re.search(r'<p id="connection-state"[^>]*>(.*?)</p>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""


@pytest.mark.parametrize("status, lead", [(429, "Saved, but ConnectWise is rate-limiting colcw: "),
                                          (503, "Saved, but ConnectWise failed: ")])
def test_a_busy_company_lookup_is_said_as_such_on_the_card(admin_client, cw_sandbox, status, lead):
    cw_sandbox.add_fault(status=status, retry_after=30, path="login/companyinfo")
    resp = admin_client.post(URL + "connection", data=connection_form(admin_client, cw_sandbox), follow_redirects=True)
    card = _card(resp.get_data(as_text=True))
    assert card.startswith(lead), card
    assert "Check the site URL" not in card and "refused" not in card, card
