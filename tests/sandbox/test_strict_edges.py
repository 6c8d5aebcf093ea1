"""Faithful edges: the forecast's official shape, the generic codebase path, the response media type,
``_info`` links on references, complete member records and PATCH's false 200 inside a reference."""

from __future__ import annotations

import requests
from cw_helpers import assert_matches_schema

from cw_sandbox.schemas import field_rules, required_fields


def _first_opportunity(sandbox) -> dict:
    return sandbox.api("GET", "sales/opportunities", params={"orderBy": "id asc"}).json()[0]


def test_forecast_answers_the_official_array_by_default(cw_sandbox_demo):
    opp = _first_opportunity(cw_sandbox_demo)
    body = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert isinstance(body, list) and len(body) == 1
    assert_matches_schema(body, "Forecast")
    assert body[0]["forecastItems"] and all(i["opportunity"]["id"] == opp["id"] for i in body[0]["forecastItems"])


def test_forecast_single_object_only_behind_the_switch(cw_sandbox_demo):
    opp = _first_opportunity(cw_sandbox_demo)
    assert cw_sandbox_demo.set_options(forecast_shape="object")["forecast_shape"] == "object"
    body = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert isinstance(body, dict) and body["forecastItems"]
    assert_matches_schema(body, "Forecast")
    cw_sandbox_demo.reset("demo")  # a reset goes back to the official shape
    opp = _first_opportunity(cw_sandbox_demo)
    assert isinstance(cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json(), list)


def test_the_generic_v4_6_release_codebase_works_as_on_cloud_tenants(cw_sandbox):
    generic = f"{cw_sandbox.base_url}/v4_6_release/apis/3.0/"
    kw = {"auth": cw_sandbox.auth, "headers": {"clientId": cw_sandbox.client_id}, "timeout": 30}
    resp = requests.get(generic + "company/states", params={"pageSize": 10}, **kw)
    assert resp.status_code == 200
    assert resp.json() == cw_sandbox.api("GET", "company/states", params={"pageSize": 10}).json()
    assert "/v4_6_release/apis/3.0/company/states?" in resp.links["next"]["url"]
    made = requests.post(generic + "procurement/manufacturers", json={"name": "Generic Path Maker"}, **kw)
    assert made.status_code == 201
    assert cw_sandbox.api("GET", f"procurement/manufacturers/{made.json()['id']}").status_code == 200
    cw_sandbox.set_codebase("v2026_1/")  # the tenant moves on; the generic path keeps working
    assert requests.get(generic + "company/states/count", **kw).json() == {"count": 51}
    assert cw_sandbox.api("GET", "company/states/count").status_code == 200
    old = requests.get(f"{cw_sandbox.base_url}/v2025_1/apis/3.0/company/states/count", **kw)
    assert old.status_code == 404


def test_responses_carry_the_connectwise_media_type(cw_sandbox, company):
    resp = cw_sandbox.api("GET", "company/companies")
    assert resp.headers["Content-Type"].startswith("application/vnd.connectwise.com+json; version=2025.16")
    latest = cw_sandbox.api("GET", "company/companies", headers={"Accept": "application/json"})
    assert latest.headers["Content-Type"].startswith("application/vnd.connectwise.com+json; version=2026.4")
    error = cw_sandbox.api("GET", "company/companies/999999")
    assert error.status_code == 404 and error.headers["Content-Type"].startswith("application/vnd.connectwise.com+json")


# Official paths of lookup tables outside the excerpts: linked, but not served by the sandbox.
NOT_SERVED = ("finance/currencies/", "system/securityRoles/", "system/timeZoneSetups/",
              "system/myCompany/corporateStructureLevels/")


def _references(record: dict, schema: str, where: str = ""):
    rules = field_rules(schema)
    for name, value in record.items():
        rule = rules.get(name)
        if rule is None or not value:
            continue
        if rule.kind == "ref" and rule.ref and rule.ref.endswith("Reference"):
            yield f"{where}{name}", value
        elif rule.kind == "array" and rule.ref and rule.ref.endswith("Reference"):
            for n, item in enumerate(value):
                yield f"{where}{name}[{n}]", item


def test_every_reference_carries_an_info_href_that_resolves(cw_sandbox_demo):
    api = cw_sandbox_demo.api
    checked = 0
    for path, schema in [("company/companies", "Company"), ("company/contacts", "Contact"),
                         ("sales/opportunities", "Opportunity"), ("procurement/products", "ProductItem"),
                         ("procurement/catalog", "CatalogItem"), ("system/members", "Member"),
                         ("company/states", "State"), ("procurement/subcategories/", "SubCategory")]:
        for record in api("GET", path, params={"pageSize": 1000}).json():
            for where, ref in _references(record, schema):
                links = {k: v for k, v in (ref.get("_info") or {}).items() if k.endswith("_href")}
                assert links, f"{path} {record['id']} {where} has no _info href: {ref}"
                for url in links.values():
                    assert url.startswith(cw_sandbox_demo.api_url), url
                    if url[len(cw_sandbox_demo.api_url):].startswith(NOT_SERVED):
                        continue
                    target = api("GET", url[len(cw_sandbox_demo.api_url):])
                    assert target.status_code == 200, (where, url, target.text)
                    assert target.json()["id"] == ref["id"]
                checked += 1
    assert checked > 200


def test_member_records_carry_every_required_field(cw_sandbox_demo):
    members = cw_sandbox_demo.api("GET", "system/members").json()
    assert members
    # The enum settings ConnectWise fills on every member (pyconnectwise's Member model requires them).
    needed = [*required_fields("Member"), "agreementInvoicingDisplayOptions", "invoicingDisplayOptions",
              "invoiceScreenDefaultTabFormat"]
    for member in members:
        missing = [name for name in needed if member.get(name) in (None, "")]
        assert not missing, (member["identifier"], missing)
    assert_matches_schema(members, "Member")


def test_a_patch_inside_a_reference_answers_the_false_200_and_changes_nothing(cw_sandbox, company):
    comp, contact = company
    before = cw_sandbox.api("GET", f"company/contacts/{contact['id']}").json()
    resp = cw_sandbox.api("PATCH", f"company/contacts/{contact['id']}",
                          json=[{"op": "replace", "path": "company/name", "value": "Renamed Corp"}])
    assert resp.status_code == 200
    assert resp.json() == before
    assert cw_sandbox.api("GET", f"company/contacts/{contact['id']}").json() == before
    assert cw_sandbox.api("GET", f"company/companies/{comp['id']}").json()["name"] == "Acme Corp"
