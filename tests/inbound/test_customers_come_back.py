"""Companies and contacts changed in ConnectWise: the customer master rule, conflicts both ways, no echo."""

from __future__ import annotations

import pytest
from htmx_loads import loaded
from inbound_support import enable, export_customer, line, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, Link, RecordDrift, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _customer(customer_id: int) -> Customer:
    return db.session.get(Customer, customer_id)


def _contact(customer_id: int, first_name: str) -> Contact | None:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar()


def _drift(customer_id: int) -> list[tuple]:
    return [(d.entity, d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id).order_by(RecordDrift.id)).scalars()]


def _edit_host(customer_id: int, **fields) -> None:
    customer = _customer(customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, **fields}, customer_id=customer_id)


def test_with_connectwise_as_master_edits_flow_into_the_host_customer_and_contacts(app, fast_callbacks, live_server,
                                                                                    worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    sandbox.edit_company(company, {"city": "Dallas", "addressLine1": "9 Elm St", "phoneNumber": "214-555-0199"})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO", "lastName": "King"})
    added = sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    wait_for(lambda: _customer(customer.id).city == "Dallas" and _contact(customer.id, "Grace") is not None
             and _contact(customer.id, "Ada").title == "CEO")
    settle(sandbox)
    fresh = _customer(customer.id)
    assert (fresh.address1, fresh.phone) == ("9 Elm St", "214-555-0199")
    assert _contact(customer.id, "Ada").last_name == "King"
    grace = _contact(customer.id, "Grace")
    assert get_link(db.session, "contact", grace.id).cw_id == added["id"]
    assert _drift(customer.id) == []  # taken: nothing to show
    messages = " ".join(i.message for i in run_items("cw_live_update"))
    assert "took Company Address Line 1 “9 Elm St”, Company City “Dallas”" in messages and "created in ChannelOnline" in messages
    # The agreement moved with it: the next export sends nothing back.
    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    done = runtime().execute(db.session, export.id)
    assert done.status == "succeeded" and sandbox.api("GET", f"company/companies/{company}").json()["city"] == "Dallas"


def test_with_the_host_as_master_connectwise_edits_are_reported_not_taken(app, fast_callbacks, live_server,
                                                                           worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, city="Austin")
    enable(live_server.url, HOST_MASTER)
    sandbox.edit_company(company, {"city": "Dallas"})
    sandbox.edit_contact(contacts["Charles"], {"title": "Chief Engineer"})
    wait_for(lambda: len(_drift(customer.id)) == 2)
    assert sorted(_drift(customer.id)) == [("contact", "title", "drift", "CTO", "Chief Engineer", "host"),
                                           ("customer", "city", "drift", "Austin", "Dallas", "host")]
    assert _customer(customer.id).city == "Austin" and _contact(customer.id, "Charles").title == "CTO"
    page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer.id}")
    assert 'id="colcw-drift"' in page and "Dallas" in page and "not taken (ChannelOnline is the master)" in page
    # The run's results are written behind it, after the drift commits: wait for the one about the company.
    skipped = wait_for(lambda: [i for i in run_items("cw_live_update") if i.action == "skipped"
                                and "Company City" in i.message], what="the live update's result")
    assert any("not taken (ChannelOnline is the master for customer data): Company City “Dallas”" in i.message for i in skipped)
    # Exporting puts ChannelOnline's values back in ConnectWise; the drift is gone.
    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, export.id).status == "succeeded"
    assert sandbox.api("GET", f"company/companies/{company}").json()["city"] == "Austin"
    assert _drift(customer.id) == []


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_a_field_changed_on_both_sides_keeps_the_masters_value_and_shows_the_other(app, fast_callbacks, live_server,
                                                                                   worker_thread, master):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, master)
    _edit_host(customer.id, city="Houston")  # not exported yet
    sandbox.edit_company(company, {"city": "Dallas"})
    wait_for(lambda: _drift(customer.id))
    settle(sandbox)
    [(entity, name, kind, host_value, cw_value, kept)] = _drift(customer.id)
    assert (entity, name, kind) == ("customer", "city", "conflict")
    if master == CW_MASTER:
        assert _customer(customer.id).city == "Dallas" and (host_value, kept) == ("Houston", "connectwise")
    else:
        assert _customer(customer.id).city == "Houston" and (cw_value, kept) == ("Dallas", "host")
    log = " ".join(i.message for i in run_items("cw_live_update"))
    assert "Company City changed on both sides: kept " + ("ConnectWise's “Dallas”" if master == CW_MASTER
                                                   else "ChannelOnline's “Houston”") in log
    page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer.id}")
    assert "Changed on both sides" in page
    # ConnectWise's value taken, both sides agree: the panel does not say they differ; the host's value kept, they do.
    assert ("ConnectWise and ChannelOnline differ" in page) == (master == HOST_MASTER)


def test_with_connectwise_as_master_an_export_never_overwrites_what_connectwise_changed(app, fast_callbacks,
                                                                                      live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin", zip="73301")
    enable(live_server.url, CW_MASTER)
    sandbox.clear_callback_faults()
    sandbox.add_callback_fault("drop")  # the change reaches colcw only through the export below
    sandbox.edit_company(company, {"city": "Dallas"})
    _edit_host(customer.id, city="Houston", zip="75001")
    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    done = runtime().execute(db.session, export.id)
    assert done.status == "succeeded"
    held = sandbox.api("GET", f"company/companies/{company}").json()
    assert (held["city"], held["zip"]) == ("Dallas", "75001")  # the master's city kept; the host's zip sent
    assert "kept ConnectWise's Company City" in " ".join(i.message for i in run_items("customer_export"))
    sandbox.clear_callback_faults()
    reconcile = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    runtime().execute(db.session, reconcile.id)
    assert _customer(customer.id).city == "Dallas"
    assert [d[:3] for d in _drift(customer.id)] == [("customer", "city", "conflict")]


def test_colcw_s_own_exports_do_not_come_back_as_changes_or_conflicts(app, fast_callbacks, live_server, worker_thread,
                                                                       world):
    sandbox = fast_callbacks
    enable(live_server.url, HOST_MASTER)
    customer, company, _ = export_customer(sandbox, account_number="ECHO1", name="Echo Co", phone="512-555-0777")
    _edit_host(customer.id, city="Houston", phone="512-555-0778")
    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, export.id).status == "succeeded"
    quote = world.quote([line("OPT-7010", qty=1)], name="Echo deal")
    assert world.export(quote.id).status == "succeeded"
    settle(sandbox)
    assert sandbox.deliveries(), "ConnectWise sent callbacks for colcw's own writes"
    assert _drift(customer.id) == [] and not db.session.execute(select(RecordDrift)).first()
    assert _customer(customer.id).city == "Houston"
    items = run_items("cw_live_update")
    assert not [i for i in items if i.entity in ("customer", "contact")]  # not even read back
    assert [(i.entity, i.action) for i in items] in ([], [("document", "unchanged")])


def test_deleted_in_connectwise_marks_links_broken_and_keeps_host_data(app, fast_callbacks, live_server,
                                                                          worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    sandbox.delete_contact(contacts["Charles"])
    wait_for(lambda: get_link(db.session, "contact", _contact(customer.id, "Charles").id).status == "missing_in_cw")
    sandbox.delete_company(company)
    wait_for(lambda: get_link(db.session, "customer", customer.id).status == "missing_in_cw")
    assert _customer(customer.id) is not None and len(_customer(customer.id).contacts) == 2
    page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer.id}")
    assert "was deleted in" in page and "Restore the company in ConnectWise and export again, or link the customer to another company" in page
    assert any("its link marked broken" in i.message for i in run_items("cw_live_update"))
    assert db.session.execute(select(Link).where(Link.status == "ok", Link.entity == "customer")).first() is None
