"""What live updates write into the host from ConnectWise is no change of the host's own: All Customers and the
customer page do not say "Changed since export" for a contact ConnectWise added (or changed) while it is the
master, and still say it for what the host changed itself and did not export."""

from __future__ import annotations

from inbound_support import edit_host, enable, export_customer, settle, shown, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _contact(customer_id: int, first_name: str) -> Contact | None:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar()


def test_a_contact_connectwise_added_and_one_it_changed_are_no_change_since_export(app, fast_callbacks, live_server,
                                                                                   worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    assert shown(app, customer) == ("Synced", False)
    sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    wait_for(lambda: _contact(customer.id, "Grace") is not None and _contact(customer.id, "Ada").title == "CEO")
    settle(sandbox)
    assert shown(app, customer) == ("Synced", False)


def test_what_the_host_changed_itself_still_shows_after_connectwise_adds_a_contact(app, fast_callbacks, live_server,
                                                                                   worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, zip="75001")  # not exported
    sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    wait_for(lambda: _contact(customer.id, "Grace") is not None)
    settle(sandbox)
    assert shown(app, customer) == ("Changed since export", True)


def test_a_contact_the_host_changed_still_shows_after_connectwise_changes_the_company(app, fast_callbacks, live_server,
                                                                                      worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, CW_MASTER)
    edit_host(customer.id, {"Charles": {"title": "Chief Engineer"}})  # not exported
    sandbox.edit_company(company, {"city": "Dallas"})
    wait_for(lambda: db.session.get(Customer, customer.id).city == "Dallas")
    settle(sandbox)
    assert _contact(customer.id, "Charles").title == "Chief Engineer"
    assert shown(app, customer) == ("Changed since export", True)
