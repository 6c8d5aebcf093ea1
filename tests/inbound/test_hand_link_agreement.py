"""A company an admin links by hand on Map customers agrees on the values both sides hold equal then, as the scan's
links do (links.scan_agreement): a rep's edit made after the link is the rep's change, sent by the next export, and
a change made in ConnectWise since is ConnectWise's alone, taken without a note. The hand link agreed on nothing, so
with ConnectWise the master the safety net read the rep's new phone as a field with no earlier agreement and took
ConnectWise's old one over it ("Company Phone differs; no earlier agreement: took ConnectWise's …"): the rep's
625-555-2222 was gone from ChannelOnline, and the export then left ConnectWise's 625-555-0100."""

from __future__ import annotations

import time

from inbound_first_link import COMPANY, SCAN, messages, run, summit_company
from inbound_support import edit_host, enable
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, RecordDrift, get_link
from colcw_plugin.sync.inbound import RECONCILE_KIND
from helpers import csrf_from
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer

MAP = "/admin/integration/connectwise/customers/map"


def linked_by_hand(sandbox, admin_client, **here) -> tuple[Customer, int]:
    """Summit Dental Care in both, the same on every mapped field but ``here`` (the customer's own values), linked by
    an admin on Map customers (the customer was added after the scan read the companies, so the scan did not link
    it), the changes the page showed confirmed."""
    cw_id = summit_company(sandbox)
    token = csrf_from(admin_client.get("/admin/integration/connectwise/").get_data(as_text=True))
    assert admin_client.post(SCAN, data={"csrf_token": token}).status_code == 302
    customer = services.save_customer({**COMPANY, **here}, [])
    time.sleep(1.05)  # ConnectWise dates records in whole seconds: the link is made a second later
    page = admin_client.get(MAP).get_data(as_text=True)
    assert f'name="map-{cw_id}"' in page, "the company is left to map"
    resp = admin_client.post(MAP, data={"csrf_token": csrf_from(page), f"map-{cw_id}": str(customer.id),
                                        **({"confirm": "1"} if here else {})})
    assert resp.status_code == 302, resp.get_data(as_text=True)  # (nothing differs: no preview to confirm)
    db.session.expire_all()
    link = get_link(db.session, "customer", customer.id)
    assert link is not None and link.cw_id == cw_id
    return customer, cw_id


def test_a_rep_edit_after_a_hand_link_is_kept_and_exported_connectwise_the_master(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, cw_id = linked_by_hand(sandbox, admin_client)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    edit_host(customer.id, phone="625-555-2222")  # the rep's edit
    sandbox.edit_company(cw_id, {"city": "Boulder"})  # ConnectWise's (its callback goes nowhere: dropped)

    net = run(RECONCILE_KIND, {"mode": "changes"})
    assert net.status == "succeeded", net.message
    db.session.expire_all()
    host = db.session.get(Customer, customer.id)
    said = messages(net)
    assert (host.phone, host.city) == ("625-555-2222", "Boulder"), said
    assert not any("no earlier agreement" in m or "changed on both sides" in m for m in said), said
    assert db.session.execute(select(RecordDrift).where(RecordDrift.host_id == customer.id)).scalars().all() == []

    export = run("customer_export", {"customer_id": customer.id})
    assert export.status == "succeeded", export.message
    company = sandbox.api("GET", f"company/companies/{cw_id}").json()
    assert (company["phoneNumber"], company["city"]) == ("625-555-2222", "Boulder"), messages(export)
