"""A contact added in ConnectWise after its company was linked, that a live update links to the customer's contact
that is the same person, is compared with no earlier agreement, as a first link of a contact the company held (d6bd746):
with ConnectWise the master its differing values come into the host contact and the note keeps ChannelOnline's. The
link agreed on ConnectWise's values while the host contact kept its own, so the rep's next export read the host's
"Engineer" as the rep's edit and wrote it over ConnectWise's "CTO" (the master's value lost, no note). A blank of
ConnectWise's (typed without an e-mail) erases nothing: the host keeps its e-mail and the export fills it in."""

from __future__ import annotations

from inbound_first_link import messages, run, summit
from inbound_support import edit_host, enable
from sqlalchemy import select
from test_first_contact_link_takes_connectwise import _took_connectwise_cto

from colcw_plugin.models import CW_MASTER, get_link
from colcw_plugin.sync.inbound import LIVE_KIND
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _lucia(customer_id: int) -> Contact:
    db.session.expire_all()
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == "Lucia")).scalar_one()


def _add_lucia_here(customer: Customer) -> None:
    """The rep adds Lucia Park, Engineer, in ChannelOnline (not exported yet)."""
    current = db.session.get(Customer, customer.id)
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}} for c in current.contacts]
    services.save_customer({f: getattr(current, f) for f in services.CUSTOMER_EDITABLE},
                           [*rows, {"first_name": "Lucia", "last_name": "Park", "title": "Engineer",
                                    "email": "lucia@summit.example", "work_phone": "625-555-0109"}],
                           customer_id=customer.id)


def _add_lucia_there(sandbox, company_id: int, *, email: bool = True) -> int:
    """Someone adds Lucia Park, CTO, in ConnectWise (after the link)."""
    items = [{"type": {"name": "Direct"}, "value": "625-555-0109", "defaultFlag": True}]
    if email:
        items.append({"type": {"name": "Email"}, "value": "lucia@summit.example", "defaultFlag": True})
    made = sandbox.api("POST", "company/contacts", json={"firstName": "Lucia", "lastName": "Park", "title": "CTO",
                                                        "company": {"id": company_id}, "communicationItems": items})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_an_added_contact_matched_to_the_same_person_takes_connectwise_the_master(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, company_id, _ = summit(sandbox, admin_client)
    _add_lucia_here(customer)
    lucia_cw = _add_lucia_there(sandbox, company_id)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")

    live = run(LIVE_KIND, {"records": {"contact": [lucia_cw]}})
    assert live.status == "succeeded", live.message
    _took_connectwise_cto(sandbox, customer, live, _lucia(customer.id), lucia_cw, (
        "Lucia Park (Summit Dental Care): added in ConnectWise; linked to the contact with the same e-mail; Title "
        "differs; no earlier agreement: took ConnectWise's “CTO” (the master); ChannelOnline had “Engineer”."),
        "Engineer")


def test_an_added_contact_without_an_e_mail_erases_none_of_the_host_contact(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, company_id, _ = summit(sandbox, admin_client)
    _add_lucia_here(customer)
    lucia_cw = _add_lucia_there(sandbox, company_id, email=False)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")

    live = run(LIVE_KIND, {"records": {"contact": [lucia_cw]}})
    assert live.status == "succeeded", live.message
    lucia = _lucia(customer.id)
    assert (lucia.title, lucia.email) == ("CTO", "lucia@summit.example"), messages(live)
    assert get_link(db.session, "contact", lucia.id).cw_id == lucia_cw

    edit_host(customer.id, {"Lucia": {"work_phone": "625-555-0110"}})  # (the rep's edit: exported too)
    export = run("customer_export", {"customer_id": customer.id})
    assert export.status == "succeeded", export.message
    there = sandbox.api("GET", f"company/contacts/{lucia_cw}").json()
    held = {i["type"]["name"]: i["value"] for i in there.get("communicationItems") or ()}
    assert (there["title"], held.get("Email"), held.get("Direct")) == ("CTO", "lucia@summit.example",
                                                                       "625-555-0110"), messages(export)
