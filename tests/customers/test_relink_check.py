"""Link to Company ID on the customer's page checks the company before linking it (F1), and a name typed there
lists the companies that contain it, each with Link (C1): through the Flask test client, with what ConnectWise
(the sandbox) and the host hold afterwards."""

from __future__ import annotations

from customer_support import company, export, link_of, make_customer
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import SyncItem
from helpers import csrf_from
from host_stub.extensions import db


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def _bayview():
    return make_customer(name="Bayview Dental", account_number="DEMO00017", city="Seattle", state="WA",
                         zip="98101", phone="206-555-0117", contacts=[])


def _celeste(sandbox, **fields) -> dict:
    body = {"identifier": "CW0005", "name": "Céleste Boutique", "addressLine1": "5 Rue Main", "city": "Austin",
            "state": "TX", "zip": "73301", "phoneNumber": "512-555-0005", **fields}
    resp = sandbox.api("POST", "company/companies", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _relink(client, customer_id: int, **data):
    return client.post(f"/colcw/customers/{customer_id}/relink", data={"csrf_token": _token(client), **data})


def test_another_clients_company_is_not_linked_without_a_confirmation(sync_ready, rep_client):
    customer = _bayview()
    celeste = _celeste(sync_ready)
    resp = _relink(rep_client, customer.id, company="CW0005")
    html = resp.get_data(as_text=True)
    # A page of its own (the host's layout), naming both and what linking would do.
    assert resp.status_code == 200 and "<html" in html and 'id="colcw-relink-confirm"' in html
    assert ("ConnectWise company CW0005 is “Céleste Boutique” (Austin, TX), not Bayview Dental (DEMO00017). Linking "
            "makes the next export rename it to “Bayview Dental” and change its Company ID to DEMO00017, and replace "
            "its Address Line 1, City, State, Zip, Website, Phone Number, Fax (Company) and Country with this "
            "customer&#39;s. Link only if this company really is Bayview Dental.") in html
    # Link anyway is a POST with its CSRF token and the company's id as the confirmation; Cancel goes back.
    assert f'name="confirm" value="{celeste["id"]}"' in html and 'name="csrf_token"' in html
    assert 'id="colcw-relink-anyway"' in html and 'id="colcw-relink-cancel"' in html
    assert f'href="/customers/{customer.id}" id="colcw-relink-cancel"' in html
    # Nothing was linked, and an export now creates Bayview Dental's own company: Céleste Boutique is untouched.
    assert link_of("customer", customer.id) is None
    export(customer.id)
    assert company(sync_ready, celeste["id"])["name"] == "Céleste Boutique"
    assert company(sync_ready, celeste["id"])["identifier"] == "CW0005"
    assert link_of("customer", customer.id).cw_id != celeste["id"]


def test_link_anyway_links_and_the_export_then_does_what_the_confirmation_said(sync_ready, rep_client):
    customer = _bayview()
    celeste = _celeste(sync_ready)
    resp = _relink(rep_client, customer.id, company="CW0005", confirm=str(celeste["id"]))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/customers/{customer.id}")
    assert link_of("customer", customer.id).cw_id == celeste["id"]
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert ("Linked Bayview Dental (DEMO00017) to ConnectWise company CW0005 (Céleste Boutique). The next export "
            "renames it to Bayview Dental") in page
    export(customer.id)
    cw = company(sync_ready, celeste["id"])
    assert (cw["name"], cw["identifier"], cw["city"]) == ("Bayview Dental", "DEMO00017", "Seattle")
    # Linked to it already, Link to CW0005 again (now named otherwise) does not ask: nothing changes.
    sync_ready.edit_company(celeste["id"], {"identifier": "CW0005", "name": "Céleste Boutique"})
    assert _relink(rep_client, customer.id, company="CW0005").status_code == 302
    assert link_of("customer", customer.id).cw_id == celeste["id"]


def test_a_confirmation_given_for_another_company_asks_again(sync_ready, rep_client):
    customer = _bayview()
    celeste = _celeste(sync_ready)
    resp = _relink(rep_client, customer.id, company="CW0005", confirm=str(celeste["id"] + 1000))
    assert resp.status_code == 200 and 'id="colcw-relink-confirm"' in resp.get_data(as_text=True)
    assert link_of("customer", customer.id) is None
    assert _relink(rep_client, customer.id, company="CW0005", confirm="x").status_code == 400


def test_a_company_with_the_customers_name_or_company_id_links_at_once(sync_ready, rep_client):
    customer = _bayview()
    # The same name as Map Customers matches it (case, punctuation, a legal suffix): linked at once.
    same_name = sync_ready.api("POST", "company/companies", json={
        "identifier": "BAY-2", "name": "BAYVIEW DENTAL, Inc.", "city": "Seattle"}).json()
    resp = _relink(rep_client, customer.id, company="BAY-2")
    assert resp.status_code == 302 and link_of("customer", customer.id).cw_id == same_name["id"]
    # Its account number as the Company ID (ignoring case), whatever the name: linked at once.
    other = make_customer(name="Harbor Logistics", account_number="HARB01", contacts=[])
    same_id = sync_ready.api("POST", "company/companies", json={
        "identifier": "harb01", "name": "Old Harbour Name", "city": "Portland"}).json()
    resp = _relink(rep_client, other.id, company="harb01")
    assert resp.status_code == 302 and link_of("customer", other.id).cw_id == same_id["id"]


def test_a_name_typed_lists_the_companies_each_with_link_and_keeps_the_text(sync_ready, rep_client):
    customer = _bayview()
    celeste = _celeste(sync_ready)
    sync_ready.api("POST", "company/companies", json={"identifier": "BTQ2", "name": "Boutique Nord", "city": "Dallas",
                                                      "state": "TX"})
    resp = _relink(rep_client, customer.id, company="boutique")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" in html
    assert "No ConnectWise company has the Company ID “boutique”. These companies contain “boutique”" in html
    assert 'id="colcw-relink-choices"' in html
    assert 'data-company="CW0005"' in html and 'data-company="BTQ2"' in html
    assert 'aria-label="Link Céleste Boutique (CW0005)"' in html and "Austin, TX" in html
    assert 'name="company" value="boutique"' in html  # the text typed stays in the field
    assert link_of("customer", customer.id) is None
    # Link on one goes through the same check: Céleste Boutique is not Bayview Dental.
    resp = _relink(rep_client, customer.id, company="CW0005")
    assert 'id="colcw-relink-confirm"' in resp.get_data(as_text=True) and link_of("customer", customer.id) is None
    assert company(sync_ready, celeste["id"])["name"] == "Céleste Boutique"


def test_the_import_popup_lists_its_companies_with_the_shared_markup(sync_ready, rep_client):
    _celeste(sync_ready)
    html = rep_client.post("/colcw/import", data={"company": "boutique", "csrf_token": _token(rep_client)},
                           headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="colcw-import-choices"' in html and 'aria-label="Import Céleste Boutique (CW0005)"' in html
    assert 'hx-post="/colcw/import" hx-target="#colcw-import" hx-swap="outerHTML"' in html


def test_link_made_here_is_the_customers_latest_result(sync_ready, rep_client):
    customer = _bayview()
    celeste = _celeste(sync_ready)
    _relink(rep_client, customer.id, company="CW0005", confirm=str(celeste["id"]))
    item = db.session.execute(select(SyncItem).where(SyncItem.host_id == customer.id)
                              .order_by(SyncItem.id.desc())).scalars().first()
    assert (item.direction, item.action, item.cw_id, item.run_id) == ("link", "linked", celeste["id"], None)
    assert item.message.endswith("(by riley@demo.example)")
