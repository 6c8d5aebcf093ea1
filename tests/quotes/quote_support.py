"""Helpers for the quote export tests: a host customer linked to a ConnectWise company and contact,
mapped reps and product types, catalog items, and helpers to export and read ConnectWise."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from colcw_plugin import models as links
from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import map_for_export, runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document


@dataclass
class QuoteWorld:
    sandbox: object
    box: object
    customer_id: int
    contact_id: int
    company_id: int
    cw_contact_id: int
    member_id: int
    field_id: int
    catalog: dict  # identifier -> catalog item id

    # -- host side -------------------------------------------------------------------------
    def quote(self, lines: list[dict], *, name: str | None = "Network refresh", doc_type: str = "quote",
              follow_up: str | None = None) -> Document:
        header = {"customer_id": self.customer_id, "contact_id": self.contact_id, "follow_up_date": follow_up}
        fields = {self.field_id: name} if name is not None else {}
        return services.save_document(header, lines, doc_type=doc_type, custom_fields=fields)

    def edit(self, doc: Document, lines: list[dict], **header) -> Document:
        services.set_locked(doc.id, False)
        return services.save_document(header, lines, document_id=doc.id)

    # -- running ---------------------------------------------------------------------------
    def export(self, params: dict | int, actor: dict | None = None) -> SyncRun:
        if isinstance(params, int):
            params = {"document_id": params}
        run = create_run(db.session, runtime().kinds, "quote_export", params, actor=actor)
        db.session.commit()
        return runtime().execute(db.session, run.id)

    # -- ConnectWise side ------------------------------------------------------------------
    def api(self, path: str, **params) -> list | dict:
        params.setdefault("pageSize", 1000)
        resp = self.sandbox.api("GET", path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def opportunities(self) -> list[dict]:
        return self.api("sales/opportunities", conditions=f"company/id={self.company_id}")

    def products(self, opportunity_id: int) -> list[dict]:
        # As the opportunity lists them: by sequence number (its lines are written side by side, so
        # their ids need not follow the lines).
        return self.api("procurement/products", conditions=f"opportunity/id={opportunity_id}",
                        orderBy="sequenceNumber asc, id asc")

    def status_of(self, opportunity_id: int) -> dict:
        opp = self.api(f"sales/opportunities/{opportunity_id}")
        return next(s for s in self.api("sales/opportunities/statuses") if s["id"] == opp["status"]["id"])


def items(run: SyncRun, entity: str = "document") -> list[SyncItem]:
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == entity)
                                   .order_by(SyncItem.id)).scalars())


def line(item: str, qty=1, price=100, cost=60, **kw) -> dict:
    data = {"item_number": item, "quantity": qty, "price": price, "cost": cost, "manufacturer": "Dell",
            "description": f"{item} description", "category": "Hardware", "subcategory": "Desktops",
            "product_type": "Product"}
    data.update(kw)
    return data


def lines_of(doc: Document) -> list[dict]:
    """The document's current lines as form data that keeps their ids."""
    return [{"id": ln.id, "item_number": ln.item_number, "quantity": ln.quantity, "price": ln.price, "cost": ln.cost,
             "manufacturer": ln.manufacturer, "description": ln.description, "category": ln.category,
             "subcategory": ln.subcategory, "product_type": ln.product_type} for ln in doc.lines]


def _post(sandbox, path: str, body: dict) -> dict:
    resp = sandbox.api("POST", path, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def make_world(sandbox, box, *, catalog: tuple[str, ...] = ("OPT-7010", "LAT-5440", "PWR-R550")) -> QuoteWorld:
    """Link a host customer + contact to a new ConnectWise company + contact, map the default rep and
    the product types, put ``catalog`` items in the ConnectWise catalog."""
    company = _post(sandbox, "company/companies", {"identifier": "ACME01", "name": "Acme Dental",
                                                   "addressLine1": "1 Main St", "city": "Austin", "state": "TX"})
    contact = _post(sandbox, "company/contacts", {"firstName": "Maria", "lastName": "Smith",
                                                  "company": {"id": company["id"]}})
    customer = services.save_customer({"account_number": "ACME01", "name": "Acme Dental"},
                                      [{"first_name": "Maria", "last_name": "Smith", "is_default": True}])
    links.set_link(db.session, "customer", customer.id, company["id"], cw_identifier="ACME01")
    links.set_link(db.session, "contact", customer.contacts[0].id, contact["id"])
    types, member_id, field_id = map_for_export(sandbox)
    db.session.commit()
    sub = next(s for s in sandbox.api("GET", "procurement/subcategories/", params={"pageSize": 1000}).json()
               if s["name"] == "Desktops")
    dell = sandbox.api("GET", "procurement/manufacturers", params={"conditions": 'name="Dell"'}).json()[0]
    ids = {}
    for ident in catalog:
        ids[ident] = _post(sandbox, "procurement/catalog", {
            "identifier": ident, "description": f"{ident} catalog", "customerDescription": f"{ident} catalog",
            "subcategory": {"id": sub["id"]}, "type": {"id": types["Hardware"]}, "manufacturer": {"id": dell["id"]},
            "price": 1.0, "cost": 0.5})["id"]
    return QuoteWorld(sandbox, box, customer.id, customer.contacts[0].id, company["id"], contact["id"],
                      member_id, field_id, ids)


def wait_until(predicate, timeout: float, message: str):
    """``predicate()``'s first truthy value within ``timeout`` seconds (asked every 0.1 s), else a failure naming
    ``message``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def checklist_answered(page) -> None:
    """Wait for the export page's checklist to show ConnectWise's answers: a browser gets the page at once and its
    ConnectWise part after it (the section htmx swaps in asks for nothing more)."""
    page.locator("#colcw-checklist:not([hx-get])").wait_for()
    # htmx keeps the rows' old class ("checking", by their ids) for its settle delay after the swap: wait it out.
    page.wait_for_function("() => !document.querySelector('#colcw-checklist tr.checking')")


def fresh(run_id: int) -> SyncRun:
    """The run as the database holds it now."""
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def cancel_and_wait_for_end(run_id: int, actor: dict, *, within: float = 10) -> SyncRun:
    """Ask the running run to stop, as Cancel on its page does, and the run once it has ended; it must end within
    ``within`` seconds of the request."""
    from colcw_plugin.sync.jobs import recovery

    asked = time.monotonic()
    assert recovery.cancel(db.session, runtime().queue, run_id, actor=actor).status == "cancelling"
    done = wait_until(lambda: fresh(run_id).status not in ("running", "cancelling") and fresh(run_id),
                      timeout=20, message="the run to stop waiting and end")
    assert time.monotonic() - asked < within
    return done


def opportunity_status(world, flag: str) -> dict:
    statuses = world.api("sales/opportunities/statuses")
    if flag == "open":
        return next(s for s in statuses if not (s["closedFlag"] or s["wonFlag"] or s["lostFlag"]))
    return next(s for s in statuses if s[flag])


def make_opportunity(world, name: str, *, status: str = "open", close: str = "2026-12-31",
                     lines: tuple[tuple[str, float, float], ...] = ()) -> dict:
    resp = world.sandbox.api("POST", "sales/opportunities", json={
        "name": name, "company": {"id": world.company_id}, "contact": {"id": world.cw_contact_id},
        "primarySalesRep": {"id": world.member_id}, "status": {"id": opportunity_status(world, status)["id"]},
        "expectedCloseDate": f"{close}T00:00:00Z"})
    assert resp.status_code == 201, resp.text
    opp = resp.json()
    for ident, qty, price in lines:
        r = world.sandbox.api("POST", "procurement/products", json={
            "catalogItem": {"id": world.catalog[ident]}, "opportunity": {"id": opp["id"]}, "quantity": qty,
            "price": price, "billableOption": "Billable", "customerDescription": ident})
        assert r.status_code == 201, r.text
    return opp
