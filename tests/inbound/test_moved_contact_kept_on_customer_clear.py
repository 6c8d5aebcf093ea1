"""Clear link on a whole customer keeps the link of a contact ConnectWise moved to another company, as the one-contact
Clear link refuses to clear it (657bcc5): without it, linking the customer again to the same company and exporting
created the person again there (ConnectWise then had them twice, same e-mail). The flash says the link was kept and
why. Against the sandbox over HTTP: the move is made with the sandbox's person API and read by the live-update safety
net."""

from __future__ import annotations

from sqlalchemy import select
from test_moved_contact_not_recreated import _dental_with, _moved_in_cw, _run

from colcw_plugin.models import SyncItem, get_link
from colcw_plugin.sync.customers.links import clear_link, relink
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _ivys_in_cw(sandbox) -> list[dict]:
    return [c for c in sandbox.api("GET", "company/contacts", params={"pageSize": 1000}).json()
            if c.get("firstName") == "Ivy"]


def test_a_whole_customer_clear_keeps_a_moved_contacts_link_and_the_export_does_not_create_them_again(
        app, fast_callbacks):
    sandbox = fast_callbacks
    customer, _, ivy_id, ivy_cw = _dental_with(sandbox, "Ridge Dental", "RIDGE1", "303-555-0150", "Ivy", "Stone",
                                               "ridge.example")
    omar_id = db.session.execute(select(Contact.id).where(Contact.customer_id == customer.id,
                                                          Contact.first_name == "Omar")).scalar_one()
    _moved_in_cw(sandbox, ivy_cw, "HARBOR9", "Harbor Clinic", "512-555-0479")  # moved in ConnectWise
    assert _run("cw_reconcile", {"mode": "changes"}).status in ("succeeded", "partly_failed")
    assert get_link(db.session, "contact", ivy_id).status == "missing_in_cw"  # the move noted

    message = clear_link(db.session, db.session.get(Customer, customer.id), actor="riley")
    db.session.commit()
    assert "The ConnectWise link of Ivy Stone was kept: ConnectWise has this person under Harbor Clinic (Company ID " \
           "HARBOR9)" in message, message
    assert get_link(db.session, "customer", customer.id) is None
    assert get_link(db.session, "contact", omar_id) is None  # the others' links are cleared
    kept = get_link(db.session, "contact", ivy_id)
    assert (kept.cw_id, kept.status) == (ivy_cw, "missing_in_cw")

    # Linked again to the same company and exported: ConnectWise still has Ivy once.
    relinked = relink(db.session, runtime().client(db.session), db.session.get(Customer, customer.id), "RIDGE1",
                      actor="riley")
    db.session.commit()
    assert "was kept" in relinked.message, relinked.message
    posts = len([r for r in sandbox.requests() if r["method"] == "POST"])
    run = _run("customer_export", {"customer_id": customer.id})
    assert [r["path"] for r in sandbox.requests() if r["method"] == "POST"][posts:] == []
    item = next(i for i in db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id)).scalars()
                if i.entity == "contact" and i.host_id == ivy_id)
    assert item.action == "failed" and "not created again" in item.message, item.message
    assert len(_ivys_in_cw(sandbox)) == 1
