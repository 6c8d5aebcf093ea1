"""An unchanged re-import writes nothing, also after a live update wrote the customer's link: the link's fingerprint
is of the agreed values alone, as the import and the export take it, not of what colcw keeps beside them in the
agreement (``colcw:`` keys: the company's site taken for the customer's Location Code, a held deletion). Taken of those too, the import
found the link's fingerprint changed and wrote the link again (its sync time moved) for a company nobody changed.
ConnectWise the master for customer data, against the sandbox."""

from __future__ import annotations

import pytest
from customer_support import CUSTOMER, export, items, link_of, make_customer, run

from colcw_plugin.models import CW_MASTER, fingerprint
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.shared import fields as M
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres

ADDRESS = {"addressLine1": CUSTOMER["address1"], "city": CUSTOMER["city"], "state": CUSTOMER["state"],
           "zip": CUSTOMER["zip"], "country": {"name": CUSTOMER["country"]}}


def test_a_bulk_import_after_a_live_update_leaves_the_link_as_it_was(sync_ready):
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    # ConnectWise made the company with its site "Main" at the customer's address: the export takes it for HQ.
    made = sync_ready.api("POST", "company/companies", json={"identifier": "ACME1", "name": "Acme Corp",
                                                              **ADDRESS}).json()
    customer = make_customer(location_code="HQ")
    assert items(export(customer.id), "customer")[0].action == "updated"
    assert M.site_choice(link_of("customer", customer.id).synced_values) is not None

    sync_ready.edit_company(made["id"], {"phoneNumber": "512-555-0198"})
    run(LIVE_KIND, {"records": {"company": [made["id"]]}})  # takes the phone, writes the link's agreement
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).phone == "512-555-0198"
    link = link_of("customer", customer.id)
    assert M.site_choice(link.synced_values) is not None
    written = (link.synced_at, link.fingerprint)
    assert link.fingerprint == fingerprint({k: v for k, v in link.synced_values.items() if not k.startswith("colcw:")})

    item = items(run("customer_import", {"company_ids": [made["id"]]}), "customer")[0]  # a bulk import
    assert item.action == "unchanged", item.message
    db.session.expire_all()
    link = link_of("customer", customer.id)
    assert (link.synced_at, link.fingerprint) == written  # nothing written
