"""A live-update run that touched a customer or two names them in its message, as the job history's row shows it:
a company deleted in ConnectWise said "1 record changed in ConnectWise. (customers: 1 skipped)", not whose link
broke."""

from __future__ import annotations

import html

import pytest
from customer_support import link_of, make_customer, run

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

JOBS = "/admin/integration/connectwise/jobs"


def test_a_live_update_that_broke_one_link_names_the_customer(sync_ready, admin_client):
    customer = make_customer(contacts=[])
    exported = run("customer_export", {"customer_id": customer.id})
    assert exported.status == "succeeded", exported.message
    company_id = link_of("customer", customer.id).cw_id
    assert sync_ready.api("DELETE", f"company/companies/{company_id}").status_code in (200, 204)
    record_hint(db.session, Hint("company", company_id, "deleted"))

    live = run("cw_live_update", {"wave": "test"})
    assert live.message == ("1 record changed in ConnectWise. Customer Acme Corp (ACME1). "
                            "(customers: 1 skipped)"), live.message
    history = html.unescape(admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True))
    row = history.split(f'id="history-run-{live.id}"')[1].split("</tr>")[0]
    assert "Customer Acme Corp (ACME1)" in row, row


def test_a_live_update_that_touched_more_than_three_names_none(sync_ready):
    ids = []
    for n in range(4):
        customer = make_customer(contacts=[], name=f"Co {n}", account_number=f"CO{n}")
        assert run("customer_export", {"customer_id": customer.id}).status == "succeeded"
        ids.append(link_of("customer", customer.id).cw_id)
    for cw_id in ids:
        sync_ready.api("DELETE", f"company/companies/{cw_id}")
        record_hint(db.session, Hint("company", cw_id, "deleted"))
    live = run("cw_live_update", {"wave": "test"})  # the mass-delete guard stops it: 4 failed, none named
    assert live.message.endswith("(customers: 4 failed)"), live.message
    assert not any(f"CO{n}" in live.message for n in range(4)), live.message
    assert db.session.get(SyncRun, live.id) is not None


def test_a_live_update_counts_as_changed_only_the_records_it_had_something_to_do_for(sync_ready):
    """A company announced that no customer is linked to was read and needed nothing: the run said "2 records
    changed in ConnectWise" for one customer's change."""
    customer = make_customer(contacts=[])
    assert run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    assert sync_ready.api("DELETE", f"company/companies/{company_id}").status_code in (200, 204)
    stranger = sync_ready.api("POST", "company/companies", json={
        "identifier": "STRANGER1", "name": "Stranger Co", "site": {"name": "Main"}, "city": "Austin",
        "status": {"name": "Active"}, "types": [{"name": "Client"}]})
    assert stranger.status_code == 201, stranger.text
    record_hint(db.session, Hint("company", company_id, "deleted"))
    record_hint(db.session, Hint("company", stranger.json()["id"], "updated"))

    live = run("cw_live_update", {"wave": "test"})
    assert live.message.startswith("1 record changed in ConnectWise. 1 more read needed nothing here "
                                   "(not linked in ChannelOnline"), live.message
    assert "Customer Acme Corp (ACME1)" in live.message, live.message
