"""What an export's flash says of a fix made on an admin's page is said as run logs and the customer's panel say it: a
rep reads the page's name with "(an admin's page: ask an admin)", an admin gets a link to it (one definition:
views/support.page_links)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from customer_support import make_customer

from colcw_plugin.setup import pages
from colcw_plugin.sync.customers import exporter
from colcw_plugin.sync.customers.contact_export import Outcome
from helpers import csrf_from, sign_in

FIX = f"An admin ticks the option on {pages.OPTIONS.name}, then export the customer again."


@pytest.fixture()
def refused(monkeypatch):
    """Every customer export fails with a fix made on the Options section (an admin's page)."""
    def export(self, customer, chunk):
        return [Outcome("customer", "failed", customer.id, None, f"{customer.name} ({customer.account_number})",
                        f"{customer.name} ({customer.account_number}): ConnectWise refused it.", FIX)]
    monkeypatch.setattr(exporter.CustomerExporter, "_export", export)


def _flash(app, email: str, customer_id: int) -> str:
    with app.app_context():
        client = sign_in(app.test_client(), email)
        token = csrf_from(client.get("/customers/").get_data(as_text=True))
        resp = client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token})
        assert resp.status_code == 302
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
    return re.search(r'<div class="flash error"[^>]*>(.*?)</div>', page, re.S).group(1)


def test_a_rep_is_told_to_ask_an_admin_and_an_admin_gets_the_link(app, sync_ready, refused):
    customer = make_customer()
    rep = _flash(app, "riley@demo.example", customer.id)
    assert unescape(rep) == ("Export to ConnectWise failed: Acme Corp (ACME1): ConnectWise refused it. An admin ticks "
                             f"the option on {pages.OPTIONS.name} (an admin's page: ask an admin), then export the "
                             "customer again.")
    assert "<a " not in rep
    admin = _flash(app, "admin@demo.example", customer.id)
    assert re.search(r'<a href="[^"]*/admin/integration/connectwise/?#options">', admin), admin
    assert "ask an admin" not in admin
