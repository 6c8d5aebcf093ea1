"""Tenant data: what a new ConnectWise company holds ("empty"), and the shared demo data ("demo").

Seeding goes through the same write pipeline as the API (``Tenant.create``), so seeded
records look exactly like ones a client creates. ``generate`` is the exception: it builds
company and contact records directly, because benchmarks need tens of thousands quickly.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from cw_sandbox.resources import RESOURCES_BY_KEY
from cw_sandbox.tenant import Tenant
from cw_sandbox.validation import WriteContext, find_by, make_reference, now_iso, sandbox_now
from host_stub import demo_data

SEEDS = ("empty", "demo")
SEED_ACTOR = "admin1"

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"),
    ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
]
# (name, ISO code, currency id, dialing prefix)
COUNTRIES = [
    ("United States", "US", 1, "1"), ("Canada", "CA", 2, "1"), ("United Kingdom", "GB", 3, "44"),
    ("Australia", "AU", 4, "61"), ("New Zealand", "NZ", 5, "64"), ("Ireland", "IE", 6, "353"),
    ("Germany", "DE", 6, "49"), ("France", "FR", 6, "33"), ("Netherlands", "NL", 6, "31"),
    ("Mexico", "MX", 7, "52"), ("South Africa", "ZA", 8, "27"), ("India", "IN", 9, "91"),
]
CURRENCIES = [
    ("USD", "US Dollar", "$"), ("CAD", "Canadian Dollar", "$"), ("GBP", "Pound Sterling", "£"),
    ("AUD", "Australian Dollar", "$"), ("NZD", "New Zealand Dollar", "$"), ("EUR", "Euro", "€"),
    ("MXN", "Mexican Peso", "$"), ("ZAR", "South African Rand", "R"), ("INR", "Indian Rupee", "₹"),
]
# (name, class): the class is the ContactCommunicationItem.communicationType it implies.
CONTACT_TYPES = ["Decision Maker", "Billing", "Technical", "End User"]
COMMUNICATION_TYPES = [("Email", "Email"), ("Direct", "Phone"), ("Cell", "Phone"), ("Fax", "Fax"),
                       ("Home", "Phone"), ("Pager", "Phone")]
DEFAULT_CATEGORIES = {
    "Hardware": ["Desktops", "Laptops", "Servers", "Storage"],
    "Software": ["Operating Systems", "Productivity"],
    "Service": ["Professional Services", "Support"],
    "Miscellaneous": ["Other"],
}
DEFAULT_PRODUCT_TYPES = [("Hardware", "NonInventoryPart"), ("Software", "NonInventoryPart"),
                         ("Service", "Service"), ("Other Charge", "OtherCharge")]
STATUSES = [  # name, won, lost, closed, default
    ("Open", False, False, False, True), ("Won", True, False, True, False),
    ("Lost", False, True, True, False), ("No Decision", False, False, True, False),
]
STAGES = ["1.Prospect", "2.Qualification", "3.Proposal", "4.Negotiation", "5.Closing"]
OPPORTUNITY_TYPES = ["New Business", "Existing Business", "Renewal"]
LOCATIONS = ["Main", "Remote Office"]
DEPARTMENTS = [("Sales", "Sales"), ("Services", "Services"), ("Admin", "Administration")]
# identifier, first, last, license class, e-mail, location, department
EMPTY_MEMBERS = [
    ("admin1", "Sandbox", "Admin", "F", "admin1@sandbox.example", "Main", "Admin"),
    ("APIMember", "API", "Member", "A", "api@sandbox.example", "Main", "Admin"),
]
DEMO_MEMBER_IDS = {"dana@demo.example": "ddefault", "riley@demo.example": "rrep", "admin@demo.example": "aadmin"}


def _table(tenant: Tenant, key: str, rows: list[dict]) -> None:
    """Fill a built-in lookup table (no schema to validate against)."""
    stamp = now_iso()
    tenant.store.put_many(key, [{"id": n, **row, "_info": {"lastUpdated": stamp, "updatedBy": SEED_ACTOR}}
                                for n, row in enumerate(rows, 1)])


def _post(tenant: Tenant, key: str, body: dict) -> dict:
    return tenant.create(RESOURCES_BY_KEY[key], body, SEED_ACTOR)


def seed_empty(tenant: Tenant) -> None:
    """What a new tenant holds: lookups, US states (no Canadian provinces), ~300 manufacturers..."""
    _table(tenant, "currencies", [{"currencyCode": c, "currencyIdentifier": c, "name": n, "symbol": s,
                                   "decimalSeparator": ".", "thousandsSeparator": ",", "numberOfDecimals": 2,
                                   "displaySymbolFlag": True, "negativeParenthesesFlag": False,
                                   "displayIdFlag": False, "rightAlign": False} for c, n, s in CURRENCIES])
    _table(tenant, "security_roles", [{"name": n} for n in ("Admin", "API", "Sales", "Technician")])
    _table(tenant, "structure_levels", [{"name": "Corporate"}, {"name": "Location"}])
    _table(tenant, "company_statuses", [
        {"name": name, "defaultFlag": name == "Active", "inactiveFlag": False, "notifyFlag": name != "Active",
         "disallowSavingFlag": name == "Not-Approved", "customNoteFlag": False, "cancelOpenTracksFlag": False}
        for name in ("Active", "Inactive", "Not-Approved")])
    _table(tenant, "company_types", [{"name": n, "defaultFlag": n == "Client", "vendorFlag": n == "Vendor",
                                      "serviceAlertFlag": False} for n in ("Client", "Prospect", "Vendor", "Partner")])
    _table(tenant, "contact_types", [{"description": n, "defaultFlag": False, "serviceAlertFlag": False}
                                     for n in CONTACT_TYPES])
    _table(tenant, "contact_departments", [{"name": n} for n in ("Accounting", "IT", "Purchasing", "Sales")])
    _table(tenant, "probabilities", [{"probability": p} for p in range(0, 101, 10)])
    _table(tenant, "time_zones", [{"name": n} for n in ("Eastern", "Central", "Mountain", "Pacific")])
    _table(tenant, "groups", [{"name": "Newsletter", "publicFlag": True, "inactiveFlag": False}])
    _table(tenant, "note_types", [{"name": "General Note", "identifier": "General", "defaultFlag": True}])
    _table(tenant, "communication_types", [{"description": n, "emailFlag": k == "Email", "phoneFlag": k == "Phone",
                                            "faxFlag": k == "Fax", "defaultFlag": n in ("Email", "Direct")}
                                           for n, k in COMMUNICATION_TYPES])
    for name, code, currency, prefix in COUNTRIES:
        _post(tenant, "countries", {"name": name, "countryCode": code, "coreEntityCountryCode": code,
                                    "currency": {"id": currency}, "dialingPrefix": prefix,
                                    "defaultFlag": code == "US", "disabled": False})
    for ident, name in US_STATES:
        _post(tenant, "states", {"identifier": ident, "name": name, "country": {"id": 1}, "disabled": False})
    names = [line.strip() for line in (Path(__file__).parent / "data" / "manufacturers.txt").read_text().splitlines()]
    for name in names:
        if name and not name.startswith("#"):
            _post(tenant, "manufacturers", {"name": name, "inactiveFlag": False})
    for category, subs in DEFAULT_CATEGORIES.items():
        cat = _post(tenant, "categories", {"name": category, "inactiveFlag": False})
        for sub in subs:
            _post(tenant, "subcategories", {"name": sub, "category": {"id": cat["id"]}, "inactiveFlag": False})
    for name, xref in DEFAULT_PRODUCT_TYPES:
        _post(tenant, "product_types", {"name": name, "typeXref": xref, "inactiveFlag": False})
    for name, won, lost, closed, default in STATUSES:
        _post(tenant, "opportunity_statuses", {"name": name, "wonFlag": won, "lostFlag": lost, "closedFlag": closed,
                                               "defaultFlag": default, "inactiveFlag": False})
    for seq, name in enumerate(STAGES, 1):
        _post(tenant, "stages", {"name": name, "sequenceNumber": seq})
    for name in OPPORTUNITY_TYPES:
        _post(tenant, "opportunity_types", {"description": name, "inactiveFlag": False})
    for name in LOCATIONS:
        _post(tenant, "locations", {"name": name, "structureLevel": {"id": 2}, "locationFlag": True,
                                    "clientFlag": False})
    for ident, name in DEPARTMENTS:
        _post(tenant, "departments", {"identifier": ident, "name": name})
    for row in EMPTY_MEMBERS:
        add_member(tenant, *row)


def add_member(tenant: Tenant, identifier: str, first: str, last: str, license_class: str, email: str,
               location: str, department: str) -> dict:
    """Create a member with a default location and department."""
    loc = find_by(tenant.store, "locations", "name", location)
    dept = find_by(tenant.store, "departments", "identifier", department)
    return _post(tenant, "members", {
        "identifier": identifier, "firstName": first, "lastName": last, "licenseClass": license_class,
        "hireDate": "2020-01-06T00:00:00Z", "defaultEmail": "Office", "defaultPhone": "Office",
        "officeEmail": email, "officePhone": "555-0100", "securityRole": {"id": 2 if license_class == "A" else 1},
        "defaultLocation": {"id": loc["id"]} if loc else None, "defaultDepartment": {"id": dept["id"]} if dept else None,
        "title": "API Member" if license_class == "A" else "Account Manager", "timeZone": {"id": 1},
        "country": {"id": 1}, "adminFlag": license_class == "F" and identifier == "admin1",
    })


def _comm(type_name: str, value: str, default: bool = False) -> dict:
    return {"type": {"name": type_name}, "value": value, "defaultFlag": default}


def seed_demo(tenant: Tenant) -> None:
    """The empty tenant plus the shared demo data from ``host_stub.demo_data``."""
    seed_empty(tenant)
    for first, last, email, _role in demo_data.USERS:
        if email in demo_data.REPS_WITH_MEMBERS:
            add_member(tenant, DEMO_MEMBER_IDS[email], first, last, "F", email, "Main", "Sales")
    for category, subs in demo_data.CATEGORIES.items():
        cat = find_by(tenant.store, "categories", "name", category) or _post(tenant, "categories", {"name": category})
        for sub in subs:
            if (category, sub) not in demo_data.CATEGORIES_MISSING_IN_CW:
                _post(tenant, "subcategories", {"name": sub, "category": {"id": cat["id"]}})
    for name in demo_data.PRODUCT_TYPES:
        if not find_by(tenant.store, "product_types", "name", name):
            _post(tenant, "product_types", {"name": name, "typeXref": "Service" if name != "Product"
                                            else "NonInventoryPart"})
    for product in demo_data.PRODUCTS:
        if product.item_number not in demo_data.PRODUCTS_IN_CW_CATALOG:
            continue
        sub = next((s for s in tenant.store.all("subcategories") if s["name"] == product.subcategory
                    and s["category"]["name"] == product.category), None)
        if sub is None:
            continue
        manufacturer = find_by(tenant.store, "manufacturers", "name", product.manufacturer)
        # CatalogItem.description holds 60 characters (the OpenAPI's "Max length: 60", which the sandbox enforces in
        # UTF-16 units), customerDescription 6,000: the demo's descriptions (ASCII, 37 at most) fit whole; the cut
        # only guards a longer one added to demo_data from failing the seed.
        _post(tenant, "catalog", {
            "identifier": product.item_number, "description": product.description[:60],
            "customerDescription": product.description, "subcategory": {"id": sub["id"]},
            "type": {"name": product.product_type}, "manufacturer": {"id": manufacturer["id"]} if manufacturer else None,
            "manufacturerPartNumber": product.item_number, "cost": product.cost, "price": product.price,
            "productClass": "Service" if product.product_type != "Product" else "NonInventory",
        })
    companies = []
    for index in range(60):
        if not demo_data.company_in_cw(index):
            continue
        row = demo_data.company(index)
        company = _post(tenant, "companies", {
            "identifier": row["account_number"], "name": row["name"], "addressLine1": row["address1"],
            "addressLine2": row["address2"] or None, "city": row["city"], "state": row["state"], "zip": row["zip"],
            "country": {"name": row["country"]}, "phoneNumber": row["phone"], "faxNumber": row["fax"] or None,
            "website": row["website"], "status": {"id": 1 if row["active"] else 2},
        })
        contact_ids = []
        for person in demo_data.contacts(index):
            items = [_comm("Email", person["email"], True), _comm("Direct", person["work_phone"], True)]
            if person["mobile_phone"]:
                items.append(_comm("Cell", person["mobile_phone"]))
            contact = _post(tenant, "contacts", {
                "firstName": person["first_name"], "lastName": person["last_name"], "title": person["title"],
                "company": {"id": company["id"]}, "addressLine1": person["address1"],
                "addressLine2": person["address2"] or None, "city": person["city"], "state": person["state"],
                "zip": person["zip"], "communicationItems": items, "defaultFlag": person["is_default"],
                "typeIds": [1] if person["is_default"] else [],
            })
            contact_ids.append(contact["id"])
        tenant.patch(RESOURCES_BY_KEY["companies"], company["id"],
                     [{"op": "replace", "path": "defaultContact", "value": {"id": contact_ids[0]}}], SEED_ACTOR)
        companies.append((company, contact_ids))
    for row in demo_data.cw_only_companies():
        _post(tenant, "companies", {"identifier": row["identifier"], "name": row["name"], "city": row["city"],
                                    "state": row["state"], "phoneNumber": row["phone"], "country": {"id": 1}})
    _demo_opportunities(tenant, companies)
    _demo_notes(tenant, companies[0])


def _demo_notes(tenant: Tenant, first: tuple[dict, list[int]]) -> None:
    """A note, a marketing group and a custom status note on the first company, its first contact
    and its opportunity (read-only in the sandbox: these endpoints are GET-only here)."""
    company, contact_ids = first
    ctx = WriteContext(store=tenant.store, actor=SEED_ACTOR, api_base=tenant.api_base,
                       resource=RESOURCES_BY_KEY["company_notes"])
    company_ref = make_reference(ctx, "CompanyReference", tenant.store.get("companies", company["id"]))
    contact = tenant.store.get("contacts", contact_ids[0])
    contact_ref = make_reference(ctx, "ContactReference", contact)
    group = make_reference(ctx, "GroupReference", tenant.store.get("groups", 1))
    note_type = make_reference(ctx, "NoteTypeReference", tenant.store.get("note_types", 1))
    status = make_reference(ctx, "CompanyStatusReference", tenant.store.get("company_statuses", 1))
    opportunity = next(o for o in tenant.store.all("opportunities") if o["company"]["id"] == company["id"])
    rows = {
        "company_notes": {"text": "Prefers quotes by e-mail.", "type": note_type, "flagged": False,
                          "enteredBy": SEED_ACTOR, "company": company_ref},
        "company_groups": {"group": group, "company": company_ref, "defaultContactFlag": True,
                           "allContactsFlag": False, "unsubscribeFlag": False, "contactIds": [contact["id"]]},
        "company_custom_notes": {"customNote": "Net 30 approved.", "status": status, "company": company_ref},
        "contact_notes": {"contactId": contact["id"], "text": "Call after 10am.", "type": note_type,
                          "flagged": False, "enteredBy": SEED_ACTOR},
        "contact_groups": {"group": group, "contact": contact_ref, "description": "Newsletter",
                           "unsubscribeFlag": False},
        "opportunity_notes": {"opportunityId": opportunity["id"], "text": "Budget confirmed.", "type": note_type,
                              "flagged": False, "enteredBy": SEED_ACTOR},
    }
    stamp = now_iso()
    for key, row in rows.items():
        tenant.store.put(key, {"id": tenant.store.new_id(key), **row,
                               "_info": {"lastUpdated": stamp, "updatedBy": SEED_ACTOR}})


def _demo_opportunities(tenant: Tenant, companies: list[tuple[dict, list[int]]]) -> None:
    plans = [("Network refresh", "Open", "ddefault"), ("Laptop rollout", "Open", "rrep"),
             ("Managed services renewal", "Won", "ddefault"), ("Server upgrade", "Lost", "aadmin"),
             ("Wireless survey", "Open", "rrep")]
    catalog = tenant.store.all("catalog")
    for n, ((company, contacts), (title, status, rep)) in enumerate(zip(companies, plans, strict=False)):
        opp = _post(tenant, "opportunities", {
            "name": f"{company['name']} - {title}", "company": {"id": company["id"]}, "contact": {"id": contacts[0]},
            "primarySalesRep": {"identifier": rep}, "expectedCloseDate": f"2026-0{n + 3}-15T00:00:00Z",
            "type": {"id": 1}, "stage": {"id": 2}, "status": {"name": "Open"},
        })
        if catalog:
            item = catalog[n % len(catalog)]
            _post(tenant, "products", {"catalogItem": {"id": item["id"]}, "opportunity": {"id": opp["id"]},
                                       "quantity": float(n + 1), "billableOption": "Billable"})
        if status != "Open":
            tenant.patch(RESOURCES_BY_KEY["opportunities"], opp["id"],
                         [{"op": "replace", "path": "status", "value": {"name": status}}], SEED_ACTOR)


def apply_seed(tenant: Tenant, seed: str) -> None:
    """Clear the store and load ``seed`` ("empty" or "demo").

    The first time for a seed (and for what the records depend on: the API base in their ``_href``s, the
    API member, the tenant's write settings) it is written record by record through the write pipeline;
    the store is then kept as a snapshot on the tenant, and later resets restore that snapshot, with the
    times stamped during the seeding (``_info``, ``dateAcquired``, ``closedDate``...) moved to now: the
    tenant a test meets is the one seeding it anew would make, in a fraction of the time (a reset before
    each test). Seeding tells no write listener anything (no callback exists while a seed is written), so
    a restore need not either."""
    if seed not in SEEDS:
        raise ValueError(f"Unknown seed {seed!r}; use one of {', '.join(SEEDS)}.")
    key = (seed, tenant.api_base, tenant.api_member, tenant.reclose, repr(sorted(tenant.required_fields.items())))
    snapshot = tenant.seed_snapshots.get(key)
    if snapshot is not None:
        text, stamps = snapshot
        now = now_iso()
        for stamp in stamps:
            if stamp != now:
                text = text.replace(f'"{stamp}"', f'"{now}"')
        tenant.store.restore(text)
        return
    first = now_iso()
    tenant.store.clear()
    tenant.store.set_meta("codebase", tenant.codebase)
    (seed_demo if seed == "demo" else seed_empty)(tenant)
    tenant.store.set_meta("seed", seed)
    last = now_iso()
    text = tenant.store.dump()
    stamps = _seconds(first, last)
    # A default made from today's date (an opportunity's expectedCloseDate) would go stale in a snapshot: a seed
    # that holds one is always written anew.
    if not any(f'"{_in_30_days(stamp)}"' in text for stamp in stamps):
        tenant.seed_snapshots[key] = (text, stamps)


def _seconds(first: str, last: str) -> list[str]:
    """Every ``now_iso()`` value from ``first`` to ``last``."""
    start, end = (datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ") for s in (first, last))
    return [(start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for n in range(int((end - start).total_seconds()) + 1)]


def _in_30_days(stamp: str) -> str:
    """The default expectedCloseDate (rules.py) of an opportunity written at ``stamp``."""
    return (datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") + timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z")


_WORDS_A = ["Acme", "Apex", "Atlas", "Beacon", "Bright", "Cascade", "Copper", "Crescent", "Delta", "Eagle",
            "Falcon", "Frontier", "Golden", "Horizon", "Keystone", "Liberty", "Meridian", "Nova", "Oak",
            "Pinnacle", "Quarry", "Redwood", "Sapphire", "Tidewater", "Union", "Valley", "Willow", "Zenith"]
_WORDS_B = ["Dental", "Logistics", "Legal", "Accounting", "Clinic", "Builders", "Realty", "Health", "Motors",
            "Insurance", "Credit Union", "Engineering", "Foods", "Design", "Academy", "Hotels", "Printing"]


def generate(tenant: Tenant, companies: int, contacts_per_company: float = 2.5, seed: int = 42,
             age_minutes: float = 0) -> dict:
    """Bulk-create realistic companies and contacts directly in the store (for benchmarks), last changed
    ``age_minutes`` ago (a tenant whose records settled a day ago, say, as a nightly import meets them)."""
    rng = random.Random(seed)
    ctx_res = RESOURCES_BY_KEY["companies"]
    ctx = WriteContext(store=tenant.store, actor=SEED_ACTOR, api_base=tenant.api_base, resource=ctx_res)
    stamp = (sandbox_now() - timedelta(minutes=age_minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = {"lastUpdated": stamp, "updatedBy": SEED_ACTOR, "dateEntered": stamp, "enteredBy": SEED_ACTOR}
    with tenant.store.lock:
        us = find_by(tenant.store, "countries", "name", "United States")
        us_ref = make_reference(ctx, "CountryReference", us) if us else None
        status = make_reference(ctx, "CompanyStatusReference", tenant.store.get("company_statuses", 1))
        email_t = make_reference(ctx, "CommunicationTypeReference", tenant.store.get("communication_types", 1))
        direct_t = make_reference(ctx, "CommunicationTypeReference", tenant.store.get("communication_types", 2))
        company_rows, contact_rows = [], []
        for _ in range(companies):
            cid = tenant.store.new_id("companies")
            name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)} {cid}"
            state, _state_name = rng.choice(US_STATES)
            company = {"id": cid, "identifier": f"GEN{cid:06d}", "name": name, "status": status,
                       "addressLine1": f"{rng.randint(1, 9999)} Main St", "city": "Springfield", "state": state,
                       "zip": f"{rng.randint(10000, 99999)}", "country": us_ref,
                       # One number per company (up to 9 million): drawn at random, 10,000 companies shared about
                       # eight numbers, and a client that refuses a company whose phone another already has (colcw's
                       # likely duplicates) failed them.
                       "phoneNumber": f"555-{100 + cid // 10_000 % 900}-{cid % 10_000:04d}",
                       "website": f"https://gen{cid}.example", "deletedFlag": False, "leadFlag": False,
                       "dateAcquired": stamp, "_info": dict(info)}
            company = {k: v for k, v in company.items() if v is not None}
            company_rows.append(company)
            company_ref = make_reference(ctx, "CompanyReference", company)
            n_contacts = int(contacts_per_company) + (1 if rng.random() < contacts_per_company % 1 else 0)
            for n in range(n_contacts):  # the first is the default contact, as the company says (sideeffects.py)
                kid = tenant.store.new_id("contacts")
                first, last = rng.choice(demo_data._FIRST_NAMES), rng.choice(demo_data._LAST_NAMES)
                local = f"{first}.{last}{kid}".lower().replace("'", "").encode("ascii", "ignore").decode()
                contact_rows.append({
                    "id": kid, "firstName": first, "lastName": last, "company": company_ref,
                    "communicationItems": [
                        {"id": tenant.store.new_id("communication_items"), "type": email_t,
                         "value": f"{local}@gen{cid}.example", "defaultFlag": True, "communicationType": "Email",
                         "domain": f"@gen{cid}.example"},
                        {"id": tenant.store.new_id("communication_items"), "type": direct_t,
                         "value": company["phoneNumber"], "defaultFlag": True, "communicationType": "Phone"}],
                    "defaultPhoneType": "Direct", "defaultPhoneNbr": company["phoneNumber"],
                    "inactiveFlag": False, "defaultFlag": n == 0, "_info": dict(info)})
                if n == 0:
                    company["defaultContact"] = make_reference(ctx, "ContactReference", contact_rows[-1])
                    company["_info"] = company.pop("_info")  # kept last, as ConnectWise orders it
        tenant.store.put_many("companies", company_rows)
        tenant.store.put_many("contacts", contact_rows)
    return {"companies": len(company_rows), "contacts": len(contact_rows)}
