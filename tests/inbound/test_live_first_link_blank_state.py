"""ConnectWise the master, a live update that links a ConnectWise contact to the customer's contact that is the same
person (a first link, no earlier agreement) keeps the host's value where ConnectWise's is blank: the link agrees on
the blank, so the next export fills it in (057714d). Until then the customer holds a change of its own to export; the
pass that also took ConnectWise's other values into that contact moved the customer's link time, so the customer
showed "Synced" although its export still had the value to send. Against the sandbox."""

from __future__ import annotations

from inbound_first_link import messages, run, summit
from inbound_support import enable

from colcw_plugin.models import CW_MASTER, get_link
from colcw_plugin.sync.customers import links as customer_links
from colcw_plugin.sync.inbound import LIVE_KIND
from host_stub.extensions import db
from host_stub.models import Customer


def test_a_host_value_kept_over_a_blank_at_a_live_first_link_leaves_the_customer_changed(app, fast_callbacks,
                                                                                        admin_client):
    sandbox = fast_callbacks
    customer, company_id, people = summit(sandbox, admin_client)  # linked by the scan, no contact linked
    # In ConnectWise someone cleared Ethan's title and changed his direct phone.
    ethan_cw = people["Ethan"]
    there = sandbox.api("GET", f"company/contacts/{ethan_cw}").json()
    items = [{**i, "value": "625-555-0199"} if i["type"]["name"] == "Direct" else i
             for i in there["communicationItems"]]
    assert sandbox.api("PATCH", f"company/contacts/{ethan_cw}", json=[
        {"op": "replace", "path": "title", "value": ""},
        {"op": "replace", "path": "communicationItems", "value": items}]).status_code == 200
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    db.session.expire_all()
    assert not customer_links.status(db.session, db.session.get(Customer, customer.id)).changed

    live = run(LIVE_KIND, {"records": {"contact": [ethan_cw]}})
    assert live.status == "succeeded", live.message
    db.session.expire_all()
    after = db.session.get(Customer, customer.id)
    ethan = next(c for c in after.contacts if c.first_name == "Ethan")
    said = messages(live)
    assert (ethan.title, ethan.work_phone) == ("IT Director", "625-555-0199"), said  # the blank erased nothing
    link = get_link(db.session, "contact", ethan.id)
    assert link is not None and link.cw_id == ethan_cw and link.synced_values.get("title") in ("", None), said
    # The title is still to export: the customer is not in sync.
    assert customer_links.status(db.session, after).changed, said

    export = run("customer_export", {"customer_id": customer.id})
    assert export.status == "succeeded", export.message
    assert sandbox.api("GET", f"company/contacts/{ethan_cw}").json().get("title") == "IT Director", messages(export)
    db.session.expire_all()
    assert not customer_links.status(db.session, db.session.get(Customer, customer.id)).changed
