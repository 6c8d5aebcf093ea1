"""ConnectWise the master, an import that links an existing customer for the first time (by its account number)
and keeps the host contact's values where ConnectWise's are blank (e14a7d2) leaves the customer holding changes of its
own to export: it says "Changed since export" until its export fills ConnectWise's blanks in. Its new link was
stamped as if both sides agreed, so the customer showed "Synced". A customer the company matches on every value stays
"Synced". Against the sandbox over HTTP."""

from __future__ import annotations

from customer_support import CONTACTS, acme_with_a_bare_ada, export, items, make_customer, run

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import links as customer_links
from host_stub.extensions import db
from host_stub.models import Customer


def _status(customer_id: int):
    db.session.expire_all()
    return customer_links.status(db.session, db.session.get(Customer, customer_id))


def test_a_first_link_keeping_host_values_over_blanks_leaves_the_customer_changed(sync_ready):
    customer = make_customer(contacts=[CONTACTS[0]])  # Ada only: CFO, her phones
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    acme_with_a_bare_ada(sync_ready)  # Ada typed in ConnectWise without a title

    done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    assert _status(customer.id).changed, [i.message for i in items(done)]  # her title is still to export

    sent = export(customer.id)
    assert sent.status == "succeeded", sent.message
    assert not _status(customer.id).changed


def test_a_first_link_with_nothing_left_to_export_leaves_the_customer_synced(sync_ready):
    customer = make_customer(contacts=[])
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    acme_with_a_bare_ada(sync_ready)  # (Ada is new to the customer: created from ConnectWise's values)

    done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    assert not _status(customer.id).changed, [i.message for i in items(done)]
