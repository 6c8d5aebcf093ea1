"""A tenant's worth of work for the convergence fault test and the soak (``bench/soak_convergence.py``):
host customers with contacts and quotes, the mappings an export needs, the faults a bad day at
ConnectWise brings, and the audit of what the sandbox holds afterwards (duplicates and missing records).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from colcw_plugin.models import SyncItem, SyncRun
from helpers import map_for_export
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document

CATALOG = ("OPT-7010", "LAT-5440", "PWR-R550", "MON-2720", "DOCK-WD19")

# About a fifth of the API requests fail: throttled, server errors, dropped connections, and writes that
# hang past the client's read timeout while ConnectWise applies them.
FAULTS = (
    {"status": 503, "fraction": 0.05},
    {"status": 500, "fraction": 0.03},
    {"status": 429, "retry_after": 1, "fraction": 0.03},
    {"status": "drop", "fraction": 0.03},
    {"status": "hang", "seconds": 2.0, "method": "POST", "applied": True, "fraction": 0.04},  # created, answer lost
    {"status": "drop", "method": "POST", "applied": True, "fraction": 0.02},
    {"status": 503, "method": "POST", "applied": True, "fraction": 0.02},
    {"status": "hang", "seconds": 2.0, "method": "PATCH", "fraction": 0.02},  # lands after the client gave up
)


@dataclass
class World:
    customers: dict[int, str] = field(default_factory=dict)  # host id -> account number
    contacts: dict[str, set[str]] = field(default_factory=dict)  # account number -> contact e-mails
    documents: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # id -> (account, name, lines)


def _post(sandbox, path: str, body: dict) -> dict:
    resp = sandbox.api("POST", path, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _get(sandbox, path: str, **params) -> list:
    out, page = [], 1
    while True:
        resp = sandbox.api("GET", path, params={"pageSize": 1000, "page": page, **params})
        assert resp.status_code == 200, resp.text
        rows = resp.json()
        out += rows
        if len(rows) < 1000:
            return out
        page += 1


def build(sandbox, *, customers: int = 60, contacts: int = 150, documents: int = 40, lines: int = 3) -> World:
    """Map the default rep and product types, fill the catalog, and create the host's customers (contacts
    spread over them, e-mails unique) and quotes (one per customer, the first ``documents`` customers)."""
    types, _, name_field_id = map_for_export(sandbox)
    db.session.commit()
    sub = next(s for s in _get(sandbox, "procurement/subcategories/") if s["name"] == "Desktops")
    dell = sandbox.api("GET", "procurement/manufacturers", params={"conditions": 'name="Dell"'}).json()[0]
    for ident in CATALOG:
        _post(sandbox, "procurement/catalog", {
            "identifier": ident, "description": f"{ident} catalog", "customerDescription": f"{ident} catalog",
            "subcategory": {"id": sub["id"]}, "type": {"id": types["Hardware"]}, "manufacturer": {"id": dell["id"]},
            "price": 1.0, "cost": 0.5})
    world = World()
    for i in range(customers):
        account = f"FLT{i:04d}"
        n = contacts // customers + (1 if i < contacts % customers else 0)
        people = [{"first_name": f"Pat{j}", "last_name": f"Fault{i}", "email": f"pat{j}.{i}@fault.example",
                   "work_phone": f"512-555-{i % 10000:04d}", "is_default": j == 0} for j in range(n)]
        customer = services.save_customer({"name": f"Faulty Co {i}", "account_number": account, "city": "Austin",
                                           "state": "TX", "country": "United States"}, people)
        world.customers[customer.id] = account
        world.contacts[account] = {p["email"] for p in people}
        if i < documents:
            doc_lines = [{"item_number": CATALOG[(i + k) % len(CATALOG)], "quantity": k + 1, "price": 100 + k,
                          "cost": 60, "manufacturer": "Dell", "description": f"line {k}", "category": "Hardware",
                          "subcategory": "Desktops", "product_type": "Product"} for k in range(lines)]
            name = f"Deal {i}"
            doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                         doc_lines, doc_type="quote", custom_fields={name_field_id: name})
            world.documents[doc.id] = (account, name, lines)
    return world


def arm_faults(sandbox, faults=FAULTS) -> None:
    for spec in faults:
        sandbox.add_fault(**spec)


def audit(sandbox, world: World) -> dict:
    """What the sandbox holds against what the host has: duplicates and missing records and lines."""
    companies = _get(sandbox, "company/companies")
    by_ident = Counter(c["identifier"] for c in companies)
    wanted = set(world.customers.values())
    details: list[str] = [f"company {i} x{n}" for i, n in by_ident.items() if i in wanted and n > 1]
    details += [f"company {i} missing" for i in sorted(wanted - set(by_ident))]
    dup = sum(n - 1 for ident, n in by_ident.items() if ident in wanted and n > 1)
    missing = len(wanted - set(by_ident))
    company_of = {c["id"]: c["identifier"] for c in companies}
    emails: dict[str, Counter] = {}
    for contact in _get(sandbox, "company/contacts"):
        ident = company_of.get((contact.get("company") or {}).get("id"))
        for item in contact.get("communicationItems") or []:
            if (item.get("type") or {}).get("name") == "Email":
                emails.setdefault(ident, Counter())[item["value"]] += 1
    for account, people in world.contacts.items():
        have = emails.get(account, Counter())
        dup += sum(n - 1 for e, n in have.items() if e in people and n > 1)
        missing += len(people - set(have))
        details += [f"contact {e} x{n}" for e, n in have.items() if e in people and n > 1]
        details += [f"contact {e} missing" for e in sorted(people - set(have))]
    opps = _get(sandbox, "sales/opportunities")
    by_name = Counter((company_of.get(o["company"]["id"]), o["name"]) for o in opps)
    products = Counter()
    opp_key = {o["id"]: (company_of.get(o["company"]["id"]), o["name"]) for o in opps}
    for p in _get(sandbox, "procurement/products"):
        key = opp_key.get((p.get("opportunity") or {}).get("id"))
        products[(key, p.get("integrationXRef"))] += 1
    for doc_id, (account, name, lines) in world.documents.items():
        n = by_name.get((account, name), 0)
        dup += max(0, n - 1)
        missing += 1 if n == 0 else 0
        xrefs = [k for k in products if k[0] == (account, name) and str(k[1] or "").startswith(f"colcw:{doc_id}:")]
        dup += sum(products[k] - 1 for k in xrefs)
        missing += lines - len(xrefs)
        details += [f"opportunity {name} of {account} x{n}"] if n > 1 else []
        details += [f"line {k[1]} x{products[k]}" for k in xrefs if products[k] > 1]
        details += [f"{lines - len(xrefs)} lines of {name} missing"] if len(xrefs) < lines else []
    return {"duplicates": dup, "missing": missing, "companies": len(companies), "opportunities": len(opps),
            "details": details[:20]}


def run_problems(run_ids: list[int]) -> list[str]:
    """Runs whose counts do not add up: done = total, and one outcome per selected record."""
    problems = []
    db.session.expire_all()
    for run_id in run_ids:
        run = db.session.get(SyncRun, run_id)
        main = (run.selection or {}).get("entity")
        outcomes = Counter(db.session.execute(select(SyncItem.host_id).where(
            SyncItem.run_id == run_id, SyncItem.entity == main)).scalars())
        if run.done != run.total or sum(outcomes.values()) != run.total or any(n != 1 for n in outcomes.values()):
            problems.append(f"run #{run.id} ({run.kind}): done {run.done}, total {run.total}, "
                            f"{sum(outcomes.values())} outcomes, counts {run.counts}")
        if run.status != "succeeded":
            problems.append(f"run #{run.id} ({run.kind}) ended {run.status}: {run.message}")
    return problems


def documents_of(world: World) -> list[int]:
    return sorted(world.documents)


def document_count() -> int:
    return len(db.session.execute(select(Document.id)).scalars().all())
