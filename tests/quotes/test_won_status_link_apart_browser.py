"""On a quote's page, the link to ConnectWise is shown apart from ConnectWise's status (real Chromium): on a line of
its own under "Won in ConnectWise …", underlined and marked ↗ as leading out; beside the status, "Open in
ConnectWise" read as part of it (a status "Open" beside "Won")."""

from __future__ import annotations

import pytest

from helpers import browser_sign_in
from host_stub import services

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_the_connectwise_link_stands_apart_from_the_won_status(app, live_server, page):
    acme = services.save_customer({"account_number": "ACME1", "name": "Acme Ltd"},
                                  [{"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"}])
    quote = services.save_document({"customer_id": acme.id}, [{"item_number": "A", "quantity": 1, "price": 5}])
    uow = services.unit_of_work()
    uow.set_external_status(quote.id, "ConnectWise", status="won", label="Won in ConnectWise on 2026-05-04 by Sam",
                            url="https://cw.example/opportunity/8")
    uow.commit()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    status = page.locator("#external-status-connectwise .ext")
    link = page.locator("#external-status-connectwise a.external-link")
    assert status.inner_text() == "Won in ConnectWise on 2026-05-04 by Sam"
    assert link.get_attribute("href") == "https://cw.example/opportunity/8"
    status_box, link_box = status.bounding_box(), link.bounding_box()
    assert link_box["y"] >= status_box["y"] + status_box["height"] - 0.5, (status_box, link_box)  # below, not beside
    shown = link.evaluate("el => [getComputedStyle(el).textDecorationLine, getComputedStyle(el, '::after').content]")
    assert shown[0] == "underline" and "↗" in shown[1], shown
