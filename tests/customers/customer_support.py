"""Helpers for the customer sync tests: run a job through the engine, read results and ConnectWise."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from html import unescape

from sqlalchemy import select, text

from colcw_plugin.models import SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.services import save_customer

CUSTOMER = {"name": "Acme Corp", "account_number": "ACME1", "active": True, "address1": "1 Main St",
            "address2": "", "city": "Austin", "state": "TX", "zip": "73301", "country": "United States",
            "website": "https://acme.example", "phone": "512-555-0100", "fax": "512-555-0101",
            "location_code": ""}
CONTACTS = [
    {"first_name": "Ada", "last_name": "Lovelace", "title": "CFO", "email": "ada@acme.example",
     "work_phone": "512-555-0110", "mobile_phone": "512-555-0111", "home_phone": "512-555-0112",
     "other_phone": "512-555-0113", "is_default": True, "city": "Austin", "state": "TX"},
    {"first_name": "Charles", "last_name": "Babbage", "title": "CTO", "email": "charles@acme.example",
     "work_phone": "512-555-0120", "is_default": False},
]


def make_customer(contacts=None, **fields):
    """A host customer (committed, no event) with the given fields over :data:`CUSTOMER`."""
    return save_customer({**CUSTOMER, **fields}, CONTACTS if contacts is None else contacts)


@contextlib.contextmanager
def refused_inserts(table: str, column: str, value: str) -> Iterator[None]:
    """PostgreSQL refuses to insert a row of ``table`` whose ``column`` is ``value`` (a trigger raising, as a clash
    with another writer would raise inside the database), for as long as the block runs."""
    db.session.execute(text(f"""
        CREATE OR REPLACE FUNCTION refuse_a_row() RETURNS trigger AS $$
        BEGIN IF NEW.{column} = '{value}' THEN RAISE EXCEPTION 'refused by a test'; END IF; RETURN NEW; END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_a_row BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_a_row();"""))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text(f"DROP TRIGGER refuse_a_row ON {table}; DROP FUNCTION refuse_a_row();"))
        db.session.commit()


def run(kind: str, params: dict, actor: dict | None = None) -> SyncRun:
    """Create and execute a run as the web request does; returns the finished run."""
    job = create_run(db.session, runtime().kinds, kind, params, trigger="manual", actor=actor)
    db.session.commit()
    return runtime().execute(db.session, job.id)


def export(customer_id: int, actor: dict | None = None) -> SyncRun:
    return run("customer_export", {"customer_id": customer_id}, actor)


def items(run_: SyncRun, entity: str | None = None) -> list[SyncItem]:
    stmt = select(SyncItem).where(SyncItem.run_id == run_.id).order_by(SyncItem.id)
    if entity:
        stmt = stmt.where(SyncItem.entity == entity)
    return list(db.session.execute(stmt).scalars())


def actions(run_: SyncRun, entity: str = "customer") -> list[str]:
    return [i.action for i in items(run_, entity)]


def company(sandbox, company_id: int) -> dict:
    """What ConnectWise holds for a company."""
    resp = sandbox.api("GET", f"company/companies/{company_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def companies(sandbox, **params) -> list[dict]:
    return sandbox.api("GET", "company/companies", params={"pageSize": 1000, **params}).json()


def contacts_of(sandbox, company_id: int) -> list[dict]:
    return sandbox.api("GET", "company/contacts",
                       params={"conditions": f"company/id = {company_id}", "pageSize": 1000}).json()


def comm(contact: dict, type_name: str) -> str | None:
    return next((i["value"] for i in contact.get("communicationItems", []) if i["type"]["name"] == type_name), None)


def link_of(entity: str, host_id: int):
    db.session.expire_all()
    return get_link(db.session, entity, host_id)


def update_customer(customer_id: int, **fields):
    """Edit a customer as the host's form does (every field sent), no event."""
    from host_stub.models import Customer
    from host_stub.services import CUSTOMER_EDITABLE

    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in CUSTOMER_EDITABLE}
    return save_customer({**data, **fields}, customer_id=customer_id)


def solo_not_attempted_duo_exported(sandbox, monkeypatch, app) -> SyncRun:
    """An export of all customers, one at a time with no second try, whose first company create (Solo Co, without
    contacts) is answered 500: Solo Co ends "not attempted", Duo Co goes through with its two contacts."""
    from helpers import tune_runtime

    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(), unreachable_after=0, concurrency=1)
    make_customer(contacts=[], name="Solo Co", account_number="SOLO1")
    make_customer(name="Duo Co", account_number="DUO1")
    sandbox.add_fault(status=500, method="POST", path="company/companies$", count=1)
    first = run("customer_export", {"all": True})
    assert first.status == "partial", first.message
    return first


def import_popup(rep_client, **data):
    """A POST of the Import From ConnectWise popup's form, as htmx sends it (its answer is the form again)."""
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    return rep_client.post("/colcw/import", data={"csrf_token": token, **data}, headers={"HX-Request": "true"})


def text_of(resp) -> str:
    """A response's text, unescaped, its white space collapsed."""
    return " ".join(unescape(resp.get_data(as_text=True)).split())


def acme_with_a_bare_ada(sandbox) -> int:
    """ACME1 in ConnectWise as the host's ``make_customer()`` has it, with Ada Lovelace typed there with her e-mail and
    another direct phone, but no title, no other phone and no address (linked to nothing); Ada's ConnectWise id."""
    made = sandbox.api("POST", "company/companies", json={
        "identifier": "ACME1", "name": "Acme Corp", "addressLine1": "1 Main St", "city": "Austin", "state": "TX",
        "zip": "73301", "country": {"name": "United States"}, "website": "https://acme.example",
        "phoneNumber": "512-555-0100", "faxNumber": "512-555-0101"})
    assert made.status_code == 201, made.text
    ada = sandbox.api("POST", "company/contacts", json={
        "firstName": "Ada", "lastName": "Lovelace", "company": {"id": made.json()["id"]},
        "communicationItems": [{"type": {"name": "Email"}, "value": "ada@acme.example", "defaultFlag": True},
                               {"type": {"name": "Direct"}, "value": "512-555-0777", "defaultFlag": True}]})
    assert ada.status_code == 201, ada.text
    return ada.json()["id"]
