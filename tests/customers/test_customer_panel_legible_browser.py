"""The customer page's ConnectWise panel is legible (real Chromium): Link to Company ID's placeholder fits its field
(it was cut off), and the last result's badge ("created", "link created") is at least the page's small text size
(0.8rem), not half the text's size."""

from __future__ import annotations

import pytest
from customer_support import make_customer

from helpers import browser_sign_in, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


def test_the_relink_placeholder_fits_and_the_result_badge_is_readable(sync_ready, live_server, page):
    customer = make_customer()
    rt = runtime()
    run = rt.submit(db.session, "customer_export", {"customer_id": customer.id},
                    actor={"id": None, "email": "admin@demo.example", "role": "admin"}).run
    rt.execute(db.session, run.id, queued=True)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    field = page.locator("#colcw-relink-form input[name=company]")
    field.wait_for()
    placeholder = field.get_attribute("placeholder")
    assert placeholder
    # The placeholder as the field shows it: typed in, it fits when nothing scrolls.
    scroll, client = field.evaluate("el => { el.value = el.placeholder; return [el.scrollWidth, el.clientWidth]; }")
    assert scroll <= client, (placeholder, scroll, client)

    badge = page.locator("#colcw-last-result .badge")
    assert badge.inner_text() == "created"
    size, rem = badge.evaluate("el => [parseFloat(getComputedStyle(el).fontSize),"
                               " parseFloat(getComputedStyle(document.documentElement).fontSize)]")
    assert size >= 0.8 * rem - 0.01, (size, rem)
