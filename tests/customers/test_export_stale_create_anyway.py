"""Create a new company anyway, clicked on a page drawn while the customer was not linked, does nothing once it was
linked meanwhile (another tab linked the look-alike): it exported the customer into the company it was linked to
since, renumbering it and replacing its address and phone, unasked (walkthrough: two tabs of Blue Ridge Dental's
export page, Link in one, Create a new company anyway in the other)."""

from __future__ import annotations

from customer_support import companies, link_of, make_customer

from helpers import csrf_from


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def test_a_stale_create_anyway_after_a_link_exports_nothing(sync_ready, rep_client):
    old = sync_ready.api("POST", "company/companies", json={
        "identifier": "ACMEOLD", "name": "ACME CORP.", "city": "Round Rock", "state": "TX",
        "addressLine1": "9 Old Rd"}).json()
    customer = make_customer()  # "Acme Corp", ACME1
    asked = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    page = rep_client.get(asked.headers["Location"]).get_data(as_text=True)  # the tab that will create anyway
    confirmed = page.split('name="confirmed" value="')[1].split('"')[0]

    # The other tab links the look-alike.
    linked = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                             data={"csrf_token": _token(rep_client), "company": "ACMEOLD", "confirm": old["id"]})
    assert linked.status_code == 302
    assert link_of("customer", customer.id).cw_id == old["id"]

    rep_client.post(f"/colcw/customers/{customer.id}/export",
                    data={"csrf_token": _token(rep_client), "confirmed": confirmed})
    [company] = companies(sync_ready)
    assert (company["identifier"], company["name"], company["addressLine1"]) == ("ACMEOLD", "ACME CORP.", "9 Old Rd")
    shown = " ".join(rep_client.get(f"/colcw/customers/{customer.id}/panel",
                                    headers={"HX-Request": "true"}).get_data(as_text=True).split())
    assert "was linked to ConnectWise company ACMEOLD meanwhile" in shown, shown
