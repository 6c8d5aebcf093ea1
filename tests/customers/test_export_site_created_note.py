"""Exporting a customer whose company ConnectWise already holds, on another site: the Location Code's site is created
and the run's result says so ("created site HQ in ConnectWise"), not only "site set to HQ". Against the sandbox."""

from __future__ import annotations

from customer_support import actions, company, export, items, make_customer


def test_a_site_created_for_the_location_code_is_said_created(sync_ready):
    made = sync_ready.api("POST", "company/companies", json={
        "identifier": "ACME1", "name": "Acme Corp", "city": "Austin", "addressLine1": "1 Main St"}).json()
    before = sync_ready.api("GET", f"company/companies/{made['id']}/sites").json()
    customer = make_customer(location_code="HQ")

    result = export(customer.id)

    assert actions(result) == ["updated"]
    sites = sync_ready.api("GET", f"company/companies/{made['id']}/sites").json()
    assert sorted(s["name"] for s in sites) == sorted([*(s["name"] for s in before), "HQ"])
    assert company(sync_ready, made["id"])["site"]["name"] == "HQ"
    message = items(result, "customer")[0].message
    assert "created site HQ in ConnectWise; the company's site is now HQ" in message, message


def test_the_reps_export_click_says_the_site_was_created(sync_ready, rep_client):
    from htmx_loads import loaded
    from test_export_click_in_bulk import _export, _text

    made = sync_ready.api("POST", "company/companies", json={
        "identifier": "ACME1", "name": "Acme Corp", "city": "Austin", "addressLine1": "1 Main St"}).json()
    customer = make_customer(location_code="HQ")

    assert _export(rep_client, customer.id).status_code == 302
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert ("Updated in ConnectWise: Acme Corp (ACME1); created site HQ in ConnectWise; the company's site is now HQ."
            in page), page
    assert company(sync_ready, made["id"])["site"]["name"] == "HQ"
