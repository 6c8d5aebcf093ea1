"""Every resource's list and get responses fit ConnectWise's official schemas (no extra fields)."""

from __future__ import annotations

import pytest
from cw_helpers import assert_matches_schema

RESOURCES = [
    ("company/companies", "Company"),
    ("company/contacts", "Contact"),
    ("company/states", "State"),
    ("company/countries", "Country"),
    ("procurement/manufacturers", "Manufacturer"),
    ("procurement/catalog", "CatalogItem"),
    ("procurement/categories", "Category"),
    ("procurement/subcategories/", "SubCategory"),
    ("procurement/types", "ProductType"),
    ("procurement/products", "ProductItem"),
    ("sales/opportunities", "Opportunity"),
    ("sales/opportunities/statuses", "OpportunityStatus"),
    ("sales/opportunities/types", "OpportunityType"),
    ("sales/stages", "OpportunityStage"),
    ("system/members", "Member"),
    ("system/locations", "Location"),
    ("system/departments", "Department"),
]


@pytest.mark.parametrize(("path", "schema"), RESOURCES)
def test_list_and_get_fit_the_official_schema(cw_sandbox_demo, path, schema):
    resp = cw_sandbox_demo.api("GET", path, params={"pageSize": 1000})
    assert resp.status_code == 200
    rows = resp.json()
    assert isinstance(rows, list) and rows, f"the demo tenant should hold some {path}"
    assert_matches_schema(rows, schema)
    one = cw_sandbox_demo.api("GET", f"{path.rstrip('/')}/{rows[-1]['id']}")
    assert one.status_code == 200
    assert one.json() == rows[-1]
    assert_matches_schema(one.json(), schema)


def test_every_record_has_info_with_last_updated_and_updated_by(cw_sandbox_demo):
    for path, _schema in RESOURCES:
        for row in cw_sandbox_demo.api("GET", path, params={"pageSize": 1000}).json():
            assert set(row["_info"]) >= {"lastUpdated", "updatedBy"}, (path, row["id"])
            assert len(row["_info"]["lastUpdated"]) == 20 and row["_info"]["lastUpdated"].endswith("Z")


def test_sites_forecast_and_forecast_items_fit_their_schemas(cw_sandbox_demo):
    comp = cw_sandbox_demo.api("GET", "company/companies", params={"conditions": 'identifier="DEMO00001"'}).json()[0]
    sites = cw_sandbox_demo.api("GET", f"company/companies/{comp['id']}/sites").json()
    assert [s["name"] for s in sites] == ["Main"]
    assert_matches_schema(sites, "CompanySite")
    opp = cw_sandbox_demo.api("GET", "sales/opportunities").json()[0]
    forecasts = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert_matches_schema(forecasts, "Forecast")
    forecast = forecasts[0]
    assert forecast["forecastItems"], "the demo opportunity has a product line, so a forecast row"
    item = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast/{forecast['forecastItems'][0]['id']}")
    assert_matches_schema(item.json(), "ForecastItem")


def test_forecast_shape_can_be_switched_to_a_single_object(cw_sandbox_demo):
    opp = cw_sandbox_demo.api("GET", "sales/opportunities").json()[0]
    cw_sandbox_demo.set_options(forecast_shape="object")
    body = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert isinstance(body, dict) and body["id"] == opp["id"]
    assert_matches_schema(body, "Forecast")


def test_count_endpoints_return_count_objects(cw_sandbox_demo):
    for path, _schema in RESOURCES:
        total = cw_sandbox_demo.api("GET", f"{path.rstrip('/')}/count").json()
        assert total == {"count": len(cw_sandbox_demo.api("GET", path, params={"pageSize": 1000}).json())}, path
