"""A rep whose Export click answered before the export ended sees "… is still being exported to ConnectWise (…)
(run #N)" at the top of the customer's page; once the run has ended and the ConnectWise panel below has refreshed
itself to the result, that flash goes too, without a reload (real Chromium). It stayed, saying the export was still
under way above a panel saying "created"."""

from __future__ import annotations

import re

import pytest
from customer_support import make_customer

from colcw_plugin.views import customers as customer_views
from helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

STALE = "[...document.querySelectorAll('.flash')].some(f => f.textContent.includes('still being exported'))"


def click_export_outlasting_the_wait(sandbox, live_server, page, monkeypatch, *, hang: float) -> str:
    """A rep's Export click on a new customer whose company create ConnectWise holds ``hang`` seconds, longer than the
    click waits (1 s): the click answers first. The customer's page address."""
    monkeypatch.setattr(customer_views, "EXPORT_WAIT_SECONDS", 1.0, raising=False)
    customer = make_customer()
    sandbox.add_fault(status="hang", seconds=hang, method="POST", path="company/companies$", count=1)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    url = f"{live_server.url}/customers/{customer.id}"
    page.goto(url)
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    clicked = page.request.post(f"{live_server.url}/colcw/customers/{customer.id}/export",
                                form={"csrf_token": token}, max_redirects=0)
    assert clicked.status == 302
    return url


def test_the_still_being_exported_flash_goes_once_the_panel_shows_the_result(sync_ready, live_server, page,
                                                                             monkeypatch):
    url = click_export_outlasting_the_wait(sync_ready, live_server, page, monkeypatch, hang=5)

    page.goto(url)  # the page the click leads to, its flash on top
    flash = page.locator(".flash", has_text="is still being exported to ConnectWise")
    said = flash.inner_text()
    assert said.startswith("Acme Corp is still being exported to ConnectWise ("), said
    run = re.search(r"\(run #(\d+)\)", said).group(1)
    under_way = page.locator("#colcw-export-under-way")
    under_way.wait_for()
    assert f"(run #{run})" in under_way.inner_text()
    page.evaluate("window.__sameDocument = true")

    page.wait_for_function("!document.querySelector('#colcw-export-under-way')", timeout=20_000)
    assert "Acme Corp (ACME1): created in ConnectWise" in page.locator("#colcw-last-result").inner_text()
    page.wait_for_function(f"!({STALE})", timeout=5_000)
    assert page.locator(".flash", has_text=f"(run #{run})").count() == 0
    assert page.evaluate("window.__sameDocument") is True
