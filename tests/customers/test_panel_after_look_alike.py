"""The customer page's ConnectWise panel of an unlinked customer whose export stopped at a look-alike company does not
promise "Export links it by Company ID … or creates it" right above that refusal: it says the export will not create
the company while ConnectWise holds the look-alike, and where to link it or confirm a new one (walkthrough: the panel
contradicted the failed result under it)."""

from __future__ import annotations

from html import unescape

from customer_support import companies, make_customer
from htmx_loads import loaded

from helpers import csrf_from


def _status(page: str) -> str:
    return " ".join(unescape(page.split('id="colcw-link-status">')[1].split("</p>")[0]).split())


def test_the_panel_of_a_customer_stopped_at_a_look_alike_says_no_company_is_created(sync_ready, rep_client):
    customer = make_customer()  # "Acme Corp", ACME1
    before = _status(loaded(rep_client, f"/customers/{customer.id}"))
    assert before == ("Not linked to a ConnectWise company. Export links it by Company ID ACME1, or creates it; a "
                      "company that looks like it (same name or phone) is shown first, to link it or to confirm a new "
                      "one.")
    assert sync_ready.api("POST", "company/companies", json={"identifier": "ACMEOLD", "name": "ACME CORP.",
                                                             "city": "Austin"}).status_code == 201
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": token})
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACMEOLD"]
    after = _status(loaded(rep_client, f"/customers/{customer.id}"))
    assert after == ("Not linked to a ConnectWise company. Export links it by Company ID ACME1, or creates it, though "
                     "not while ConnectWise holds the company that looks like it (below): link it, or confirm a new "
                     "company, from Export to ConnectWise.")
