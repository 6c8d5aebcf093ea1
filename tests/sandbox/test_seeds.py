"""The empty tenant looks like a new ConnectWise company; the demo tenant matches host_stub.demo_data."""

from __future__ import annotations

from host_stub import demo_data


def _all(server, path, **params):
    return server.api("GET", path, params={"pageSize": 1000, **params}).json()


def test_empty_tenant_defaults(cw_sandbox):
    states = {s["identifier"] for s in _all(cw_sandbox, "company/states")}
    assert {"TX", "NY", "CA", "DC"} <= states and not {"ON", "BC", "QC"} & states
    countries = {c["name"] for c in _all(cw_sandbox, "company/countries")}
    assert {"United States", "Canada"} <= countries
    makers = {m["name"] for m in _all(cw_sandbox, "procurement/manufacturers")}
    assert len(makers) >= 290
    assert set(demo_data.MANUFACTURERS) - demo_data.MANUFACTURERS_MISSING_IN_CW <= makers
    assert not demo_data.MANUFACTURERS_MISSING_IN_CW & makers
    statuses = {s["name"]: s for s in _all(cw_sandbox, "sales/opportunities/statuses")}
    assert statuses["Open"]["defaultFlag"] and not statuses["Open"]["closedFlag"]
    assert statuses["Won"]["wonFlag"] and statuses["Won"]["closedFlag"]
    assert statuses["Lost"]["lostFlag"] and statuses["Lost"]["closedFlag"]
    assert statuses["No Decision"]["closedFlag"] and not statuses["No Decision"]["wonFlag"]
    members = {m["identifier"]: m for m in _all(cw_sandbox, "system/members")}
    assert members["APIMember"]["licenseClass"] == "A"
    assert all(m["defaultLocation"]["id"] and m["defaultDepartment"]["id"] for m in members.values())
    assert _all(cw_sandbox, "company/companies") == []
    assert _all(cw_sandbox, "sales/stages") and _all(cw_sandbox, "sales/opportunities/types")
    assert _all(cw_sandbox, "procurement/categories") and _all(cw_sandbox, "procurement/types")


def test_demo_tenant_matches_the_shared_demo_data(cw_sandbox_demo):
    server = cw_sandbox_demo
    emails = {m["primaryEmail"] for m in _all(server, "system/members")}
    users = {email for _f, _l, email, _r in demo_data.USERS}
    assert emails & users == demo_data.REPS_WITH_MEMBERS
    subs = {(s["category"]["name"], s["name"]) for s in _all(server, "procurement/subcategories/")}
    wanted = {(c, s) for c, names in demo_data.CATEGORIES.items() for s in names}
    assert wanted - demo_data.CATEGORIES_MISSING_IN_CW <= subs
    assert not demo_data.CATEGORIES_MISSING_IN_CW & subs
    assert {"Product", "Service", "Labor"} <= {t["name"] for t in _all(server, "procurement/types")}
    assert {c["identifier"] for c in _all(server, "procurement/catalog")} == demo_data.PRODUCTS_IN_CW_CATALOG
    companies = {c["identifier"]: c for c in _all(server, "company/companies")}
    expected = {demo_data.account_number(i) for i in range(60) if demo_data.company_in_cw(i)}
    expected |= {row["identifier"] for row in demo_data.cw_only_companies()}
    assert set(companies) == expected
    first = companies[demo_data.account_number(0)]
    assert first["name"] == demo_data.company(0)["name"]
    contacts = _all(server, "company/contacts", conditions=f"company/id={first['id']}")
    assert [c["firstName"] for c in contacts] == [p["first_name"] for p in demo_data.contacts(0)]
    assert first["defaultContact"]["id"] == contacts[0]["id"]
    assert len(_all(server, "sales/opportunities")) >= 3
