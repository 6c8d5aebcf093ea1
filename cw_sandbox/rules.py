"""Resource-specific behaviour: server defaults, cross-field checks and side effects.

ConnectWise "will attempt to default all required information" on POST (API-NOTES §5.2):
an opportunity gets the default status and its rep's location and department, a product
line copies its catalog item, a company gets a "Main" site. These rules, and the checks
that go beyond one field (a company's state must be in the States list, which is why the
user guide makes you add Canadian provinces; a contact must belong to the opportunity's
company), are here so ``validation.py`` stays generic.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from cw_sandbox.errors import ApiError, error_body, human
from cw_sandbox.resources import REFERENCES, RESOURCES, RESOURCES_BY_KEY
from cw_sandbox.schemas import field_rules
from cw_sandbox.validation import (
    WriteContext,
    cw_cut,
    find_by,
    looks_like_email,
    make_reference,
    now_iso,
    resolve_reference,
)

ADDRESS_FIELDS = ("addressLine1", "addressLine2", "city", "state", "zip", "country")
YEAR_FIELDS = ("yearEstablished", "revenueYear")


def _ref_record(ctx: WriteContext, key: str, ref: Any) -> dict | None:
    if isinstance(ref, dict) and isinstance(ref.get("id"), int):
        return ctx.store.get(key, ref["id"])
    return None


def _check_state(ctx: WriteContext, fields: dict, name: str = "state") -> None:
    """A company/contact state must be a State identifier (or name) held in the tenant."""
    value = fields.get(name)
    if isinstance(value, str) and value.strip():
        state = find_by(ctx.store, "states", "identifier", value) or find_by(ctx.store, "states", "name", value)
        if state is None:
            ctx.error("NotFound", f"State '{value}' not found", name)
        else:
            fields[name] = state["identifier"]


def _api_member(ctx: WriteContext) -> dict | None:
    return find_by(ctx.store, "members", "identifier", ctx.actor) or next(iter(ctx.store.all("members")), None)


def _company(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    if not any(isinstance(fields.get(f), str | dict) and fields.get(f) for f in ADDRESS_FIELDS):
        ctx.error("NullValue", "At least one address field is required -- addressLine1, addressLine2, "
                  "city, state, zip and/or country.", "addressLine1")
    _check_state(ctx, fields)
    for name in YEAR_FIELDS:
        # A live answer (API-NOTES §6.2): "The field yearEstablished must be between 1900 and 9999." (OutOfRange).
        year = fields.get(name)
        if isinstance(year, int) and not 1900 <= year <= 9999:
            ctx.error("OutOfRange", f"The field {name} must be between 1900 and 9999.", name)
    if mode == "post":
        status = ctx.store.get("company_statuses", 1)
        if "status" not in fields and status:
            fields["status"] = make_reference(ctx, "CompanyStatusReference", status)
        if "types" not in fields and ctx.store.get("company_types", 1):
            fields["types"] = [make_reference(ctx, "CompanyTypeReference", ctx.store.get("company_types", 1))]
        fields.setdefault("dateAcquired", now_iso())
        fields.setdefault("deletedFlag", False)
        fields.setdefault("leadFlag", False)
        fields.setdefault("unsubscribeFlag", False)
        fields.setdefault("isVendorFlag", False)
    else:
        # Company types can only be set on POST (spec description); keep the stored ones.
        fields["types"] = (existing or {}).get("types", [])
        for keep in ("site", "dateAcquired", "deletedFlag"):
            if keep not in fields and existing and keep in existing:
                fields[keep] = existing[keep]


def _contact(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    _check_state(ctx, fields)
    company = _ref_record(ctx, "companies", fields.get("company"))
    site = _ref_record(ctx, "sites", fields.get("site"))
    if site and company and site["company"]["id"] != company["id"]:
        ctx.error("InvalidObject", "The site does not belong to the contact's company.", "site")
    items = fields.get("communicationItems") or []
    cleaned: list[dict] = []
    seen_default: set[str] = set()
    for n, raw in enumerate(items):
        where = f"communicationItems[{n}]"
        if not isinstance(raw, dict):
            ctx.error("InvalidObject", f"{where} must be an object.", "communicationItems")
            continue
        ctype = resolve_reference(ctx, f"{where}/type", "CommunicationTypeReference", raw.get("type"))
        value = raw.get("value")
        if not isinstance(value, str) or not value.strip():
            ctx.error("NullValue", "The value field is required.", f"{where}/value")
            continue
        if ctype is None:
            continue
        type_record = ctx.store.get("communication_types", ctype["id"]) or {}
        klass = "Email" if type_record.get("emailFlag") else "Fax" if type_record.get("faxFlag") else "Phone"
        if klass == "Email" and not looks_like_email(value):
            ctx.error("InvalidObject", f"'{value}' is not a valid e-mail address.", f"{where}/value")
            continue
        item: dict[str, Any] = {
            "id": raw["id"] if isinstance(raw.get("id"), int) else ctx.store.new_id("communication_items"),
            "type": ctype, "value": value.strip(), "communicationType": klass,
            "defaultFlag": bool(raw.get("defaultFlag")) and klass not in seen_default,
        }
        if raw.get("extension"):
            item["extension"] = str(raw["extension"])
        if klass == "Email":
            item["domain"] = "@" + value.split("@", 1)[1]
        if item["defaultFlag"]:
            seen_default.add(klass)
        cleaned.append(item)
    # Each communication class (Email, Phone, Fax) has exactly one default row.
    for item in cleaned:
        if item["communicationType"] not in seen_default:
            item["defaultFlag"] = True
            seen_default.add(item["communicationType"])
    if "communicationItems" in fields or cleaned:
        fields["communicationItems"] = cleaned
    phone = next((i for i in cleaned if i["communicationType"] == "Phone" and i["defaultFlag"]), None)
    for key in ("defaultPhoneType", "defaultPhoneNbr", "defaultPhoneExtension"):
        fields.pop(key, None)
    if phone:
        fields["defaultPhoneType"] = phone["type"].get("name", "")
        fields["defaultPhoneNbr"] = phone["value"]
        if phone.get("extension"):
            fields["defaultPhoneExtension"] = phone["extension"]
    type_ids = fields.pop("typeIds", None)  # write-only: contact types "only during new contact creation"
    if mode == "post":
        fields.setdefault("inactiveFlag", False)
        fields.setdefault("defaultFlag", False)
        for type_id in type_ids or []:
            kind = ctx.store.get("contact_types", type_id) if isinstance(type_id, int) else None
            if kind is None:
                ctx.error("NotFound", f"Contact type {type_id} not found", "typeIds")
            elif all(t["id"] != type_id for t in fields.get("types", [])):
                fields.setdefault("types", []).append(make_reference(ctx, "ContactTypeReference", kind))
    else:
        # As for companies, types change through /company/contacts/{id}/typeAssociations only.
        fields["types"] = (existing or {}).get("types", [])


def _opportunity(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    company = _ref_record(ctx, "companies", fields.get("company"))
    contact = _ref_record(ctx, "contacts", fields.get("contact"))
    if company and contact and (contact.get("company") or {}).get("id") != company["id"]:
        ctx.error("InvalidObject", f"Contact {contact['id']} is not associated with company "
                  f"{company['identifier']}.", "contact")
    rep = _ref_record(ctx, "members", fields.get("primarySalesRep"))
    if "status" not in fields:
        # POST and PUT both default a missing status (PUT resets left-out fields to defaults).
        default = next((s for s in ctx.store.all("opportunity_statuses") if s.get("defaultFlag")), None)
        if default:
            fields["status"] = make_reference(ctx, "OpportunityStatusReference", default)
    if mode == "post":
        fields.setdefault("expectedCloseDate",
                          (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z"))
        if rep and "locationId" not in fields and rep.get("defaultLocation"):
            fields["locationId"] = rep["defaultLocation"]["id"]
        if rep and "businessUnitId" not in fields and rep.get("defaultDepartment"):
            fields["businessUnitId"] = rep["defaultDepartment"]["id"]
        fields.setdefault("dateBecameLead", now_iso())
    if isinstance(fields.get("locationId"), int) and not ctx.store.get("locations", fields["locationId"]):
        ctx.error("NotFound", f"Location {fields['locationId']} not found", "locationId")
    if isinstance(fields.get("businessUnitId"), int) and not ctx.store.get("departments", fields["businessUnitId"]):
        ctx.error("NotFound", f"Department {fields['businessUnitId']} not found", "businessUnitId")
    status = _ref_record(ctx, "opportunity_statuses", fields.get("status"))
    old_status = (existing or {}).get("status", {}).get("id")
    if status and status.get("closedFlag"):
        if existing and existing.get("closedDate") and old_status == status["id"]:
            fields.setdefault("closedDate", existing["closedDate"])
            if existing.get("closedBy"):
                fields.setdefault("closedBy", existing["closedBy"])
        else:
            if existing and existing.get("closedDate") and not ctx.reclose_keeps:
                # From one closed status to another (Won → Lost): a new close, stamped with who made it and
                # when, unless the write itself sets them. A PATCH carries the record's old values along (and
                # a PUT may echo them): those are not the write's own. UNVERIFIED (README); the control API's
                # ``reclose: "keep"`` plays a ConnectWise that keeps the first close's instead.
                for name in ("closedDate", "closedBy"):
                    if name in fields and fields[name] == existing.get(name):
                        del fields[name]
            fields.setdefault("closedDate", now_iso())
            member = _api_member(ctx)
            if member:
                fields.setdefault("closedBy", make_reference(ctx, "MemberReference", member))
    else:
        fields.pop("closedDate", None)
        fields.pop("closedBy", None)
    if existing is None or old_status != (status or {}).get("id"):
        fields["pipelineChangeDate"] = now_iso()
    elif existing.get("pipelineChangeDate"):
        fields.setdefault("pipelineChangeDate", existing["pipelineChangeDate"])


def _catalog(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    sub = _ref_record(ctx, "subcategories", fields.get("subcategory"))
    if sub:
        category = _ref_record(ctx, "categories", sub.get("category"))
        given = fields.get("category")
        if given and category and given.get("id") != category["id"]:
            ctx.error("InvalidObject", f"Subcategory {sub['name']} does not belong to category "
                      f"{given.get('name')}.", "subcategory")
        elif category:
            fields["category"] = make_reference(ctx, "ProductCategoryReference", category)
    if mode == "post":
        fields.setdefault("productClass", "NonInventory")
        fields.setdefault("inactiveFlag", False)
        fields.setdefault("taxableFlag", True)


def _product(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    item = _ref_record(ctx, "catalog", fields.get("catalogItem"))
    opp = _ref_record(ctx, "opportunities", fields.get("opportunity"))
    if item and mode == "post":
        fields.setdefault("description", cw_cut(item.get("description", ""), 2000))
        fields.setdefault("customerDescription", item.get("customerDescription", ""))
        for key in ("price", "cost", "productClass", "taxableFlag"):
            if key not in fields and key in item:
                fields[key] = item[key]
        fields.setdefault("quantity", 1.0)
    if mode == "post":
        member = _api_member(ctx) or {}
        loc = (opp or {}).get("locationId") or (member.get("defaultLocation") or {}).get("id")
        dept = (opp or {}).get("businessUnitId") or (member.get("defaultDepartment") or {}).get("id")
        if loc is not None:
            fields.setdefault("locationId", loc)
        if dept is not None:
            fields.setdefault("businessUnitId", dept)
    if opp:
        fields["company"] = opp["company"]
        if opp.get("status"):
            fields["forecastStatus"] = opp["status"]
    qty = fields.get("quantity") or 0
    fields["extPrice"] = round((fields.get("price") or 0) * qty, 2)
    fields["extCost"] = round((fields.get("cost") or 0) * qty, 2)
    fields["margin"] = round(fields["extPrice"] - fields["extCost"], 2)
    if existing and existing.get("forecastDetailId"):
        fields["forecastDetailId"] = existing["forecastDetailId"]


# Display settings ConnectWise fills on every member (enum fields; pyconnectwise's Member model,
# generated from the official spec, requires the first three on every member it reads).
MEMBER_DEFAULTS = {"agreementInvoicingDisplayOptions": "RemainOnInvoicingScreen",
                   "invoicingDisplayOptions": "RemainOnInvoicingScreen",
                   "invoiceScreenDefaultTabFormat": "ShowInvoicingTab", "companyActivityTabFormat": "SummaryList",
                   "invoiceTimeTabFormat": "SummaryList", "globalSearchDefaultTicketFilter": "OpenRecords",
                   "globalSearchDefaultSort": "None"}


def _member(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    for name, value in MEMBER_DEFAULTS.items():
        fields.setdefault(name, (existing or {}).get(name, value))
    if mode == "post":
        fields.setdefault("inactiveFlag", False)
        fields.setdefault("disableOnlineFlag", False)
    fields.pop("password", None)  # write-only: "will never be returned"
    email_field = {"Office": "officeEmail", "Mobile": "mobileEmail", "Home": "homeEmail"}.get(fields.get("defaultEmail", ""))
    if email_field and fields.get(email_field):
        fields["primaryEmail"] = fields[email_field]


def _site(ctx: WriteContext, fields: dict, mode: str, existing: dict | None) -> None:
    if mode == "post":
        fields.setdefault("inactiveFlag", False)


PREPARE = {
    "companies": _company, "contacts": _contact, "opportunities": _opportunity, "catalog": _catalog,
    "products": _product, "members": _member, "sites": _site,
}


def prepare(ctx: WriteContext, fields: dict, *, mode: str, existing: dict | None) -> None:
    """Apply the resource's defaults and cross-field checks to ``fields`` in place."""
    hook = PREPARE.get(ctx.resource.key)
    if hook:
        hook(ctx, fields, mode, existing)


def in_use_by(store, key: str, rid: int, ignore: Collection[tuple[str, str]] = ()) -> str | None:
    """The label of a resource whose records reference ``key``/``rid`` (deleting it would orphan them);
    ``ignore``: (resource key, field) references the delete clears instead."""
    ref_schemas = {name for name, target in _targets().items() if target == key}
    for res in RESOURCES:
        if res.read_only:
            continue
        rules = [r for r in field_rules(res.schema).values() if r.kind in ("ref", "array") and r.ref in ref_schemas
                 and (res.key, r.name) not in ignore]
        if not rules:
            continue
        for record in store.all(res.key):
            for rule in rules:
                value = record.get(rule.name)
                values = value if isinstance(value, list) else [value]
                if any(isinstance(v, dict) and v.get("id") == rid for v in values):
                    return res.label
    return None


def _targets() -> dict[str, str]:
    return {name: t.key for name, t in REFERENCES.items()}


def conflict(label: str, rid: int, used_by: str) -> ApiError:
    """409: the record is still referenced (API-NOTES §6.1: "Record possibly in use")."""
    return ApiError(409, error_body("Conflict", f"{human(label)} {rid} is in use by at least one "
                                    f"{human(used_by)} and cannot be deleted."))


__all__ = ["prepare", "in_use_by", "conflict", "RESOURCES_BY_KEY"]
