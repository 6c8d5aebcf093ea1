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
