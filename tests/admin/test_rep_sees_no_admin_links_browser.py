"""In the browser, while ConnectWise is not connected: a rep who imports from ConnectWise reads that an admin must
connect it, naming the page without a link (the page answers a rep 403); an admin reads the same with the link and
follows it."""

from __future__ import annotations

import pytest

from helpers import browser_sign_in, close_context

pytestmark = pytest.mark.browser

SAID = "ConnectWise is not connected yet — ask an admin to connect it on Admin → Integration → ConnectWise."


def _import(page) -> None:
    page.click("#colcw-import-link")
    dialog = page.locator("#colcw-import-dialog")
    dialog.locator("input[name=company]").fill("CW0006")
    dialog.locator("#colcw-import-form button[type=submit]").click()


def test_a_rep_reads_the_page_name_and_an_admin_gets_the_link(app, live_server, browser):
    for email, linked in (("riley@demo.example", False), ("admin@demo.example", True)):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            browser_sign_in(page, live_server.url, email)
            _import(page)
            answer = page.get_by_text("ConnectWise is not connected yet")
            answer.wait_for()
            assert SAID in answer.inner_text()
            links = answer.locator("a", has_text="Admin → Integration → ConnectWise")
            assert links.count() == (1 if linked else 0), email
            if linked:
                links.click()
                page.wait_for_url("**/admin/integration/connectwise/")
                assert page.locator("h1").inner_text() == "ConnectWise"
        finally:
            close_context(context)
