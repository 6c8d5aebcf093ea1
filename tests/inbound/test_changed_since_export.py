"""What live updates write into the host from ConnectWise is no change of the host's own: All Customers and the
customer page do not say "Changed since export" for a contact ConnectWise added (or changed) while it is the
master, and still say it for what the host changed itself and did not export."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER
from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _contact(customer_id: int, first_name: str) -> Contact | None:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar()


def _shown(app, customer: Customer) -> tuple[str, bool]:
    """(All Customers' ConnectWise cell for the customer, whether its page says "Changed since export")."""
    with app.app_context():  # a request context of its own for each sign-in (Flask-Login keeps the user in g)
        return _seen(sign_in(app.test_client(), "riley@demo.example"), customer)


def _seen(client, customer: Customer) -> tuple[str, bool]:
    listing = loaded(client, "/customers/")
    row = re.search(rf'<tr data-row="{customer.id}">(.*?)</tr>', listing, re.S).group(1)
    cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="[^"]*">([^<]*)</span>', row)
    page = loaded(client, f"/customers/{customer.id}")
    return html_lib.unescape(cell.group(1)), 'id="colcw-changed"' in page


def _edit_host(customer_id: int, contacts: dict | None = None, **fields) -> None:
    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}, **(contacts or {}).get(c.first_name, {})}
            for c in customer.contacts]
    services.save_customer({**data, **fields}, rows, customer_id=customer_id)


def test_a_contact_connectwise_added_and_one_it_changed_are_no_change_since_export(app, fast_callbacks, live_server,
                                                                                   worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    assert _shown(app, customer) == ("Synced", False)
    sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    wait_for(lambda: _contact(customer.id, "Grace") is not None and _contact(customer.id, "Ada").title == "CEO")
    settle(sandbox)
    assert _shown(app, customer) == ("Synced", False)


def test_what_the_host_changed_itself_still_shows_after_connectwise_adds_a_contact(app, fast_callbacks, live_server,
                                                                                   worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, CW_MASTER)
    _edit_host(customer.id, zip="75001")  # not exported
    sandbox.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company}})
    wait_for(lambda: _contact(customer.id, "Grace") is not None)
    settle(sandbox)
    assert _shown(app, customer) == ("Changed since export", True)


def test_a_contact_the_host_changed_still_shows_after_connectwise_changes_the_company(app, fast_callbacks, live_server,
                                                                                      worker_thread):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, city="Austin")
    enable(live_server.url, CW_MASTER)
    _edit_host(customer.id, {"Charles": {"title": "Chief Engineer"}})  # not exported
    sandbox.edit_company(company, {"city": "Dallas"})
    wait_for(lambda: db.session.get(Customer, customer.id).city == "Dallas")
    settle(sandbox)
    assert _contact(customer.id, "Charles").title == "Chief Engineer"
    assert _shown(app, customer) == ("Changed since export", True)
