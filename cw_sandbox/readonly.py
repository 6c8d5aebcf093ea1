"""Read-only endpoints around the resources colcw uses, answered from the tenant's own data in the
shapes the official excerpts give them, so a client can call what ConnectWise offers instead of a
workaround: ``/info`` variants, ``/default`` templates, usages, company and contact type
associations, a contact's communications, catalog vendors, member calendar-sync rows...

Plain lookup tables (company statuses and types, contact types and departments, probabilities)
and notes or groups are ordinary read-only resources in ``resources.py``; this module holds the
views computed from other records. List views page, filter and count like any list (the row
schema checks the names); each answers ``<list>``, its ``count`` path(s) and ``<one>`` by id.

Unverified choices (nothing public shows these answers): ``/default`` templates carry the
server defaults the sandbox applies on POST and empty required text; a type association's id is
the type's id; ``/usages`` counts references per resource and ``/usages/list`` lists them;
``/image`` of a contact without a photo is a 1x1 PNG; ``/forecast``-style spec slips such as
``/sales/opportunities/{parentId}/notes/count`` declared as a note array are answered ``Count``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from cw_sandbox.errors import human, not_found
from cw_sandbox.finder import ListSource, Stats
from cw_sandbox.listing import count, paginate, project
from cw_sandbox.resources import REFERENCES, RESOURCES, RESOURCES_BY_KEY, Resource
from cw_sandbox.responses import json_response
from cw_sandbox.routing import Route
from cw_sandbox.schemas import field_rules, schema
from cw_sandbox.tenant import Tenant
from cw_sandbox.validation import WriteContext, make_reference

_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

Rows = Callable[[Tenant, dict[str, Any]], list[dict]]


@dataclass(frozen=True)
class View:
    """A computed answer: a list view (rows) or one object (``answer``)."""

    template: str
    kind: str  # list | count | one | object | image
    schema: str | None = None
    rows: Rows | None = None
    answer: Callable[[Tenant, dict[str, Any]], Any] | None = None


VIEWS: list[View] = []


def _list(base: str, schema_name: str, rows: Rows, *, counts: tuple[str, ...] | None = None,
          one: str | bool | None = None) -> None:
    """Register a list view with its count path(s) (default ``<base>/count``) and its one-by-id path
    (default ``<base>/{id}``; False for none)."""
    VIEWS.append(View(base, "list", schema_name, rows))
    for path in counts if counts is not None else (f"{base}/count",):
        VIEWS.append(View(path, "count", schema_name, rows))
    if one is not False:
        VIEWS.append(View(one if isinstance(one, str) else f"{base}/{{id}}", "one", schema_name, rows))


def _ctx(tenant: Tenant, key: str = "companies") -> WriteContext:
    return WriteContext(store=tenant.store, actor=tenant.api_member, api_base=tenant.api_base,
                        resource=RESOURCES_BY_KEY[key])


def _record(tenant: Tenant, key: str, rid: int) -> dict:
    return tenant.get(RESOURCES_BY_KEY[key], rid)


# -- /info ---------------------------------------------------------------------------------------


def _info(key: str, schema_name: str, rename: dict[str, str] | None = None) -> Rows:
    names = set(schema(schema_name)["properties"])

    def rows(tenant: Tenant, _params: dict[str, Any]) -> list[dict]:
        out = []
        for record in tenant.store.all(key):
            row = {k: v for k, v in record.items() if k in names}
            for target, source in (rename or {}).items():
                if source in record:
                    row[target] = record[source]
            out.append(row)
        return out

    return rows


for _path, _key, _schema in [("procurement/catalog", "catalog", "CatalogItemInfo"),
                             ("company/states", "states", "StateInfo"),
                             ("company/countries", "countries", "CountryInfo"),
                             ("procurement/categories", "categories", "CategoryInfo"),
                             ("procurement/subcategories", "subcategories", "SubCategoryInfo"),
                             ("procurement/types", "product_types", "ProductTypeInfo")]:
    _list(f"{_path}/info", _schema, _info(_key, _schema), counts=(f"{_path}/info/count",), one=f"{_path}/{{id}}/info")
_list("procurement/manufacturers/info", "ManufacturerInfo", _info("manufacturers", "ManufacturerInfo"),
      counts=("procurement/manufacturers/count/info",), one="procurement/manufacturers/{id}/info")
_list("company/contacts/types/info", "ContactTypeInfo", _info("contact_types", "ContactTypeInfo"),
      counts=("company/contacts/types/count/info",), one="company/contacts/types/{id}/info")
_list("company/companies/info/types", "CompanyTypeInfo",
      _info("company_types", "CompanyTypeInfo", {"isVendor": "vendorFlag"}))


# -- usages ----------------------------------------------------------------------------------------


def _referencing(tenant: Tenant, key: str, rid: int) -> list[tuple[Resource, list[dict]]]:
    """The stored records that reference ``key``/``rid``, per resource."""
    ref_schemas = {name for name, target in REFERENCES.items() if target.key == key}
    found = []
    for res in RESOURCES:
        if res.key == key or not res.schema:
            continue
        rules = [r for r in field_rules(res.schema).values() if r.kind in ("ref", "array") and r.ref in ref_schemas]
        if not rules:
            continue
        matches = []
        for record in tenant.store.all(res.key):
            for rule in rules:
                value = record.get(rule.name)
                if any(isinstance(v, dict) and v.get("id") == rid for v in (value if isinstance(value, list)
                                                                              else [value])):
                    matches.append(record)
                    break
        if matches:
            found.append((res, matches))
    return found


def _usages(key: str, *, listed: bool) -> Rows:
    def rows(tenant: Tenant, params: dict[str, Any]) -> list[dict]:
        res = RESOURCES_BY_KEY[key]
        rid = params["id"]
        tenant.get(res, rid, params.get("parentId"))  # 404 for a missing record
        out = []
        for other, records in _referencing(tenant, key, rid):
            if not listed:
                out.append({"id": rid, "type": human(other.label), "count": len(records), "typeKey": other.key})
                continue
            for record in records:
                row = {"id": record["id"], "type": human(other.label), "description": str(other.display(record) or ""),
                       "typeKey": other.key}
                if not other.parent:
                    row["hyperlink"] = f"{tenant.api_base}{other.path}/{record['id']}"
                out.append(row)
        return out

    return rows


for _base, _key in [("company/companies", "companies"), ("company/contacts", "contacts"),
                    ("system/members", "members"), ("system/locations", "locations"),
                    ("system/departments", "departments"), ("company/companies/statuses", "company_statuses"),
                    ("company/companies/types", "company_types"),
                    ("company/contacts/departments", "contact_departments"),
                    ("sales/opportunities/statuses", "opportunity_statuses"),
                    ("sales/opportunities/types", "opportunity_types"),
                    ("company/companies/{parentId}/sites", "sites")]:
    _list(f"{_base}/{{id}}/usages", "Usage", _usages(_key, listed=False), counts=(), one=False)
    _list(f"{_base}/{{id}}/usages/list", "Usage", _usages(_key, listed=True), counts=(), one=False)
# The excerpt's own spelling (singular "contact").
_list("company/contact/types/{id}/usages/list", "Usage", _usages("contact_types", listed=True), counts=(), one=False)


# -- children computed from a record -----------------------------------------------------------------


def _type_associations(key: str, owner: str, ref_schema: str) -> Rows:
    def rows(tenant: Tenant, params: dict[str, Any]) -> list[dict]:
        record = _record(tenant, key, params["parentId"])
        ref = make_reference(_ctx(tenant, key), ref_schema, record)
        return [{"id": t["id"], "type": t, owner: ref, "_info": dict(record.get("_info") or {})}
                for t in record.get("types") or []]

    return rows


def _communications(tenant: Tenant, params: dict[str, Any]) -> list[dict]:
    contact = _record(tenant, "contacts", params["parentId"])
    return [{**item, "contactId": contact["id"], "_info": dict(contact.get("_info") or {})}
            for item in contact.get("communicationItems") or []]


def _vendor_items(tenant: Tenant, params: dict[str, Any]) -> list[dict]:
    vendor = _record(tenant, "companies", params["parentId"])
    return [{"id": item["id"], "catalogItemId": item["id"], "vendorId": vendor["id"],
             "vendorSku": item.get("vendorSku") or "", "isPreferredVendor": True, "vendorName": vendor["name"]}
            for item in tenant.store.all("catalog") if (item.get("vendor") or {}).get("id") == vendor["id"]]


def _calendar_sync(tenant: Tenant, _params: dict[str, Any]) -> list[dict]:
    return [{"id": m["id"], "memberId": m["identifier"], "calendarSyncIntegrationFlag":
             bool(m.get("calendarSyncIntegrationFlag"))} for m in tenant.store.all("members")]


def _nothing(check: tuple[str, str] | None = None) -> Rows:
    def rows(tenant: Tenant, params: dict[str, Any]) -> list[dict]:
        if check is not None:
            _record(tenant, check[0], params[check[1]])
        return []

    return rows


_list("company/companies/{parentId}/typeAssociations", "CompanyTypeAssociation",
      _type_associations("companies", "company", "CompanyReference"))
_list("company/contacts/{parentId}/typeAssociations", "ContactTypeAssociation",
      _type_associations("contacts", "contact", "ContactReference"))
_list("company/contacts/{parentId}/communications", "ContactCommunication", _communications)
_list("company/contacts/{id}/portalSecurity", "PortalSecurity", _nothing(("contacts", "id")), counts=(), one=False)
_list("procurement/catalog/vendors/{parentId}", "CatalogVendors", _vendor_items, counts=(), one=False)
_list("sales/opportunities/conversions/{id}", "SalesConversion", _nothing(("opportunities", "id")), counts=(),
      one=False)
_list("system/members/calendarsync", "MemberForCalSync", _calendar_sync, counts=(), one=False)
_list("system/members/withSso", "Member", _nothing(), counts=(), one=False)


# -- single answers ------------------------------------------------------------------------------------


def _default_company(tenant: Tenant, _params: dict[str, Any]) -> dict:
    ctx = _ctx(tenant)
    out: dict[str, Any] = {"id": 0, "identifier": "", "name": ""}
    status = next((s for s in tenant.store.all("company_statuses") if s.get("defaultFlag")), None)
    if status:
        out["status"] = make_reference(ctx, "CompanyStatusReference", status)
    country = next((c for c in tenant.store.all("countries") if c.get("defaultFlag")), None)
    if country:
        out["country"] = make_reference(ctx, "CountryReference", country)
    kind = next((t for t in tenant.store.all("company_types") if t.get("defaultFlag")), None)
    if kind:
        out["types"] = [make_reference(ctx, "CompanyTypeReference", kind)]
    return {**out, "deletedFlag": False, "leadFlag": False, "unsubscribeFlag": False, "isVendorFlag": False}


def _default_contact(tenant: Tenant, _params: dict[str, Any]) -> dict:
    out: dict[str, Any] = {"id": 0, "inactiveFlag": False, "defaultFlag": False, "unsubscribeFlag": False}
    country = next((c for c in tenant.store.all("countries") if c.get("defaultFlag")), None)
    if country:
        out["country"] = make_reference(_ctx(tenant, "contacts"), "CountryReference", country)
    return out


def _default_opportunity(tenant: Tenant, _params: dict[str, Any]) -> dict:
    ctx = _ctx(tenant, "opportunities")
    out: dict[str, Any] = {"id": 0, "name": "", "company": {}, "contact": {}, "primarySalesRep": {}}
    status = next((s for s in tenant.store.all("opportunity_statuses") if s.get("defaultFlag")), None)
    if status:
        out["status"] = make_reference(ctx, "OpportunityStatusReference", status)
    return out


def _quantity_on_hand(tenant: Tenant, params: dict[str, Any]) -> dict:
    ident = str(params["catalogItemIdentifier"]).lower()
    if not any(str(i.get("identifier", "")).lower() == ident for i in tenant.store.all("catalog")):
        raise not_found("catalogItem", params["catalogItemIdentifier"])
    return {"count": 0}  # the sandbox keeps no inventory


VIEWS += [
    View("company/companies/default", "object", "Company", answer=_default_company),
    View("company/contacts/default", "object", "Contact", answer=_default_contact),
    View("sales/opportunities/default", "object", "Opportunity", answer=_default_opportunity),
    View("procurement/catalog/{catalogItemIdentifier}/quantityOnHand", "object", "Count", answer=_quantity_on_hand),
    View("company/contacts/{id}/image", "image", answer=lambda t, p: _record(t, "contacts", p["id"])),
]


# -- routing and answering --------------------------------------------------------------------------------


def match(rel_path: str) -> Route | None:
    """The read-only view for ``rel_path`` (the part after ``apis/3.0/``), or None."""
    parts = [p for p in rel_path.strip("/").split("/") if p]
    for view in VIEWS:
        segments = view.template.split("/")
        if len(segments) != len(parts):
            continue
        params: dict[str, Any] = {}
        for want, got in zip(segments, parts, strict=True):
            if want.startswith("{"):
                name = want[1:-1]
                if name in ("id", "parentId"):
                    if not got.isdigit() or len(got) > 9:
                        break
                    params[name] = int(got)
                else:
                    params[name] = got
            elif want.lower() != got.lower():
                break
        else:
            return Route(None, "read_only", rel=rel_path.strip("/"), view=view, params=params)
    return None


def answer_read_only(tenant: Tenant, route: Route, args: dict[str, str], stats: Stats) -> Response:
    """Answer a matched view."""
    view: View = route.view
    params = route.params
    if view.kind == "image":
        view.answer(tenant, params)  # type: ignore[misc]
        return Response(_PNG, mimetype="image/png")
    if view.kind == "object":
        body = view.answer(tenant, params)  # type: ignore[misc]
        if view.schema:
            body = project([body], args.get("fields"), view.schema)[0]
        return json_response(body)
    assert view.rows is not None and view.schema is not None
    source = ListSource(view.rows(tenant, params))
    if view.kind == "count":
        return json_response({"count": count(source, view.schema, args, stats)})
    if view.kind == "one":
        row = next((r for r in source.records if r.get("id") == params["id"]), None)
        if row is None:
            raise not_found(view.schema, params["id"])
        return json_response(project([row], args.get("fields"), view.schema)[0])
    page = paginate(source, view.schema, args, request.headers, request.base_url, stats)
    headers = {"Link": page.link} if page.link is not None else {}
    return json_response(project(page.records, args.get("fields"), view.schema), 200, headers)
