"""A customer on a company colcw did not create (a rep made it in ConnectWise, at the customer's address: its one site
"Main" is there) whose Location Code the rep changes from "Main" to "West Branch" moves the company to a site West
Branch: the export does not take Main again for the new code because it has the customer's address (the rule for a
customer's first code, test_export_site_at_same_address.py), since Main was its former code's site. Likewise a code
changed after an export took Main for it. Live updates then read "West Branch", whichever side is the master.
Against the sandbox, over HTTP."""

from __future__ import annotations

import pytest
from customer_support import company, export, items, link_of, make_customer, run, update_customer
from sqlalchemy import select
from test_export_site_at_same_address import _company_at_the_customers_address, _sites

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def _master(name: str) -> None:
    get_live(db.session).customer_master = name
    db.session.commit()


def _code(customer_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).location_code


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
@pytest.mark.parametrize("first", ["Main", "HQ"])
def test_a_code_changed_off_the_companys_site_moves_the_company_to_the_new_codes_site(sync_ready, master, first):
    _master(master)
    made = _company_at_the_customers_address(sync_ready)
    customer = make_customer(location_code=first)  # "HQ": the export takes Main for it (same address)
    item = items(export(customer.id), "customer")[0]
    assert item.action == "updated", item.message
    assert company(sync_ready, made["id"])["site"]["name"] == "Main"
    assert _sites(sync_ready, made["id"]) == ["Main"]

    update_customer(customer.id, location_code="West Branch")  # the rep's edit: nobody touched ConnectWise
    item = items(export(customer.id), "customer")[0]
    assert item.action == "updated", item.message
    assert "kept ConnectWise" not in item.message and "is the company's site Main" not in item.message, item.message
    assert "created site West Branch in ConnectWise; the company's site is now West Branch" in item.message
    assert company(sync_ready, made["id"])["site"]["name"] == "West Branch"
    assert _sites(sync_ready, made["id"]) == ["Main", "West Branch"]
    assert link_of("customer", customer.id).synced_values["location_code"] == "West Branch"

    sync_ready.edit_company(made["id"], {"phoneNumber": "512-555-0199"})
    assert run(LIVE_KIND, {"records": {"company": [made["id"]]}}).status == "succeeded"
    assert _code(customer.id) == "West Branch"
    assert [d.field for d in db.session.execute(select(RecordDrift)).scalars()] in ([], ["phone"])
    again = items(export(customer.id), "customer")[0]
    assert "site" not in again.message and "Location Code" not in again.message, again.message
    assert company(sync_ready, made["id"])["site"]["name"] == "West Branch"
