"""Every GET path of the official excerpt for the resources colcw touches is routed and answers
objects that fit the official schema (so colcw can use what ConnectWise offers, not a workaround)."""

from __future__ import annotations

import re
from functools import cache

import jsonschema
import pytest
from cw_helpers import get_subset, response_schema

# The resources colcw reads or writes, as path prefixes of the official GET excerpt (2026.4).
PREFIXES = ("/company/companies", "/company/contacts", "/company/contact/", "/sales/opportunities",
            "/procurement/products", "/procurement/catalog", "/system/members", "/system/locations",
            "/system/departments")


# Left out: a route template that is not a path, and a count the excerpt declares as a note array
# (every other count answers Count; the sandbox answers Count there too).
SKIPPED = ("/system/members/{memberIdentifier:", "/sales/opportunities/{parentId}/notes/count")


def _templates() -> list[str]:
    return sorted(p for p in get_subset()["paths"] if p.startswith(PREFIXES) and not p.startswith(SKIPPED))


@cache
def _validator(path: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(response_schema(path))


def _ids(sandbox) -> dict[str, int]:
    """A real id for every kind of placeholder, from the demo tenant."""
    api = sandbox.api
    opp = api("GET", "sales/opportunities", params={"conditions": 'status/name = "Open"', "orderBy": "id asc"}).json()[0]
    company = api("GET", f"company/companies/{opp['company']['id']}").json()
    forecast = api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    forecast = forecast[0] if isinstance(forecast, list) else forecast
    return {"company": company["id"], "site": company["site"]["id"], "contact": opp["contact"]["id"],
            "opportunity": opp["id"],
            "forecast": forecast["forecastItems"][0]["id"],
            "catalog": api("GET", "procurement/catalog").json()[0]["id"],
            "product": api("GET", "procurement/products").json()[0]["id"],
            "member": api("GET", "system/members").json()[0]["id"],
            "location": api("GET", "system/locations").json()[0]["id"],
            "department": api("GET", "system/departments").json()[0]["id"],
            "contact_type": api("GET", "company/contacts/types").json()[0]["id"]}


def _concrete(template: str, ids: dict[str, int], sandbox) -> str | None:
    """Fill the placeholders of ``template`` with ids of records that exist (None: nothing to fill with)."""
    parts = template.strip("/").split("/")
    out: list[str] = []
    for part in parts:
        if not part.startswith("{"):
            out.append(part)
            continue
        owner = "/".join(out)
        if part == "{catalogItemIdentifier}":
            out.append(sandbox.api("GET", "procurement/catalog").json()[0]["identifier"])
            continue
        key = {"company/companies": "company", "company/contacts": "contact", "sales/opportunities": "opportunity",
               "sales/opportunities/conversions": "opportunity", "company/contact/types": "contact_type",
               "procurement/catalog": "catalog", "procurement/products": "product", "system/members": "member",
               "system/locations": "location", "system/departments": "department"}.get(owner)
        if key is None and owner.endswith("/sites"):
            key = "site"
        elif key is None and owner.endswith("/forecast"):
            key = "forecast"
        elif key is None and owner == "procurement/catalog/vendors":
            key = "company"
        if key is None:
            # A sub-table (statuses, types, notes...): take the first row its list answers.
            rows = sandbox.api("GET", owner).json()
            if not rows:
                return None
            out.append(str(rows[0]["id"]))
        else:
            out.append(str(ids[key]))
    return "/".join(out)


@pytest.fixture(scope="module")
def templates():
    return _templates()


@pytest.fixture(scope="module")
def demo_read(cw_sandbox_server):
    """The demo tenant and the ids of its records, reset once for the module's tests: they only read it (GETs), so
    each finds it as a reset leaves it, without a reset and eleven look-ups of its own (most of each test's time)."""
    cw_sandbox_server.set_codebase("v2025_1/")
    cw_sandbox_server.reset("demo")
    return cw_sandbox_server, _ids(cw_sandbox_server)


def test_the_excerpt_lists_the_paths_we_cover():
    found = _templates()
    assert len(found) >= 100
    assert "/company/companies/statuses" in found and "/company/contacts/types/info" in found


@pytest.mark.parametrize("template", _templates())
def test_every_official_get_path_is_routed_and_fits_its_schema(demo_read, template):
    cw_sandbox_demo, ids = demo_read
    path = _concrete(template, ids, cw_sandbox_demo)
    assert path is not None, f"the demo tenant holds no record to fill {template}"
    if template.endswith("/image"):
        resp = cw_sandbox_demo.api("GET", path)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("image/")
        return
    resp = cw_sandbox_demo.api("GET", path)
    assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
    body = resp.json()
    errors = list(_validator(template).iter_errors(body))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    if isinstance(body, list) and re.search(r"/(statuses|types|info/types|departments)$", template):
        assert body, f"{path} should list the tenant's rows"


@pytest.mark.parametrize("path", ["company/contacts/{contact}/communications", "sales/probabilities",
                                  "company/companies/{company}/typeAssociations",
                                  "company/contacts/{contact}/typeAssociations", "company/states/info",
                                  "procurement/manufacturers/info", "procurement/subcategories/info/",
                                  "company/communicationTypes", "system/info"])
def test_endpoints_named_in_the_operation_index_answer(demo_read, path):
    cw_sandbox_demo, ids = demo_read
    resp = cw_sandbox_demo.api("GET", path.format(**ids))
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    assert body, path
    if path.endswith("communications"):
        contact = cw_sandbox_demo.api("GET", f"company/contacts/{ids['contact']}").json()
        assert sorted(c["value"] for c in body) == sorted(i["value"] for i in contact["communicationItems"])
        one = cw_sandbox_demo.api("GET", f"company/contacts/{ids['contact']}/communications/{body[0]['id']}")
        assert one.status_code == 200 and one.json()["value"] == body[0]["value"]
