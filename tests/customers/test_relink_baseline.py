"""After Link to Company ID, only what changes in ConnectWise afterwards comes back (F2): the link records
ConnectWise's values at that moment as what both sides agreed on, so the customer's own differing fields count as
changed in ChannelOnline (the next export sends them) and a live update for an unrelated edit takes that edit
alone. With ConnectWise as the master for customer data, as the demo has it."""

from __future__ import annotations

from customer_support import company, contacts_of, export, link_of, make_customer, run
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Contact, Customer

ADA = {"first_name": "Ada", "last_name": "Lovelace", "title": "CFO", "email": "ada@bayview.example",
       "work_phone": "206-555-0110", "is_default": True}


def _cw_master() -> None:
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()


def _linked_to_celeste(sandbox, client) -> tuple[Customer, dict, dict]:
    """Bayview Dental linked (confirmed) to ConnectWise company CW0005, "Céleste Boutique", which has a contact
    with Ada's e-mail."""
    _cw_master()
    customer = make_customer(name="Bayview Dental", account_number="DEMO00017", city="Seattle", state="WA",
                             zip="98101", phone="206-555-0117", contacts=[ADA])
    celeste = sandbox.api("POST", "company/companies", json={
        "identifier": "CW0005", "name": "Céleste Boutique", "addressLine1": "5 Rue Main", "city": "Austin",
        "state": "TX", "zip": "73301", "phoneNumber": "512-555-0005"}).json()
    ada = sandbox.api("POST", "company/contacts", json={
        "firstName": "Ada", "lastName": "Byron", "title": "Owner", "company": {"id": celeste["id"]},
        "communicationItems": [{"type": {"name": "Email"}, "value": "ada@bayview.example", "defaultFlag": True}],
    }).json()
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    resp = client.post(f"/colcw/customers/{customer.id}/relink",
                       data={"company": "CW0005", "confirm": str(celeste["id"]), "csrf_token": token})
    assert resp.status_code == 302
    return customer, celeste, ada


def _live_update(**records) -> None:
    run(LIVE_KIND, {"records": records})
    db.session.expire_all()


def test_a_live_update_after_a_link_takes_only_what_changed_in_connectwise(sync_ready, rep_client):
    customer, celeste, _ = _linked_to_celeste(sync_ready, rep_client)
    sync_ready.edit_company(celeste["id"], {"phoneNumber": "512-555-0999"})  # only the phone, in ConnectWise
    _live_update(company=[celeste["id"]])
    fresh = db.session.get(Customer, customer.id)
    assert (fresh.name, fresh.account_number, fresh.city, fresh.state, fresh.zip) == (
        "Bayview Dental", "DEMO00017", "Seattle", "WA", "98101")
    assert fresh.phone == "512-555-0999"  # the one change made in ConnectWise after the link came back
    # The next export sends the customer's own fields, as the Link message said, and keeps that phone.
    export(customer.id)
    cw = company(sync_ready, celeste["id"])
    assert (cw["name"], cw["identifier"], cw["city"], cw["phoneNumber"]) == (
        "Bayview Dental", "DEMO00017", "Seattle", "512-555-0999")


def test_the_link_agrees_on_connectwises_values_at_link_time(sync_ready, rep_client):
    customer, celeste, _ = _linked_to_celeste(sync_ready, rep_client)
    agreed = link_of("customer", customer.id).synced_values
    assert (agreed["name"], agreed["account_number"], agreed["city"]) == ("Céleste Boutique", "CW0005", "Austin")


def test_contacts_of_the_new_company_are_linked_with_no_earlier_agreement(sync_ready, rep_client):
    customer, celeste, ada = _linked_to_celeste(sync_ready, rep_client)
    # ConnectWise's Ada (same e-mail) is edited in ConnectWise before any export. Her first link has no earlier
    # agreement (whether ConnectWise dates her in the link's second or before it): ConnectWise the master, its values
    # come into the host's Ada (the notes keep ChannelOnline's), and the export finds her up to date.
    sync_ready.edit_contact(ada["id"], {"title": "Owner and founder"})
    _live_update(contact=[ada["id"]])
    host_ada = db.session.execute(select(Contact).where(Contact.customer_id == customer.id)).scalar_one()
    assert (host_ada.last_name, host_ada.title) == ("Byron", "Owner and founder")
    assert link_of("contact", host_ada.id).cw_id == ada["id"]
    # A later edit in ConnectWise comes back.
    sync_ready.edit_contact(ada["id"], {"lastName": "King"})
    _live_update(contact=[ada["id"]])
    db.session.refresh(host_ada)
    assert (host_ada.last_name, host_ada.title) == ("King", "Owner and founder")
    # The export writes none of ChannelOnline's old values back over ConnectWise's.
    export(customer.id)
    cw_ada = next(c for c in contacts_of(sync_ready, celeste["id"]) if c["id"] == ada["id"])
    assert (cw_ada["lastName"], cw_ada["title"]) == ("King", "Owner and founder")


def test_after_a_link_the_customer_is_linked_not_synced_yet_and_not_said_synced(sync_ready, rep_client):
    import re

    from htmx_loads import loaded

    customer, _, _ = _linked_to_celeste(sync_ready, rep_client)
    page = loaded(rep_client, f"/customers/{customer.id}")
    status = page[page.index('id="colcw-link-status"'):]
    status = status[:status.index("</p>")]
    assert "not synced since" in status and "last synced" not in status, status
    # One state, as All Customers says it: its own fields are not in ConnectWise yet, which the export sends.
    assert '<span class="badge" id="colcw-not-synced">Linked, not synced yet</span>' in status, status
    assert "differ from ConnectWise" in status and 'id="colcw-changed"' not in status, status
    # All Customers' state cell of that row (not the filter's options, which always name every state).
    row = re.search(rf'<tr data-row="{customer.id}">(.*?)</tr>', loaded(rep_client, "/customers/"), re.S).group(1)
    cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="[^"]*">([^<]*)</span>', row)
    assert cell.group(1) == "Linked, not synced yet"
    export(customer.id)
    page = loaded(rep_client, f"/customers/{customer.id}")
    status = page[page.index('id="colcw-link-status"'):]
    assert "last synced" in status[:status.index("</p>")] and 'id="colcw-changed"' not in status[:status.index("</p>")]


def test_an_unchanged_import_moves_last_synced(sync_ready, rep_client):
    import datetime as dt

    from htmx_loads import loaded
    from sqlalchemy import update

    from colcw_plugin.models import Link

    customer = make_customer(name="Quiet Co", account_number="QUIET1", contacts=[])
    export(customer.id)
    old = dt.datetime(2026, 1, 2, 3, 4)
    db.session.execute(update(Link).where(Link.entity == "customer", Link.host_id == customer.id)
                       .values(synced_at=old))
    db.session.commit()
    run("customer_import", {"company": "QUIET1"})  # nothing differs: it writes nothing, the link keeps its time
    page = loaded(rep_client, f"/customers/{customer.id}")
    status = page[page.index('id="colcw-link-status"'):]
    status = status[:status.index("</p>")]
    assert "last synced 2026-01-02 03:04" not in status and "last synced " in status, status
