"""Switching the master for customer data decides again what live updates showed as differing, at once: the
customer page no longer says what the old master did ("not taken (ChannelOnline is the master)", "…or make
ConnectWise the master"), and with ConnectWise the master its values flow into the host as its changes do."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, InboundHint, RecordDrift
from colcw_plugin.setup.live_updates import LiveInput, get_live
from colcw_plugin.sync.inbound.switch import apply_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer

OLD_MASTER_WORDS = ("ChannelOnline is the master", "make ConnectWise the master")


def _contact(customer_id: int, first_name: str) -> Contact | None:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar()


def _drift(customer_id: int) -> list[tuple]:
    db.session.expire_all()
    return sorted((d.entity, d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _edit_host(customer_id: int, **fields) -> None:
    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, **fields}, customer_id=customer_id)


def _page(app, customer_id: int) -> str:
    with app.app_context():  # a request context of its own for each sign-in
        return loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer_id}")


def _switch(master: str, **kwargs) -> list[tuple[str, str]]:
    rt = runtime()
    live = get_live(db.session)
    return apply_live(db.session, rt.box, rt.client, LiveInput(live.enabled, live.public_base_url, master), "tests",
                      **kwargs)


def _differences_under_channelonline(app, sandbox, live_server):
    """A customer whose page shows, ChannelOnline the master: a company field and a contact field changed in
    ConnectWise (not taken), a field changed on both sides (ChannelOnline's kept) and a contact added there."""
    customer, company, contacts = export_customer(sandbox, city="Austin", zip="73301")
    enable(live_server.url, HOST_MASTER)
    _edit_host(customer.id, zip="75001")  # not exported
    sandbox.edit_company(company, {"city": "Dallas", "zip": "75002"})
    sandbox.edit_contact(contacts["Charles"], {"title": "Chief Engineer"})
    sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    wait_for(lambda: len(_drift(customer.id)) == 4, what="four differences")
    settle(sandbox)
    assert [d[1:3] + (d[5],) for d in _drift(customer.id)] == [
        ("title", "drift", "host"), ("city", "drift", "host"), (f"contact:{_grace(sandbox, company)}", "new_contact",
                                                                 "host"), ("zip", "conflict", "host")]
    page = _page(app, customer.id)
    assert all(words in page for words in OLD_MASTER_WORDS)
    return customer, company


def _grace(sandbox, company: int) -> int:
    return next(c["id"] for c in sandbox.api("GET", "company/contacts", params={
        "conditions": f"company/id={company}"}).json() if c["firstName"] == "Grace")


def _taken(customer_id: int) -> bool:
    customer = db.session.get(Customer, customer_id)
    return (customer.city == "Dallas" and customer.zip == "75002" and _contact(customer_id, "Grace") is not None
            and _contact(customer_id, "Charles").title == "Chief Engineer")


def _connectwise_decides(app, customer: Customer) -> None:
    assert _taken(customer.id)
    # The host had changed the zip too: a conflict again, now ConnectWise's value taken and the host's shown.
    assert _drift(customer.id) == [("customer", "zip", "conflict", "75001", "75002", "connectwise")]
    page = _page(app, customer.id)
    assert "ConnectWise's value was taken (it is the master); ChannelOnline had “75001”" in page
    assert not any(words in page for words in OLD_MASTER_WORDS)


def test_making_connectwise_the_master_takes_its_values_at_once(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, _ = _differences_under_channelonline(app, sandbox, live_server)

    messages = _switch(CW_MASTER, queue=runtime().queue, kinds=runtime().kinds)

    note = next(text for _, text in messages if "ConnectWise is now the master" in text)
    assert "the 4 differences shown on 1 customer page are read again from ConnectWise now (live-update run #" in note
    # At once, whatever the queued run has done yet: nothing the old master decided shows (the run may already have
    # found the zip changed on both sides again, now with ConnectWise's value taken).
    page = _page(app, customer.id)
    drift = page[page.index('id="colcw-drift"'):].split("</table>")[0] if 'id="colcw-drift"' in page else ""
    assert "ChannelOnline is the master" not in drift and "value was kept (it is the master)" not in drift, drift
    wait_for(lambda: _taken(customer.id), what="ConnectWise's values in the host")
    settle(sandbox)
    _connectwise_decides(app, customer)


def test_without_a_queue_at_hand_the_next_pass_takes_them(app, fast_callbacks, live_server, worker_thread):
    """As the Connection page calls it: the records wait as pending hints, and the safety net's pass takes them."""
    sandbox = fast_callbacks
    customer, _ = _differences_under_channelonline(app, sandbox, live_server)

    messages = _switch(CW_MASTER)

    assert any("are read again from ConnectWise by the next live-update run" in text for _, text in messages)
    assert 'id="colcw-drift"' not in _page(app, customer.id)
    assert db.session.execute(select(InboundHint.entity).where(InboundHint.pending.is_(True))).scalars().all()
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    _connectwise_decides(app, customer)


def test_the_command_line_switch_does_it_too(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, _ = _differences_under_channelonline(app, sandbox, live_server)

    result = app.test_cli_runner().invoke(args=["colcw", "live-updates", "--master", "connectwise"])

    assert result.exit_code == 0, result.output
    assert "are read again from ConnectWise now (live-update run #" in result.output
    wait_for(lambda: _taken(customer.id), what="ConnectWise's values in the host")
    settle(sandbox)
    _connectwise_decides(app, customer)


def test_the_connection_pages_switch_does_it_too(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, _ = _differences_under_channelonline(app, sandbox, live_server)
    live = get_live(db.session)

    with app.app_context():
        admin = sign_in(app.test_client(), "admin@demo.example")
        page = admin.get("/admin/integration/connectwise/").get_data(as_text=True)
        saved = admin.post("/admin/integration/connectwise/live-updates", data={
            "csrf_token": csrf_from(page), "live_enabled": "on", "public_base_url": live.public_base_url,
            "customer_master": CW_MASTER}, follow_redirects=True)
        shown = saved.get_data(as_text=True)

    assert "are read again from ConnectWise now (live-update run #" in shown
    wait_for(lambda: _taken(customer.id), what="ConnectWise's values in the host")
    settle(sandbox)
    _connectwise_decides(app, customer)


def test_making_channelonline_the_master_again_clears_what_connectwise_decided(app, fast_callbacks, live_server,
                                                                              worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, CW_MASTER)
    _edit_host(customer.id, city="Houston")  # not exported
    sandbox.edit_company(company, {"city": "Dallas"})
    wait_for(lambda: _drift(customer.id), what="the conflict")
    settle(sandbox)
    assert _drift(customer.id) == [("customer", "city", "conflict", "Houston", "Dallas", "connectwise")]

    messages = _switch(HOST_MASTER, queue=runtime().queue, kinds=runtime().kinds)

    assert ("info", "ChannelOnline is now the master for customer data: the 1 difference shown on 1 customer page "
                    "where ConnectWise's value was taken no longer shows (both sides hold that value now).") in messages
    assert _drift(customer.id) == []
    assert "Changed on both sides" not in _page(app, customer.id)
    assert db.session.get(Customer, customer.id).city == "Dallas"
    assert sandbox.api("GET", f"company/companies/{company}").json()["city"] == "Dallas"


def _last_result(page: str) -> str:
    found = re.search(r'<p id="colcw-last-result">(.*?)</p>', page, re.S)
    assert found, "the panel shows no last result"
    return " ".join(html.unescape(found.group(1)).split())


def test_the_last_result_advises_making_connectwise_the_master_only_while_it_is_not(app, fast_callbacks, live_server,
                                                                                    worker_thread):
    """The customer's last result (a live update under ChannelOnline) said what to do: export, or make ConnectWise
    the master. Once ConnectWise is the master, and before any run reads the company again, it no longer says so."""
    customer, _ = _differences_under_channelonline(app, fast_callbacks, live_server)
    before = _last_result(_page(app, customer.id))
    assert "or make ConnectWise the master for customer data" in before, before

    _switch(CW_MASTER)  # no queue at hand: nothing reads the company again yet

    after = _last_result(_page(app, customer.id))
    assert "not taken (ChannelOnline is the master for customer data)" in after  # what that run did, as it was
    assert "make ConnectWise the master" not in after and "put ChannelOnline's values back" not in after, after
    assert ("ConnectWise has since been made the master for customer data: live updates take its values into "
            "ChannelOnline when they read this company again.") in after, after

    _switch(HOST_MASTER)
    assert _last_result(_page(app, customer.id)) == before
