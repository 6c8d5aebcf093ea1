"""A rep's edit made after Map customers' scan linked the company is not overwritten without a trace. The scan's link
agrees on the values both sides held then ("Both sides agree on every mapped field"), so a safety-net pass that finds
the phone changed in ConnectWise and in ChannelOnline since sees a conflict: ConnectWise the master, its value is
taken and the note keeps the rep's. The scan's link agreed on nothing, so every later difference read as ConnectWise's
change alone: "took Company Phone “625-555-1111” from ConnectWise", the rep's 625-555-2222 gone.

A link with no agreement at all (one an earlier scan made) tells no rep's edit from an old value: a field that differs
is noted ("differs; no earlier agreement"), taken with ConnectWise the master, kept with ChannelOnline the master."""

from __future__ import annotations

from inbound_first_link import messages, run, summit
from inbound_support import edit_host, enable
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncRun, get_link
from colcw_plugin.sync.inbound import RECONCILE_KIND
from host_stub.extensions import db
from host_stub.models import Customer


def _the_net_after_both_change_the_phone(sandbox, customer: Customer, company_id: int, master: str) -> SyncRun:
    """Live updates on with ``master`` the master, the phone changed in ConnectWise and in ChannelOnline, then a
    safety-net pass (succeeded); that pass."""
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    sandbox.edit_company(company_id, {"phoneNumber": "625-555-1111"})  # (its callback goes nowhere: dropped)
    edit_host(customer.id, phone="625-555-2222")
    net = run(RECONCILE_KIND, {"mode": "changes"})
    assert net.status == "succeeded", net.message
    db.session.expire_all()
    return net


def _no_agreement_then_the_net(sandbox, admin_client, master: str) -> tuple[Customer, str]:
    """Summit linked by the scan, its link's agreement then dropped (as an earlier scan left its links), then
    :func:`_the_net_after_both_change_the_phone`: (the customer, what the pass said of it)."""
    customer, company_id, _ = summit(sandbox, admin_client)
    get_link(db.session, "customer", customer.id).synced_values = None
    db.session.commit()
    net = _the_net_after_both_change_the_phone(sandbox, customer, company_id, master)
    return customer, _said(net, customer)


def _phone_note(customer_id: int) -> tuple:
    row = db.session.execute(select(RecordDrift).where(RecordDrift.entity == "customer",
                                                       RecordDrift.host_id == customer_id)).scalar_one()
    return row.field, row.kind, row.cw_value, row.host_value, row.kept


def _said(made, customer: Customer) -> str:
    [said] = [m for m in messages(made) if m.startswith(f"{customer.name} ({customer.account_number}):")]
    return said


def test_the_scan_agrees_on_what_both_held_so_a_later_edit_on_both_sides_is_a_conflict(app, fast_callbacks,
                                                                                      admin_client):
    sandbox = fast_callbacks
    customer, company_id, _ = summit(sandbox, admin_client)
    agreement = get_link(db.session, "customer", customer.id).synced_values

    net = _the_net_after_both_change_the_phone(sandbox, customer, company_id, CW_MASTER)
    assert db.session.get(Customer, customer.id).phone == "625-555-1111"
    assert "Company Phone changed on both sides: kept ConnectWise's “625-555-1111” (the master); ChannelOnline had " \
           "“625-555-2222”" in _said(net, customer), messages(net)
    assert _phone_note(customer.id) == ("phone", "conflict", "625-555-1111", "625-555-2222", "connectwise")
    assert (agreement or {}).get("phone") == "625-555-0100"  # (what the scan's link agreed on)


def test_a_link_with_no_agreement_notes_what_differs_connectwise_the_master(app, fast_callbacks, admin_client):
    customer, said = _no_agreement_then_the_net(fast_callbacks, admin_client, CW_MASTER)
    assert db.session.get(Customer, customer.id).phone == "625-555-1111"
    assert "Company Phone differs; no earlier agreement: took ConnectWise's “625-555-1111” (the master); " \
           "ChannelOnline had “625-555-2222”" in said, said
    assert "took Company Phone" not in said
    assert _phone_note(customer.id) == ("phone", "unagreed", "625-555-1111", "625-555-2222", "connectwise")


def test_a_link_with_no_agreement_keeps_and_notes_channelonline_the_master(app, fast_callbacks, admin_client):
    customer, said = _no_agreement_then_the_net(fast_callbacks, admin_client, HOST_MASTER)
    assert db.session.get(Customer, customer.id).phone == "625-555-2222"
    assert "Company Phone differs; no earlier agreement: kept ChannelOnline's “625-555-2222” (the master); " \
           "ConnectWise has “625-555-1111”" in said, said
    assert _phone_note(customer.id) == ("phone", "unagreed", "625-555-1111", "625-555-2222", "host")
