"""A contact added in ConnectWise without an e-mail, who is the customer's contact of that name not linked yet, is
linked to that contact by a live update, not created a second time: live updates use the import's and the export's
one rule for the same person (SamePerson: the same e-mail or, when one has none, the same name, accents aside). They
matched by e-mail only, so "Lucas O'Brien" typed in ConnectWise without his e-mail became a second Lucas O'Brien in
ChannelOnline."""

from __future__ import annotations

from inbound_support import enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, Link, SyncItem, SyncRun
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def test_a_contact_added_in_connectwise_without_an_e_mail_links_the_same_named_contact(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox)
    # The rep adds Lucas (with his e-mail) in ChannelOnline; someone types him in ConnectWise, without it.
    current = db.session.get(Customer, customer.id)
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}} for c in current.contacts]
    services.save_customer({f: getattr(current, f) for f in services.CUSTOMER_EDITABLE},
                           [*rows, {"first_name": "Lucas", "last_name": "O'Brien", "email": "lucas@acme.example"}],
                           customer_id=customer.id)
    lucas = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                     Contact.first_name == "Lucas")).scalar_one()
    typed = sandbox.api("POST", "company/contacts", json={"firstName": "Lucas", "lastName": "O’Brien",
                                                         "company": {"id": company}})
    assert typed.status_code == 201, typed.text
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    record_hint(db.session, Hint("contact", typed.json()["id"], "added"))
    run = _run("cw_live_update", {"wave": "lucas"})
    assert run.status == "succeeded", run.message

    db.session.expire_all()
    people = db.session.execute(select(Contact.first_name, Contact.last_name, Contact.email).where(
        Contact.customer_id == customer.id).order_by(Contact.id)).all()
    # (ConnectWise the master: its spelling of the name is taken, as for any first link with no earlier agreement; its
    # blank e-mail erases nothing)
    assert [p for p in people if p.first_name == "Lucas"] == [("Lucas", "O’Brien", "lucas@acme.example")]
    link = db.session.execute(select(Link).where(Link.entity == "contact", Link.host_id == lucas.id)).scalar_one()
    assert link.cw_id == typed.json()["id"]
    message = db.session.execute(select(SyncItem.message).where(SyncItem.run_id == run.id,
                                                                SyncItem.cw_id == link.cw_id)).scalar_one()
    assert message.endswith("linked to the contact with the same name (one of them has no e-mail); Last Name differs; "
                            "no earlier agreement: took ConnectWise's “O’Brien” (the master); ChannelOnline had "
                            "“O'Brien”."), message
