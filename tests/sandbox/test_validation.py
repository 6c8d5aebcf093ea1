"""Writes are validated as ConnectWise validates them, and answered with its error envelope."""

from __future__ import annotations

import time

import requests
from cw_helpers import field_errors


def test_company_requires_identifier_name_and_an_address_field(cw_sandbox):
    errors = field_errors(cw_sandbox.api("POST", "company/companies", json={}))
    assert errors == {"identifier": "NullValue", "name": "NullValue", "addressLine1": "NullValue"}


def test_error_entries_name_code_message_resource_and_field(cw_sandbox):
    body = cw_sandbox.api("POST", "company/companies", json={"identifier": "A", "city": "Austin"}).json()
    assert body["message"] == "company object is invalid"
    assert body["errors"] == [{"code": "NullValue", "message": "The name field is required.",
                               "resource": "company", "field": "name"}]


def test_max_lengths_come_from_the_schema_descriptions(cw_sandbox):
    errors = field_errors(cw_sandbox.api("POST", "company/companies", json={
        "identifier": "X" * 157, "name": "ok", "city": "Austin", "zip": "1" * 13}))
    assert errors == {"identifier": "MaxLengthField", "zip": "MaxLengthField"}
    assert cw_sandbox.api("POST", "company/companies", json={
        "identifier": "X" * 156, "name": "ok", "city": "Austin", "zip": "1" * 12}).status_code == 201


def test_duplicate_company_identifier_is_object_exists_ignoring_case(cw_sandbox, company):
    errors = field_errors(cw_sandbox.api("POST", "company/companies", json={
        "identifier": "acme", "name": "Other", "city": "Austin"}))
    assert errors == {"identifier": "ObjectExists"}


def test_duplicate_catalog_identifier_is_object_exists(cw_sandbox):
    sub = cw_sandbox.api("GET", "procurement/subcategories/").json()[0]
    item = {"identifier": "SKU-1", "description": "Thing", "customerDescription": "A thing",
            "subcategory": {"id": sub["id"]}, "type": {"name": "Hardware"}}
    assert cw_sandbox.api("POST", "procurement/catalog", json=item).status_code == 201
    assert field_errors(cw_sandbox.api("POST", "procurement/catalog", json=item)) == {"identifier": "ObjectExists"}


def test_catalog_item_required_fields(cw_sandbox):
    errors = field_errors(cw_sandbox.api("POST", "procurement/catalog", json={"identifier": "SKU"}))
    assert set(errors) == {"description", "subcategory", "type", "customerDescription"}


def test_reference_to_a_missing_id_names_the_field(cw_sandbox, company):
    comp, contact = company
    resp = cw_sandbox.api("POST", "sales/opportunities", json={
        "name": "Deal", "company": {"id": comp["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"id": 999}, "type": {"id": 42}})
    assert field_errors(resp) == {"primarySalesRep/id": "NotFound", "type/id": "NotFound"}


def test_references_resolve_by_identifier_or_name_and_come_back_filled_in(cw_sandbox, company):
    comp, contact = company
    resp = cw_sandbox.api("POST", "sales/opportunities", json={
        "name": "Deal", "company": {"identifier": "ACME"}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"identifier": "APIMember"}, "status": {"name": "Open"}})
    assert resp.status_code == 201, resp.text
    opp = resp.json()
    assert opp["company"]["id"] == comp["id"] and opp["company"]["name"] == "Acme Corp"
    assert opp["primarySalesRep"]["identifier"] == "APIMember"
    assert opp["contact"]["name"] == "Ada Lovelace"
    # Server defaults: "Required On Updates" fields are filled in on POST.
    assert opp["locationId"] and opp["businessUnitId"] and opp["expectedCloseDate"].endswith("T00:00:00Z")


def test_opportunity_needs_name_rep_company_and_contact(cw_sandbox):
    errors = field_errors(cw_sandbox.api("POST", "sales/opportunities", json={}))
    assert set(errors) == {"name", "primarySalesRep", "company", "contact"}


def test_fields_a_tenant_made_mandatory_are_refused_like_required_ones_until_made_optional(cw_sandbox, company):
    comp, contact = company
    body = {"name": "Deal", "company": {"id": comp["id"]}, "contact": {"id": contact["id"]},
            "primarySalesRep": {"identifier": "APIMember"}}
    assert cw_sandbox.set_options(required_fields={"opportunities": ["type", "stage"]})["required_fields"] == {
        "opportunities": ["type", "stage"]}
    resp = cw_sandbox.api("POST", "sales/opportunities", json=body)
    assert resp.json() == {"code": "InvalidObject", "message": "opportunity object is invalid", "errors": [
        {"code": "NullValue", "message": "The type field is required.", "resource": "opportunity", "field": "type"},
        {"code": "NullValue", "message": "The stage field is required.", "resource": "opportunity", "field": "stage"}]}
    typed = {**body, "type": {"name": "New Business"}, "stage": {"name": "1.Prospect"}}
    opp = cw_sandbox.api("POST", "sales/opportunities", json=typed)
    assert opp.status_code == 201, opp.text
    assert opp.json()["type"]["name"] == "New Business"
    # An update must keep them too: removing one is refused.
    patch = [{"op": "remove", "path": "stage"}]
    assert field_errors(cw_sandbox.api("PATCH", f"sales/opportunities/{opp.json()['id']}", json=patch)) == {
        "stage": "NullValue"}
    cw_sandbox.set_options(required_fields={})
    assert cw_sandbox.api("POST", "sales/opportunities", json=body).status_code == 201
    resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/options",
                         json={"required_fields": {"opportunities": ["nosuch"]}}, timeout=10)
    assert resp.status_code == 400 and "Opportunity has no field 'nosuch'" in resp.text


def test_a_reset_makes_the_tenants_mandatory_fields_optional_again(cw_sandbox):
    cw_sandbox.set_options(required_fields={"opportunities": ["type"]})
    cw_sandbox.reset()
    assert cw_sandbox.set_options()["required_fields"] == {}


def test_opportunity_contact_must_belong_to_the_company(cw_sandbox, company):
    other = cw_sandbox.api("POST", "company/companies", json={"identifier": "OTHER", "name": "Other", "city": "X"}).json()
    _comp, contact = company
    resp = cw_sandbox.api("POST", "sales/opportunities", json={
        "name": "Deal", "company": {"id": other["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"identifier": "APIMember"}})
    assert field_errors(resp) == {"contact": "InvalidObject"}


def test_canadian_provinces_are_missing_until_added(cw_sandbox):
    body = {"identifier": "TORONTO", "name": "Toronto Co", "city": "Toronto", "state": "ON",
            "country": {"name": "Canada"}}
    assert field_errors(cw_sandbox.api("POST", "company/companies", json=body)) == {"state": "NotFound"}
    canada = cw_sandbox.api("GET", "company/countries", params={"conditions": 'name="Canada"'}).json()[0]
    resp = cw_sandbox.api("POST", "company/states", json={"identifier": "ON", "name": "Ontario",
                                                          "country": {"id": canada["id"]}})
    assert resp.status_code == 201
    assert cw_sandbox.api("POST", "company/companies", json=body).status_code == 201


def test_contact_email_rows_are_validated_and_classified(cw_sandbox, company):
    comp, contact = company
    assert contact["communicationItems"][0]["communicationType"] == "Email"
    assert contact["communicationItems"][0]["domain"] == "@acme.example"
    bad = cw_sandbox.api("POST", "company/contacts", json={
        "firstName": "Bob", "company": {"id": comp["id"]},
        "communicationItems": [{"type": {"name": "Email"}, "value": "not-an-email"}]})
    assert field_errors(bad) == {"communicationItems[0]/value": "InvalidObject"}
    assert field_errors(cw_sandbox.api("POST", "company/contacts", json={"lastName": "Only"})) == {
        "firstName": "NullValue"}


def test_wrong_types_and_enums_are_rejected(cw_sandbox):
    sub = cw_sandbox.api("GET", "procurement/subcategories/").json()[0]
    errors = field_errors(cw_sandbox.api("POST", "procurement/catalog", json={
        "identifier": "SKU", "description": "d", "customerDescription": "c", "subcategory": {"id": sub["id"]},
        "type": {"id": 1}, "price": "ten", "productClass": "Gadget"}))
    assert errors == {"price": "InvalidObject", "productClass": "InvalidObject"}


def test_unknown_id_is_404_with_the_envelope(cw_sandbox):
    resp = cw_sandbox.api("GET", "company/companies/424242")
    assert resp.status_code == 404
    assert resp.json()["code"] == "NotFound"
    assert cw_sandbox.api("PATCH", "company/companies/424242",
                          json=[{"op": "replace", "path": "name", "value": "x"}]).status_code == 404
    assert cw_sandbox.api("DELETE", "procurement/manufacturers/424242").status_code == 404


def test_methods_connectwise_lacks_answer_405(cw_sandbox):
    member = cw_sandbox.api("GET", "system/members").json()[0]
    resp = cw_sandbox.api("DELETE", f"system/members/{member['id']}")
    assert resp.status_code == 405
    assert "DELETE" not in resp.headers["Allow"]
    assert cw_sandbox.api("POST", "company/companies/count", json={}).status_code == 405


def test_unknown_paths_are_404(cw_sandbox):
    assert cw_sandbox.api("GET", "company/nothing").status_code == 404
    assert cw_sandbox.api("GET", "company/companies/abc").status_code == 404


def test_body_must_be_json(cw_sandbox):
    resp = cw_sandbox.api("POST", "procurement/manufacturers", data="name=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415


def test_patch_replace_add_remove_and_validation_after_applying(cw_sandbox, company):
    comp, _contact = company
    path = f"company/companies/{comp['id']}"
    before = comp["_info"]["lastUpdated"]
    time.sleep(1.05)  # lastUpdated has one-second resolution
    resp = cw_sandbox.api("PATCH", path, json=[
        {"op": "replace", "path": "name", "value": "Acme Two"},
        {"op": "add", "path": "/website", "value": "https://acme.example"},
        {"op": "remove", "path": "zip"}])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "Acme Two" and body["website"] == "https://acme.example" and "zip" not in body
    assert body["_info"]["lastUpdated"] > before and body["_info"]["updatedBy"] == "APIMember"
    assert field_errors(cw_sandbox.api("PATCH", path, json=[{"op": "remove", "path": "name"}])) == {
        "name": "NullValue"}
    assert field_errors(cw_sandbox.api("PATCH", path, json=[{"op": "replace", "path": "Name", "value": "x"}])) == {
        "Name": "InvalidObject"}
    # Inside a reference: the Developer Guide's "false 200", nothing changes.
    inside = cw_sandbox.api("PATCH", path, json=[{"op": "replace", "path": "country/name", "value": "Canada"}])
    assert inside.status_code == 200 and inside.json() == body
    assert cw_sandbox.api("PATCH", path, json={"op": "replace"}).status_code == 400
    assert cw_sandbox.api("PATCH", path, json=[{"op": "move", "path": "name", "value": "x"}]).status_code == 400
    assert cw_sandbox.api("GET", path).json()["name"] == "Acme Two"


def test_patch_a_reference_with_a_whole_object(cw_sandbox, company):
    comp, _ = company
    canada = cw_sandbox.api("GET", "company/countries", params={"conditions": 'name="Canada"'}).json()[0]
    body = cw_sandbox.api("PATCH", f"company/companies/{comp['id']}", json=[
        {"op": "replace", "path": "country", "value": {"id": canada["id"]}}]).json()
    assert body["country"]["name"] == "Canada"


def test_put_needs_required_on_updates_fields(cw_sandbox, company):
    comp, contact = company
    opp = cw_sandbox.api("POST", "sales/opportunities", json={
        "name": "Deal", "company": {"id": comp["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"identifier": "APIMember"}}).json()
    put = {"name": "Deal 2", "company": {"id": comp["id"]}, "contact": {"id": contact["id"]},
           "primarySalesRep": {"identifier": "APIMember"}}
    errors = field_errors(cw_sandbox.api("PUT", f"sales/opportunities/{opp['id']}", json=put))
    assert errors == {"expectedCloseDate": "NullValue", "locationId": "NullValue", "businessUnitId": "NullValue"}
    put.update(expectedCloseDate="2030-01-01T00:00:00Z", locationId=opp["locationId"],
               businessUnitId=opp["businessUnitId"])
    assert cw_sandbox.api("PUT", f"sales/opportunities/{opp['id']}", json=put).json()["name"] == "Deal 2"


def test_closing_an_opportunity_sets_closed_date_and_moves_forecast_rows(cw_sandbox_demo):
    api = cw_sandbox_demo.api
    opp = api("GET", "sales/opportunities", params={"conditions": 'status/name="Open"'}).json()[0]
    won = api("GET", "sales/opportunities/statuses", params={"conditions": "wonFlag=true"}).json()[0]
    body = api("PATCH", f"sales/opportunities/{opp['id']}",
               json=[{"op": "replace", "path": "status", "value": {"id": won["id"]}}]).json()
    assert body["closedDate"] and body["closedBy"]["identifier"] == "APIMember"
    [forecast] = api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert {i["status"]["id"] for i in forecast["forecastItems"]} == {won["id"]}


def test_product_lines_create_forecast_rows(cw_sandbox_demo):
    api = cw_sandbox_demo.api
    opp = api("GET", "sales/opportunities").json()[0]
    item = api("GET", "procurement/catalog").json()[0]
    product = api("POST", "procurement/products", json={
        "catalogItem": {"id": item["id"]}, "opportunity": {"id": opp["id"]}, "quantity": 3.0,
        "price": 10.0, "cost": 6.0, "billableOption": "Billable"})
    assert product.status_code == 201, product.text
    line = product.json()
    assert line["forecastDetailId"] and line["extPrice"] == 30.0 and line["company"]["id"] == opp["company"]["id"]
    row = api("GET", f"sales/opportunities/{opp['id']}/forecast/{line['forecastDetailId']}").json()
    assert (row["revenue"], row["cost"], row["forecastType"]) == (30.0, 18.0, "Product")
    assert api("DELETE", f"procurement/products/{line['id']}").status_code == 204
    assert api("GET", f"sales/opportunities/{opp['id']}/forecast/{line['forecastDetailId']}").status_code == 404
    assert field_errors(api("POST", "procurement/products", json={"opportunity": {"id": opp["id"]}})) == {
        "catalogItem": "NullValue", "billableOption": "NullValue"}


def test_delete_answers_204_and_409_when_in_use(cw_sandbox, company):
    comp, contact = company
    sub = cw_sandbox.api("GET", "procurement/subcategories/").json()[0]
    assert cw_sandbox.api("DELETE", f"procurement/categories/{sub['category']['id']}").status_code == 409
    maker = cw_sandbox.api("POST", "procurement/manufacturers", json={"name": "Zzyzx Devices"}).json()
    resp = cw_sandbox.api("DELETE", f"procurement/manufacturers/{maker['id']}")
    assert resp.status_code == 204 and resp.content == b""
    assert cw_sandbox.api("GET", f"procurement/manufacturers/{maker['id']}").status_code == 404


def test_deleting_a_company_marks_it_deleted(cw_sandbox, company):
    comp, _ = company
    assert cw_sandbox.api("DELETE", f"company/companies/{comp['id']}").status_code == 204
    body = cw_sandbox.api("GET", f"company/companies/{comp['id']}").json()
    assert body["deletedFlag"] is True and body["dateDeleted"]
    live = cw_sandbox.api("GET", "company/companies", params={"conditions": "deletedFlag=false"}).json()
    assert comp["id"] not in [c["id"] for c in live]


def test_sites_are_nested_under_their_company(cw_sandbox, company):
    comp, _ = company
    site = cw_sandbox.api("POST", f"company/companies/{comp['id']}/sites", json={"name": "Warehouse", "city": "X"})
    assert site.status_code == 201 and site.json()["company"]["id"] == comp["id"]
    assert cw_sandbox.api("GET", "company/companies/424242/sites").status_code == 404
    assert len(cw_sandbox.api("GET", f"company/companies/{comp['id']}/sites").json()) == 2


def test_forecast_put_replaces_items_all_or_nothing(cw_sandbox_demo):
    api = cw_sandbox_demo.api
    opp = api("GET", "sales/opportunities").json()[0]
    open_status = {"name": "Open"}
    path = f"sales/opportunities/{opp['id']}/forecast/"
    before = api("GET", path).json()[0]["forecastItems"]
    bad = api("PUT", path, json={"forecastItems": [{"status": open_status, "forecastType": "Service", "revenue": 5.0},
                                                   {"status": open_status, "forecastType": "Nonsense"}]})
    assert field_errors(bad) == {"forecastType": "InvalidObject"}
    assert api("GET", path).json()[0]["forecastItems"] == before
    good = api("PUT", path, json={"forecastItems": [{"status": open_status, "forecastType": "Service",
                                                     "revenue": 5.0, "cost": 1.0}]})
    assert good.status_code == 200
    assert [(i["forecastType"], i["revenue"]) for i in good.json()["forecastItems"]] == [("Service", 5.0)]
    assert good.json()["serviceRevenue"]["revenue"] == 5.0
    assert api("DELETE", path).status_code == 204
    assert api("GET", f"sales/opportunities/{opp['id']}/forecast/count").json() == {"count": 0}
