"""Convergence: with callbacks dropped, duplicated and reordered while many records change in ConnectWise,
one safety-net pass leaves the host agreeing with ConnectWise on every mapped field of every linked record.

Sized for CI: 200 companies, 500 contacts and 100 opportunities changed by a person in ConnectWise,
30 % of the callbacks dropped, 10 % duplicated, the rest held up to half a second (reordered).
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from inbound_support import enable, settle
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, DocumentDrift, Link, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.shared import fields as M
from colcw_plugin.sync.shared.statuses import status_kind
from helpers import runtime, tune_runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer, DocumentExternalStatus

pytestmark = pytest.mark.slow
COMPANIES, CONTACTS, OPPORTUNITIES = 200, 500, 100


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _all(sandbox, path: str, **params) -> list[dict]:
    out, page = [], 1
    while True:
        rows = sandbox.api("GET", path, params={"pageSize": 1000, "page": page, **params}).json()
        out += rows
        if len(rows) < 1000:
            return out
        page += 1


def _differences(sandbox) -> list[str]:
    """Every mapped field of every linked record on which the host and ConnectWise disagree."""
    db.session.expire_all()
    links = {(ln.entity, ln.cw_id): ln.host_id for ln in db.session.execute(select(Link)).scalars()}
    out = []
    for company in _all(sandbox, "company/companies"):
        host_id = links.get(("customer", company["id"]))
        if host_id is None:
            continue
        host = M.customer_values(db.session.get(Customer, host_id))
        cw = M.company_host_values(company)
        M.keep_default_site_name(cw, host)
        out += [f"company {company['id']} {k}: host {host[k]!r} cw {v!r}" for k, v in cw.items() if host[k] != v]
    for contact in _all(sandbox, "company/contacts"):
        host_id = links.get(("contact", contact["id"]))
        if host_id is None:
            continue
        host = M.contact_values(db.session.get(Contact, host_id))
        cw = M.contact_host_values(contact, None)
        out += [f"contact {contact['id']} {k}: host {host[k]!r} cw {v!r}" for k, v in cw.items()
                if k != "is_default" and host[k] != v]
    statuses = {s["id"]: s for s in sandbox.api("GET", "sales/opportunities/statuses").json()}
    products = Counter((p["opportunity"]["id"], p["quantity"]) for p in _all(sandbox, "procurement/products"))
    for opp in _all(sandbox, "sales/opportunities"):
        host_id = links.get(("document", opp["id"]))
        if host_id is None:
            continue
        kind = status_kind(statuses[opp["status"]["id"]])
        shown = db.session.execute(select(DocumentExternalStatus.status).where(
            DocumentExternalStatus.document_id == host_id)).scalar()
        if (shown or "open") != kind:
            out.append(f"opportunity {opp['id']}: ConnectWise {kind}, host shows {shown}")
        drift = db.session.execute(select(DocumentDrift).where(DocumentDrift.document_id == host_id)).scalar()
        changed = [p for (o, q), n in products.items() if o == opp["id"] and q != 1.0 for p in range(n)]
        seen = [c for c in (drift.changes if drift else []) if c["field"] == "quantity"]
        if len(changed) != len(seen):
            out.append(f"opportunity {opp['id']}: {len(changed)} lines changed in ConnectWise, host shows {len(seen)}")
    return out


def test_one_safety_net_pass_after_lost_duplicated_and_reordered_callbacks_leaves_zero_differences(
        app, world, live_server, worker_thread, monkeypatch):
    sandbox = world.sandbox
    tune_runtime(monkeypatch, app, concurrency=4)
    sandbox.generate(COMPANIES, CONTACTS / COMPANIES)
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    linked = db.session.execute(select(Customer).where(Customer.account_number.like("GEN%"))
                                .order_by(Customer.id)).scalars().all()
    n_contacts = sum(len(c.contacts) for c in linked)
    assert len(linked) == COMPANIES and n_contacts >= CONTACTS
    docs = [world.quote([{"item_number": "OPT-7010", "quantity": 1, "price": 100, "cost": 60, "manufacturer": "Dell",
                          "category": "Hardware", "subcategory": "Desktops", "product_type": "Product"}],
                        name=f"Deal {i}") for i in range(OPPORTUNITIES // 2)]
    for i, customer in enumerate(linked[:OPPORTUNITIES - len(docs)]):
        contact = customer.contacts[0]
        docs.append(services.save_document({"customer_id": customer.id, "contact_id": contact.id},
                                           [{"item_number": "OPT-7010", "quantity": 1, "price": 100}],
                                           custom_fields={world.field_id: f"Customer deal {i}"}))
    exported = _run("quote_export", {"document_ids": [d.id for d in docs]})
    assert exported.status == "succeeded", exported.message
    opportunities = [o for o in _all(sandbox, "sales/opportunities")]
    assert len(opportunities) == OPPORTUNITIES

    enable(live_server.url, CW_MASTER)
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the watermark
    settle(sandbox)
    sandbox.clear_deliveries()
    sandbox.add_callback_fault("drop", fraction=0.3)
    sandbox.add_callback_fault("duplicate", fraction=0.1)
    sandbox.add_callback_fault("reorder", window_seconds=0.5)
    rng = random.Random(13)
    statuses = ["Won", "Lost", "No Decision"]
    companies = [c for c in _all(sandbox, "company/companies") if c["identifier"].startswith("GEN")]
    for n, company in enumerate(companies):
        sandbox.edit_company(company["id"], {"city": f"Town {n}", "phoneNumber": f"555-777-{n:04d}",
                                             "addressLine2": None if n % 3 else f"Suite {n}"})
    contacts = [c for c in _all(sandbox, "company/contacts") if c["company"]["identifier"].startswith("GEN")]
    for n, contact in enumerate(contacts[:CONTACTS]):
        sandbox.edit_contact(contact["id"], {"title": f"Title {n}", "lastName": f"Renamed {n}"})
    products = _all(sandbox, "procurement/products")
    for n, opp in enumerate(opportunities):
        sandbox.set_opportunity_status(opp["id"], rng.choice(statuses))
        if n % 4 == 0:
            mine = next(p for p in products if p["opportunity"]["id"] == opp["id"])
            sandbox.edit_product(mine["id"], {"quantity": 2 + n % 5})
    settle(sandbox, timeout=300)  # (the claim is convergence, not speed: a loaded machine takes its time)
    log = sandbox.deliveries()
    states = Counter(d["state"] for d in log)
    assert states["dropped"] > 0.2 * len(log) and any("duplicate" in d["faults"] for d in log)
    before = _differences(sandbox)
    records = {" ".join(d.split()[:2]) for d in before}
    changed = COMPANIES + CONTACTS + OPPORTUNITIES
    print(f"before the safety net: {len(before)} differences on {len(records)} of {changed} changed records; "
          f"deliveries {dict(states)}")
    # The callbacks that arrived were taken (most records agree already); the dropped ones were not.
    assert 0.1 * changed < len(records) < 0.6 * changed

    net = _run("cw_reconcile", {"mode": "changes"})
    assert net.status == "succeeded", net.message
    assert _differences(sandbox) == []
    # No duplicate record on either side.
    assert len(_all(sandbox, "company/companies")) == COMPANIES + 1
    assert len(_all(sandbox, "company/contacts")) == n_contacts + 1
    assert len(_all(sandbox, "sales/opportunities")) == OPPORTUNITIES
    assert db.session.query(Customer).count() == COMPANIES + 1
    assert db.session.query(Contact).count() == n_contacts + 1
