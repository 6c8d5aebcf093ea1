"""Import From ConnectWise when the rep does not know the Company ID: the popup offers the companies whose name
or Company ID contains what was typed (against the sandbox over HTTP), and one click imports the one meant."""

from __future__ import annotations

import re
from html import unescape

import pytest
from customer_support import make_customer, run

from colcw_plugin.setup.connection import build_client
from colcw_plugin.sync.customers import lookup
from helpers import browser_sign_in, csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, identifier: str, name: str, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _found(box, text: str) -> lookup.Found:
    with build_client(db.session, box) as client:
        return lookup.companies_like(db.session, client, text)


def test_companies_are_found_by_part_of_their_name_or_company_id_with_the_rep_text_quoted(connected, box):
    _company(connected, "BOBS1", 'Bob\'s "Best" \\ Widgets')
    _company(connected, "WIDG2", "Acme Widgets")
    _company(connected, "OTHER3", "Zeta Supplies")
    gone = _company(connected, "WIDG4", "Widgets Gone Inc")
    assert connected.api("DELETE", f"company/companies/{gone['id']}").status_code == 204

    # Quotes and a backslash in the rep's text are a value to find, not part of the expression.
    assert [c.identifier for c in _found(box, '"Best" \\').choices] == ["BOBS1"]
    found = _found(box, "widgets")
    # Deleted companies are left out; one whose name starts with the text would come first, then by name.
    assert [c.name for c in found.choices] == ["Acme Widgets", 'Bob\'s "Best" \\ Widgets'] and not found.more
    assert found.choices[0].place == "Austin, TX" and found.choices[0].active
    assert [c.identifier for c in _found(box, "widg").choices] == ["WIDG2", "BOBS1"]  # Company ID starts with it
    assert [c.identifier for c in _found(box, "  ther ").choices] == ["OTHER3"]  # part of a Company ID
    assert _found(box, "nothing like it").choices == []


def test_a_company_already_linked_says_which_customer_an_import_updates_and_the_list_is_capped(connected, box):
    _company(connected, "LINKED1", "Linked Widgets")
    run("customer_import", {"company": "LINKED1"})
    customer = db.session.query(Customer).filter_by(account_number="LINKED1").one()
    customer.name = "Linked Widgets (ours)"
    db.session.commit()
    (choice,) = _found(box, "Linked W").choices
    assert choice.linked_to == "Linked Widgets (ours)"

    for i in range(lookup.MAX_SHOWN + 1):
        _company(connected, f"MANY{i:02d}", f"Many Widgets {i:02d}")
    found = _found(box, "Many Widgets")
    assert len(found.choices) == lookup.MAX_SHOWN and found.more


def test_the_popup_offers_companies_by_name_and_imports_the_one_chosen(connected, rep_client):
    _company(connected, "ACW1", "Acme Widgets")
    _company(connected, "BCW2", "Bolt Widgets")
    form = rep_client.get("/colcw/import")
    token = csrf_from(form.get_data(as_text=True))
    answer = rep_client.post("/colcw/import", data={"csrf_token": token, "company": "widgets"},
                             headers={"HX-Request": "true"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="colcw-import-found"' in html, html
    assert re.findall(r'data-company="([^"]+)"', html) == ["ACW1", "BCW2"]
    assert db.session.query(Customer).filter_by(account_number="BCW2").first() is None

    chosen = rep_client.post("/colcw/import", data={"csrf_token": token, "company": "BCW2"},
                             headers={"HX-Request": "true"})
    customer = db.session.query(Customer).filter_by(account_number="BCW2").one()
    assert chosen.headers["HX-Redirect"].endswith(f"/customers/{customer.id}") and customer.name == "Bolt Widgets"


def test_nothing_found_by_id_or_name_says_so(connected, rep_client):
    make_customer(account_number="KEEP1", name="Keep Me")
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    answer = rep_client.post("/colcw/import", data={"csrf_token": token, "company": "Nope \"Co\""},
                             headers={"HX-Request": "true"})
    html = unescape(answer.get_data(as_text=True))
    assert "No ConnectWise company has the Company ID “Nope \"Co\"”" in html and "No company's name contains it either" in html
    assert "colcw-import-choices" not in html


@pytest.mark.browser
def test_a_rep_finds_a_company_by_name_in_the_popup_and_imports_it(connected, live_server, page):
    _company(connected, "QB77", "Quince Bakery")
    _company(connected, "QB78", "Quince Bakery Outlet", status={"name": "Inactive"})
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    field = page.locator("#colcw-import-dialog input[name=company][type=text]")
    field.fill("quince")
    field.press("Enter")
    choices = page.locator("#colcw-import-choices li")
    choices.first.wait_for()
    assert choices.count() == 2
    assert "inactive" in page.locator("#colcw-import-choices li[data-company=QB78]").inner_text()
    page.locator("#colcw-import-choices li[data-company=QB77] button").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert page.locator("h1").inner_text().startswith("Quince Bakery")
    assert "Imported Quince Bakery (QB77) from ConnectWise" in page.locator(".flash.success").inner_text()


def _popup(rep_client, text: str):
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    return rep_client.post("/colcw/import", data={"csrf_token": token, "company": text}, headers={"HX-Request": "true"})


def test_digits_typed_in_the_popup_are_a_company_id_never_another_company_s_own_id(connected, rep_client):
    """A Company ID can be digits: the popup imports the company with that Company ID, never the one whose
    ConnectWise record id the digits happen to be; digits no Company ID has import nothing."""
    other = _company(connected, "ZEBRA9", "Zebra Tools")
    digits = _company(connected, str(other["id"]), "Digits Trading")
    assert digits["id"] != other["id"]

    answer = _popup(rep_client, str(other["id"]))
    customer = db.session.query(Customer).filter_by(account_number=str(other["id"])).one()
    assert answer.headers["HX-Redirect"].endswith(f"/customers/{customer.id}") and customer.name == "Digits Trading"
    assert db.session.query(Customer).filter_by(account_number="ZEBRA9").first() is None

    # No company has the Company ID typed, though one has it as its record id: nothing is imported and the
    # popup says no company has that Company ID.
    lone = _company(connected, "LONE1", "Lone Company")
    nothing = _popup(rep_client, str(lone["id"]))
    html = unescape(nothing.get_data(as_text=True))
    assert "HX-Redirect" not in nothing.headers and f"No ConnectWise company has the Company ID “{lone['id']}”" in html
    assert db.session.query(Customer).filter_by(account_number="LONE1").first() is None


@pytest.mark.browser
def test_a_rep_typing_a_company_id_of_digits_in_the_popup_gets_that_company(connected, live_server, page):
    other = _company(connected, "ZEBRA9", "Zebra Tools")
    lone = _company(connected, "LONE1", "Lone Company")
    _company(connected, str(other["id"]), "Digits Trading")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    field = page.locator("#colcw-import-dialog input[name=company][type=text]")
    field.fill(str(lone["id"]))  # only a record id: no company has it as its Company ID
    field.press("Enter")
    error = page.locator("#colcw-import-error")
    error.wait_for()
    assert f"No ConnectWise company has the Company ID “{lone['id']}”." in error.inner_text()

    field = page.locator("#colcw-import-dialog input[name=company][type=text]")
    field.fill(str(other["id"]))
    field.press("Enter")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert page.locator("h1").inner_text().startswith("Digits Trading")
    assert f"Imported Digits Trading ({other['id']}) from ConnectWise" in page.locator(".flash.success").inner_text()
    assert db.session.query(Customer).filter_by(account_number="LONE1").first() is None


@pytest.mark.browser
def test_the_popup_s_form_is_ready_for_enter_the_moment_it_appears(connected, live_server, page):
    """htmx wired a swapped-in form only when it settled, 20 ms after it appeared: Enter pressed in between
    posted the popup as a whole page. The form must be an htmx form from the moment it is in the page."""
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.evaluate("""() => {
        window.colcwFormReady = null;
        new MutationObserver(() => {
            const form = document.querySelector('#colcw-import-form');
            if (form && window.colcwFormReady === null) {
                const data = form['htmx-internal-data'];
                window.colcwFormReady = !!(data && data.initHash);
            }
        }).observe(document.body, {childList: true, subtree: true});
    }""")
    page.click("#colcw-import-link")
    page.wait_for_function("() => window.colcwFormReady !== null")
    assert page.evaluate("() => window.colcwFormReady") is True
