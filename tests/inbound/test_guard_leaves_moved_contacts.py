"""The mass-delete guard counts deletions; a contact moved to another company in ConnectWise is none (it still exists
there: its link keeps pointing at it, remembering where it went). Moving several contacts at once in ConnectWise was
held back as a mass delete ("Deletions held back by the mass-delete guard", the alert on the Connection page, the
contacts' links left as they were), and moves marked in the last ten minutes counted against the next pass's real
deletions. Against the sandbox over HTTP, through the safety net's pass; the counts are the run's message and the
links the database holds."""

from __future__ import annotations

from inbound_support import enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, Link, SyncItem, SyncRun, get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _summit(sandbox) -> dict[str, int]:
    """Summit Dental with three contacts, exported: {first name: ConnectWise contact id}."""
    customer = services.save_customer(
        {"name": "Summit Dental", "account_number": "SUMMIT9", "active": True, "address1": "4 Peak Rd",
         "city": "Denver", "state": "CO", "zip": "80202", "country": "United States", "phone": "303-555-0140",
         "location_code": ""},
        [{"first_name": "Grace", "last_name": "Brown", "email": "grace@summit.example", "is_default": True},
         {"first_name": "Omar", "last_name": "Reyes", "email": "omar@summit.example"},
         {"first_name": "Lena", "last_name": "Hart", "email": "lena@summit.example"}])
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    contacts = db.session.execute(select(Contact).where(Contact.customer_id == customer.id)).scalars()
    return {c.first_name: get_link(db.session, "contact", c.id).cw_id for c in contacts}


def _links(cw_ids) -> list[tuple[str, bool]]:
    db.session.expire_all()
    return [(ln.status, "moved_to" in (ln.synced_values or {})) for ln in db.session.execute(
        select(Link).where(Link.entity == "contact", Link.cw_id.in_(list(cw_ids))).order_by(Link.cw_id)).scalars()]


def test_contacts_moved_to_another_company_are_not_held_back_nor_counted_as_deletions(app, fast_callbacks):
    sandbox = fast_callbacks
    _acme, _company, acme = export_customer(sandbox, account_number="GUARDMV1", name="Guard Move Co")
    summit = _summit(sandbox)  # 5 contact links
    other = sandbox.api("POST", "company/companies", json={
        "identifier": "HARBOR9", "name": "Harbor Clinic", "addressLine1": "9 Dock St", "city": "Austin", "state": "TX",
        "phoneNumber": "512-555-0479"})
    assert other.status_code == 201, other.text
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    get_live(db.session).mass_delete_limit = "2"
    db.session.commit()
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark

    for cw_id in summit.values():  # three people moved at once: no deletion among them
        sandbox.edit_contact(cw_id, {"company": {"id": other.json()["id"]}})
    moved = _run("cw_reconcile", {"mode": "changes"})
    assert "mass-delete guard" not in (moved.message or ""), moved.message
    assert _links(summit.values()) == [("missing_in_cw", True)] * 3  # each marked moved, still linked
    assert get_live(db.session).alert == ""
    said = db.session.execute(select(SyncItem.message).where(SyncItem.run_id == moved.id,
                                                             SyncItem.entity == "contact",
                                                             SyncItem.label.contains("Summit"))).scalars().all()
    assert len(said) == 3 and all("moved in ConnectWise to Harbor Clinic" in m for m in said), said
    assert not [m for m in said if "held back" in m]

    # Two real deletions minutes later: within the limit of 2, the moves in the window not counted with them.
    for cw_id in acme.values():
        sandbox.delete_contact(cw_id)
    deleted = _run("cw_reconcile", {"mode": "deletions"})
    assert "mass-delete guard" not in (deleted.message or ""), deleted.message
    assert _links(acme.values()) == [("missing_in_cw", False)] * 2
    assert get_live(db.session).alert == ""
