"""Two admins on the Sales rep mapping page at once, each in a browser of their own: a save keeps the rows its admin
did not touch, and a row the other admin changed in the meantime is refused with what they set, the admin's choice
kept on the page to save again on purpose."""

from __future__ import annotations

import pytest
from admin_support import rep_mapping, user

from helpers import browser_sign_in, close_context, configure_sandbox_connection

pytestmark = pytest.mark.browser

REPS = "/admin/integration/connectwise/reps"


@pytest.fixture()
def two_admins(browser, live_server, request):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    for p in pages:
        p.set_default_timeout(10_000)
        browser_sign_in(p, live_server.url, "admin@demo.example")
    yield pages
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        for n, p in enumerate(pages, 1):
            p.screenshot(path=f"test-artifacts/{request.node.name}-admin{n}.png", full_page=True)
    for c in contexts:
        close_context(c)


def test_two_admins_save_the_rep_mapping_at_once(app, live_server, cw_sandbox_demo, box, two_admins):
    configure_sandbox_connection(cw_sandbox_demo, box)
    riley, sam = user("riley@demo.example"), user("sam@demo.example")
    first, second = two_admins
    first.goto(live_server.url + REPS)
    first.select_option(f"select[name='member-{riley.id}']", "rrep")
    first.click("#save-reps")
    assert "Sales rep mapping saved." in first.locator(".flash.success").inner_text()

    # Both open the page; admin 1 maps Sam, admin 2 (on the page loaded before) changes only Riley's location.
    first.goto(live_server.url + REPS)
    second.goto(live_server.url + REPS)
    first.select_option(f"select[name='member-{sam.id}']", "rrep")
    first.click("#save-reps")
    assert "Sales rep mapping saved." in first.locator(".flash.success").inner_text()
    second.select_option(f"select[name='location-{riley.id}']", "Remote Office")
    second.click("#save-reps")
    assert "Sales rep mapping saved." in second.locator(".flash.success").inner_text()
    assert second.locator(f"select[name='member-{sam.id}']").input_value() == "rrep"
    assert rep_mapping(sam) == ("rrep", "Main", "Sales")
    assert rep_mapping(riley) == ("rrep", "Remote Office", "Sales")

    # Both change Sam: the later save is refused for Sam, saying what the other admin set and what to do.
    first.goto(live_server.url + REPS)
    second.goto(live_server.url + REPS)
    first.select_option(f"select[name='member-{sam.id}']", "ddefault")
    first.click("#save-reps")
    assert "Sales rep mapping saved." in first.locator(".flash.success").inner_text()
    second.select_option(f"select[name='member-{sam.id}']", "aadmin")
    second.click("#save-reps")
    assert "Nothing was saved" in second.locator(".flash.error").inner_text()
    row = second.locator(f"#rep-{sam.id}").inner_text()
    assert "Another save changed Sam Sales after you opened this page: it is now mapped to ddefault" in row
    assert "Your choice, mapped to aadmin (Main / Sales), was not saved. Save again to replace it with your choice" in row
    assert second.locator(f"select[name='member-{sam.id}']").input_value() == "aadmin"
    assert rep_mapping(sam)[0] == "ddefault"

    # Saving again replaces it on purpose.
    second.click("#save-reps")
    assert "Sales rep mapping saved." in second.locator(".flash.success").inner_text()
    assert rep_mapping(sam)[0] == "aadmin"
    assert rep_mapping(riley) == ("rrep", "Remote Office", "Sales")
