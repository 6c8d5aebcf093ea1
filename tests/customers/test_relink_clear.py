"""Clear link asks first, and once cleared the customer page no longer shows the last export's result, which was
about the link just cleared, as if it were current (C7)."""

from __future__ import annotations

import re

from customer_support import export, link_of, make_customer
from htmx_loads import loaded

from helpers import csrf_from


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def _last_result(page: str) -> str:
    found = re.search(r'<p id="colcw-last-result">(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def test_clear_link_asks_first_naming_the_customer_and_the_company(sync_ready, rep_client):
    customer = make_customer()
    export(customer.id)
    page = loaded(rep_client, f"/customers/{customer.id}")
    form = re.search(r'<form[^>]*clear-link"\s+data-colcw-confirm="([^"]*)"', page)
    assert form is not None, "the Clear link form asks first"
    assert form.group(1) == ("Clear the link between Acme Corp and ConnectWise company ACME1? The company stays in "
                             "ConnectWise, and its contacts' links are cleared too. The next export links the "
                             "company whose Company ID is ACME1, or creates it.")


def test_after_clearing_the_page_shows_the_clearing_not_the_old_result(sync_ready, rep_client):
    customer = make_customer()
    export(customer.id)
    cid = link_of("customer", customer.id).cw_id
    sync_ready.api("DELETE", f"company/companies/{cid}")
    export(customer.id)
    before = _last_result(loaded(rep_client, f"/customers/{customer.id}"))
    assert before.startswith("failed Export") and "was deleted in ConnectWise" in before
    assert "Broken link" in rep_client.get(f"/colcw/lists/customers/status?ids={customer.id}").get_data(as_text=True)

    rep_client.post(f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": _token(rep_client)})
    page = loaded(rep_client, f"/customers/{customer.id}")
    after = _last_result(page)
    assert after.startswith("link cleared On this page") and "was deleted in ConnectWise" not in after
    assert "The ConnectWise link of Acme Corp (ACME1) was cleared" in after and "(by riley@demo.example)" in after
    assert "Not linked to a ConnectWise company" in page
    # All Customers says the same: not linked, no longer failed.
    statuses = rep_client.get(f"/colcw/lists/customers/status?ids={customer.id}").get_data(as_text=True)
    assert "Not linked" in statuses and "Failed" not in statuses
    # The next export's result is the latest again.
    export(customer.id)
    assert _last_result(loaded(rep_client, f"/customers/{customer.id}")).startswith("failed Export")


def test_a_contacts_cleared_link_leaves_the_contacts_problem_list(sync_ready, rep_client):
    customer = make_customer()
    export(customer.id)
    babbage = customer.contacts[1]
    sync_ready.api("DELETE", f"company/contacts/{link_of('contact', babbage.id).cw_id}")
    export(customer.id)
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-contact-status"' in page and "Charles Babbage" in page
    assert 'data-colcw-confirm="Clear the ConnectWise link of Charles Babbage?' in page
    resp = rep_client.post(f"/colcw/customers/{customer.id}/clear-link",
                           data={"csrf_token": _token(rep_client), "contact_id": str(babbage.id)})
    assert resp.status_code == 302 and link_of("contact", babbage.id) is None
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert "The ConnectWise link of Charles Babbage (Acme Corp) was cleared" in page
    assert 'id="colcw-contact-status"' not in page  # its old failure is not shown as current
