"""What ConnectWise does after a write, and the opportunity Forecast container.

* A new company gets a "Main" site holding its address, linked as ``company.site``.
* A product line on an opportunity gets a forecast row (``forecastType = "Product"``,
  revenue = price x quantity, cost = cost x quantity, status = the opportunity's status)
  unless ``bypassForecastUpdate`` is set; the product keeps its ``forecastDetailId``. The
  arithmetic is inferred from field names (API-NOTES §3, UNVERIFIED).
* Closing an opportunity moves its forecast rows to the same status.
* A company's default contact and its contacts' ``defaultFlag`` are one fact seen from two sides
  (the schemas have ``Company.defaultContact`` and ``Contact.defaultFlag``; API-NOTES says nothing
  more, so this is UNVERIFIED, chosen as the screens show it: one default contact per company).
  A contact written with ``defaultFlag`` true becomes its company's ``defaultContact`` and the
  flag goes off the company's other contacts; the default contact written with it false leaves
  the company without one (so does it moving to another company, or being deleted: the company's
  reference does not make the delete a 409). A company written with
  another ``defaultContact`` (one of its own contacts) flags that contact and unflags the others.
  What these writes change is stamped as changed by the same member; no callback fires for it
  (whether ConnectWise sends one is not public either).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cw_sandbox.validation import WriteContext, cw_cut, find_by, make_reference, now_iso

if TYPE_CHECKING:
    from cw_sandbox.tenant import Tenant


def _with(record: dict, **updates: object) -> dict:
    """``record`` with ``updates`` applied, ``_info`` kept last as ConnectWise orders it."""
    out = {k: v for k, v in record.items() if k != "_info"}
    out.update(updates)
    out["_info"] = record.get("_info")
    return out


def _stamp(record: dict, actor: str) -> dict:
    ts = now_iso()
    info = dict(record.get("_info") or {"dateEntered": ts, "enteredBy": actor})
    info.update(lastUpdated=ts, updatedBy=actor)
    return {**record, "_info": info}


def _company_site(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    if existing is not None or record.get("site"):
        return
    site: dict = {"id": tenant.store.new_id("sites"), "name": "Main"}
    for key in ("addressLine1", "addressLine2", "city", "zip", "country", "phoneNumber", "faxNumber"):
        if record.get(key):
            site[key] = record[key]
    state = find_by(tenant.store, "states", "identifier", record.get("state") or "\0")
    if state:
        site["stateReference"] = make_reference(ctx, "StateReference", state)
    site.update(primaryAddressFlag=True, defaultShippingFlag=True, defaultBillingFlag=True,
                defaultMailingFlag=True, inactiveFlag=False,
                company=make_reference(ctx, "CompanyReference", record))
    tenant.store.put("sites", _stamp(site, ctx.actor))
    tenant.store.put("companies", _with(record, site=make_reference(ctx, "SiteReference", site)))


def _contacts_of(tenant: Tenant, company_id: int) -> list[dict]:
    return tenant.store.get_many("contacts", sorted(tenant.store.lookup("contacts", "company/id", [("n", company_id)])))


def _make_default(tenant: Tenant, ctx: WriteContext, company: dict, contact: dict | None) -> None:
    """``contact`` (one of ``company``'s, or None) is now the company's default contact: the company
    points at it and no other contact of the company keeps the flag. Writes only what changes."""
    want = contact["id"] if contact else None
    if (company.get("defaultContact") or {}).get("id") != want:
        if contact is None:
            updated = {k: v for k, v in company.items() if k != "defaultContact"}
        else:
            updated = _with(company, defaultContact=make_reference(ctx, "ContactReference", contact))
        tenant.store.put("companies", _stamp(updated, ctx.actor))
    others = [_stamp({**c, "defaultFlag": False}, ctx.actor) for c in _contacts_of(tenant, company["id"])
              if c.get("defaultFlag") and c["id"] != want]
    if others:
        tenant.store.put_many("contacts", others)


def _contact_default(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    company_id = (record.get("company") or {}).get("id")
    was_company = ((existing or {}).get("company") or {}).get("id")
    if was_company and was_company != company_id:
        old = tenant.store.get("companies", was_company)
        if old is not None and (old.get("defaultContact") or {}).get("id") == record["id"]:
            _make_default(tenant, ctx, old, None)
    company = tenant.store.get("companies", company_id) if company_id else None
    if company is None:
        return
    if record.get("defaultFlag"):
        _make_default(tenant, ctx, company, record)
    elif (company.get("defaultContact") or {}).get("id") == record["id"]:
        _make_default(tenant, ctx, company, None)


def _company_default(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    want = (record.get("defaultContact") or {}).get("id")
    if want is None or want == ((existing or {}).get("defaultContact") or {}).get("id"):
        return
    contact = tenant.store.get("contacts", want)
    if contact is None or (contact.get("company") or {}).get("id") != record["id"]:
        return  # not one of its contacts: nothing to flag
    if not contact.get("defaultFlag"):
        tenant.store.put("contacts", _stamp({**contact, "defaultFlag": True}, ctx.actor))
    _make_default(tenant, ctx, tenant.store.get("companies", record["id"]) or record, contact)


def _company_written(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    _company_site(tenant, ctx, record, existing)
    _company_default(tenant, ctx, tenant.store.get("companies", record["id"]) or record, existing)


def _contact_deleted(tenant: Tenant, ctx: WriteContext, record: dict) -> None:
    company = tenant.store.get("companies", (record.get("company") or {}).get("id") or 0)
    if company is not None and (company.get("defaultContact") or {}).get("id") == record["id"]:
        _make_default(tenant, ctx, company, None)


def _product_forecast(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    opp_ref = record.get("opportunity")
    if not opp_ref or record.get("bypassForecastUpdate"):
        return
    opp = tenant.store.get("opportunities", opp_ref["id"])
    if opp is None:
        return
    catalog = tenant.store.get("catalog", record["catalogItem"]["id"]) or {}
    qty = record.get("quantity") or 0
    item_id = record.get("forecastDetailId") or tenant.store.new_id("forecast_items")
    old = tenant.store.get("forecast_items", item_id) or {}
    revenue = round((record.get("price") or 0) * qty, 2)
    cost = round((record.get("cost") or 0) * qty, 2)
    item = {
        "id": item_id, "forecastDescription": cw_cut(record.get("description") or "", 50),
        "opportunity": opp_ref, "quantity": qty, "status": opp.get("status") or {},
        "catalogItem": make_reference(ctx, "IvItemReference", catalog) if catalog else None,
        "productDescription": record.get("description") or "", "productClass": record.get("productClass") or "",
        "revenue": revenue, "cost": cost, "margin": round(revenue - cost, 2),
        "percentage": int(round((revenue - cost) / revenue * 100)) if revenue else 0,
        "includeFlag": True, "linkFlag": True, "recurringRevenue": 0.0, "recurringCost": 0.0, "cycles": 0,
        "recurringFlag": False, "sequenceNumber": record.get("sequenceNumber") or float(item_id), "subNumber": 0,
        "taxableFlag": bool(record.get("taxableFlag")), "forecastType": "Product",
        "_info": old.get("_info"),
    }
    item = {k: v for k, v in item.items() if v is not None}
    tenant.store.put("forecast_items", _stamp(item, ctx.actor))
    if record.get("forecastDetailId") != item_id:
        tenant.store.put("products", _with(record, forecastDetailId=item_id))


def _opportunity_forecast(tenant: Tenant, ctx: WriteContext, record: dict, existing: dict | None) -> None:
    if existing is None or (existing.get("status") or {}).get("id") == (record.get("status") or {}).get("id"):
        return
    status = tenant.store.get("opportunity_statuses", (record.get("status") or {}).get("id", 0)) or {}
    updates = []
    for item in tenant.store.all("forecast_items"):
        if item["opportunity"]["id"] == record["id"] and status.get("closedFlag"):
            updates.append(_stamp({**item, "status": record.get("status")}, ctx.actor))
    if updates:
        tenant.store.put_many("forecast_items", updates)
    for product in tenant.store.all("products"):
        if (product.get("opportunity") or {}).get("id") == record["id"]:
            tenant.store.put("products", _with(product, forecastStatus=record.get("status")))


AFTER_WRITE = {
    "companies": _company_written,
    "contacts": _contact_default,
    "products": _product_forecast,
    "opportunities": _opportunity_forecast,
}


def _revenue(items: list[dict]) -> dict:
    revenue = round(sum(i.get("revenue") or 0 for i in items), 2)
    cost = round(sum(i.get("cost") or 0 for i in items), 2)
    return {"id": 0, "revenue": revenue, "cost": cost, "margin": round(revenue - cost, 2),
            "percentage": round((revenue - cost) / revenue * 100, 2) if revenue else 0.0}


def forecast_container(tenant: Tenant, opportunity: dict) -> dict:
    """The ``Forecast`` object of an opportunity: its items plus revenue totals."""
    items = [i for i in tenant.store.all("forecast_items") if i["opportunity"]["id"] == opportunity["id"]]
    flags = {s["id"]: s for s in tenant.store.all("opportunity_statuses")}

    def by(pred) -> list[dict]:
        return [i for i in items if pred(flags.get((i.get("status") or {}).get("id"), {}))]

    totals = _revenue(items)
    return {
        "id": opportunity["id"],
        "forecastItems": items,
        "productRevenue": _revenue([i for i in items if i.get("forecastType") == "Product"]),
        "serviceRevenue": _revenue([i for i in items if i.get("forecastType") == "Service"]),
        "agreementRevenue": _revenue([i for i in items if i.get("forecastType") == "Agreement"]),
        "timeRevenue": _revenue([]), "expenseRevenue": _revenue([]),
        "forecastRevenueTotals": totals, "inclusiveRevenueTotals": totals,
        "recurringTotal": 0.0,
        "wonRevenue": _revenue(by(lambda s: s.get("wonFlag"))),
        "lostRevenue": _revenue(by(lambda s: s.get("lostFlag"))),
        "openRevenue": _revenue(by(lambda s: not s.get("closedFlag"))),
        "otherRevenue1": _revenue([i for i in items if i.get("forecastType") == "Other1"]),
        "otherRevenue2": _revenue([i for i in items if i.get("forecastType") == "Other2"]),
        "salesTaxRevenue": 0.0, "forecastTotalWithTaxes": totals["revenue"],
        "expectedProbability": 0,
        "_info": {"lastUpdated": opportunity["_info"]["lastUpdated"], "updatedBy": opportunity["_info"]["updatedBy"]},
    }


# References a delete clears instead of refusing (409) to delete a record they point at, and what clears them.
CLEARED_ON_DELETE = {"contacts": {("companies", "defaultContact")}}
_BEFORE_DELETE = {"contacts": _contact_deleted}


def before_delete(tenant: Tenant, ctx: WriteContext, key: str, record: dict) -> None:
    """What ConnectWise does before it deletes ``record`` of resource ``key`` (the checks passed)."""
    hook = _BEFORE_DELETE.get(key)
    if hook:
        hook(tenant, ctx, record)
