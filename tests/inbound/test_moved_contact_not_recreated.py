"""A contact moved to another company in ConnectWise is a move, not a deletion, and never makes a second ConnectWise
contact of the person. QA's sequence: PATCH the contact's company to another company linked to a customer; the live
update said "deleted", an import of the other company made a second ChannelOnline contact and took the link, and the
next export of the first customer POSTed the person again (ConnectWise then had them twice, same e-mail). Now the live
update says where ConnectWise has them and keeps the link; the import makes no second contact; the export refuses,
naming where ConnectWise has them. Likewise when the other company is linked to no customer."""

from __future__ import annotations

from inbound_support import enable, export_customer, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, Link, RepMapping, SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer, StoreSite


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _items(run: SyncRun) -> list[SyncItem]:
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id)).scalars())


def _graces_in_cw(sandbox) -> list[dict]:
    return [c for c in sandbox.api("GET", "company/contacts", params={"pageSize": 1000}).json()
            if c.get("firstName") == "Grace"]


def _graces_here() -> list[tuple[int, int]]:
    db.session.expire_all()
    return [(c.id, c.customer_id) for c in db.session.execute(select(Contact).where(Contact.first_name == "Grace"))
            .scalars()]


def _dental_with(sandbox, name: str, account_number: str, phone: str, first_name: str, last_name: str,
                 domain: str) -> tuple[Customer, int, int, int]:
    """A Denver dental customer with ``first_name`` (its default contact) and Omar Reyes, their e-mails at
    ``domain``, exported: (customer, company, the default contact's host id, their ConnectWise id)."""
    if not db.session.execute(select(RepMapping)).first():  # (as export_customer maps the store's rep)
        member = next(m for m in sandbox.api("GET", "system/members").json() if m["identifier"] == "admin1")
        store = db.session.execute(select(StoreSite)).scalars().first()
        db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
        db.session.commit()
    customer = services.save_customer(
        {"name": name, "account_number": account_number, "active": True, "address1": "4 Peak Rd",
         "city": "Denver", "state": "CO", "zip": "80202", "country": "United States", "phone": phone,
         "location_code": ""},
        [{"first_name": first_name, "last_name": last_name, "email": f"{first_name.lower()}@{domain}",
          "is_default": True},
         {"first_name": "Omar", "last_name": "Reyes", "email": f"omar@{domain}"}])
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    person = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                      Contact.first_name == first_name)).scalar_one()
    return customer, get_link(db.session, "customer", customer.id).cw_id, person.id, \
        get_link(db.session, "contact", person.id).cw_id


def _summit_with_grace(sandbox) -> tuple[Customer, int, int, int]:
    """Summit Dental with Grace Brown (its default contact), exported: (customer, company, Grace's host id, her
    ConnectWise id)."""
    return _dental_with(sandbox, "Summit Dental", "SUMMIT1", "303-555-0140", "Grace", "Brown", "summit.example")


def _moved_in_cw(sandbox, contact_cw: int, identifier: str, name: str, phone: str) -> int:
    """A company ``identifier`` made in ConnectWise, live updates on (ConnectWise the master, the callbacks going
    nowhere) and a first safety-net pass to set the watermark, then the contact ``contact_cw`` moved there in
    ConnectWise (not read yet); the new company's id."""
    other = sandbox.api("POST", "company/companies", json={
        "identifier": identifier, "name": name, "addressLine1": "9 Dock St", "city": "Austin", "state": "TX",
        "phoneNumber": phone})
    assert other.status_code == 201, other.text
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    sandbox.edit_contact(contact_cw, {"company": {"id": other.json()["id"]}})
    return other.json()["id"]


def _export_refuses(sandbox, summit: Customer, grace_id: int, where: str) -> None:
    posts = len([r for r in sandbox.requests() if r["method"] == "POST"])
    run = _run("customer_export", {"customer_id": summit.id})
    assert [r["path"] for r in sandbox.requests() if r["method"] == "POST"][posts:] == []
    item = next(i for i in _items(run) if i.entity == "contact" and i.host_id == grace_id)
    assert item.action == "failed"
    assert f"ConnectWise has this person under {where}" in item.message, item.message
    assert "not created again" in item.message
    assert len(_graces_in_cw(sandbox)) == 1


def test_moved_to_a_company_linked_to_a_customer(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    northwind, north_company, _ = export_customer(sandbox, name="Northwind Dental", account_number="NORTH1")
    summit, _summit_company, grace_id, grace_cw = _summit_with_grace(sandbox)
    enable(live_server.url, CW_MASTER)
    settle(sandbox)

    sandbox.edit_contact(grace_cw, {"company": {"id": north_company}})
    wait_for(lambda: get_link(db.session, "contact", grace_id).status == "missing_in_cw", what="the move to be read")
    settle(sandbox)
    link = get_link(db.session, "contact", grace_id)
    assert link.cw_id == grace_cw  # still linked to her
    said = [i for i in run_items("cw_live_update") if i.host_id == grace_id]
    assert said and "moved in ConnectWise to Northwind Dental (Company ID NORTH1)" in said[-1].message, said
    assert "linked to the ChannelOnline customer Northwind Dental (NORTH1)" in said[-1].message
    assert "deleted" not in said[-1].message.split(";")[0]
    assert _graces_here() == [(grace_id, summit.id)]

    # An import of Northwind makes no second Grace in ChannelOnline and leaves her link where it is.
    run = _run("customer_import", {"company": "NORTH1"})
    assert run.status in ("succeeded", "partly_failed"), run.message
    assert _graces_here() == [(grace_id, summit.id)]
    assert db.session.execute(select(Link.host_id).where(Link.entity == "contact", Link.cw_id == grace_cw)) \
        .scalars().all() == [grace_id]
    moved = next(i for i in _items(run) if i.cw_id == grace_cw and i.entity == "contact")
    assert "Not created a second time" in moved.message, moved.message

    # The export of Summit Dental does not create her again in ConnectWise.
    _export_refuses(sandbox, summit, grace_id, "Northwind Dental (Company ID NORTH1)")
    assert northwind.id != summit.id


def test_moved_to_a_company_linked_to_no_customer(app, fast_callbacks):
    sandbox = fast_callbacks
    summit, _summit_company, grace_id, grace_cw = _summit_with_grace(sandbox)
    _moved_in_cw(sandbox, grace_cw, "HARBOR1", "Harbor Clinic", "512-555-0477")

    run = _run("cw_reconcile", {"mode": "changes"})  # the safety net
    assert run.status in ("succeeded", "partly_failed"), run.message
    link = get_link(db.session, "contact", grace_id)
    assert (link.cw_id, link.status) == (grace_cw, "missing_in_cw")
    said = next(i for i in _items(run) if i.host_id == grace_id and i.entity == "contact")
    assert "moved in ConnectWise to Harbor Clinic (Company ID HARBOR1)" in said.message, said.message
    assert "linked to no ChannelOnline customer" in said.message
    _export_refuses(sandbox, summit, grace_id, "Harbor Clinic (Company ID HARBOR1)")

    # Importing that company (a new customer) makes no second Grace, and the export still refuses.
    assert _run("customer_import", {"company": "HARBOR1"}).status in ("succeeded", "partly_failed")
    assert _graces_here() == [(grace_id, summit.id)]
    _export_refuses(sandbox, summit, grace_id, "Harbor Clinic (Company ID HARBOR1)")


def test_moved_back_the_link_is_restored(app, fast_callbacks):
    sandbox = fast_callbacks
    summit, summit_company, grace_id, grace_cw = _summit_with_grace(sandbox)
    _moved_in_cw(sandbox, grace_cw, "HARBOR2", "Harbor Annex", "512-555-0478")
    _run("cw_reconcile", {"mode": "changes"})
    assert get_link(db.session, "contact", grace_id).status == "missing_in_cw"
    sandbox.edit_contact(grace_cw, {"company": {"id": summit_company}})  # the move was a mistake
    _run("cw_reconcile", {"mode": "changes"})
    db.session.expire_all()
    link = get_link(db.session, "contact", grace_id)
    assert (link.cw_id, link.status) == (grace_cw, "ok")
    assert "moved_to" not in (link.synced_values or {})
    posts = len([r for r in sandbox.requests() if r["method"] == "POST"])
    assert _run("customer_export", {"customer_id": summit.id}).status == "succeeded"
    assert [r for r in sandbox.requests() if r["method"] == "POST"][posts:] == []
    assert len(_graces_in_cw(sandbox)) == 1
