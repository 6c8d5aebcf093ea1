"""The customer page's "last synced" never goes back before a live update that took ConnectWise's changes into the
customer. A customer with changes of its own not exported yet keeps its link's time (its "Changed since export"
stays true), so once a later result went through nothing (a change not taken under the host as master) the page
showed the export before that live update as the last sync."""

from __future__ import annotations

import datetime as dt
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer, run_items, wait_for
from sqlalchemy import update

from colcw_plugin.models import CW_MASTER, HOST_MASTER, Link, SyncItem, get_link
from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer

HOURS_AGO = dt.timedelta(hours=3)


def _last_synced(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    m = re.search(r"last synced (\d{4}-\d\d-\d\d \d\d:\d\d)", re.sub(r"\s+", " ", page))
    assert m, page
    return m.group(1)


def test_last_synced_keeps_the_live_update_that_took_a_change(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox)
    # The export was three hours ago (its link and its results), so a later sync shows as a later time.
    exported_items = [i.id for i in db.session.query(SyncItem).all()]
    db.session.execute(update(Link).values(synced_at=Link.synced_at - HOURS_AGO, linked_at=Link.linked_at - HOURS_AGO))
    db.session.execute(update(SyncItem).where(SyncItem.id.in_(exported_items)).values(at=SyncItem.at - HOURS_AGO))
    db.session.commit()
    exported_at = get_link(db.session, "customer", customer.id).synced_at
    client = sign_in(app.test_client(), "riley@demo.example")
    assert _last_synced(client, customer.id) == exported_at.strftime("%Y-%m-%d %H:%M")

    # The rep changes the customer (not exported yet); ConnectWise, the master, changes its city: taken.
    fresh = db.session.get(Customer, customer.id)
    services.save_customer({**{f: getattr(fresh, f) for f in services.CUSTOMER_EDITABLE}, "phone": "512-555-0177"},
                           customer_id=customer.id)
    enable(live_server.url, CW_MASTER)
    sandbox.edit_company(company, {"city": "Dallas"})
    took = wait_for(lambda: [i for i in run_items("cw_live_update") if i.entity == "customer" and i.action == "updated"],
                    what="the live update's result")
    assert db.session.get(Customer, customer.id).city == "Dallas"
    taken_at = took[-1].at.strftime("%Y-%m-%d %H:%M")
    assert taken_at != exported_at.strftime("%Y-%m-%d %H:%M")
    assert _last_synced(client, customer.id) == taken_at
    assert 'id="colcw-changed"' in loaded(client, f"/customers/{customer.id}")  # the rep's phone is still to export

    # With the host the master now, ConnectWise changes the address: not taken, nothing went through. The last sync
    # stays the live update that took the city, not the export three hours before it.
    enable(live_server.url, HOST_MASTER)
    sandbox.edit_company(company, {"addressLine1": "9 Elm St"})
    wait_for(lambda: [i for i in run_items("cw_live_update") if i.entity == "customer" and i.action == "skipped"],
             what="the change not taken")
    assert _last_synced(client, customer.id) == taken_at
