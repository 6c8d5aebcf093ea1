"""Saving a customer in the host's form warns of every problem its export refuses (the hook
``customer_save_warnings``), not only fields longer than ConnectWise holds: a customer with no address at all and a
contact with only a last name are said at once, in the words the exports then fail with (one definition of the rules,
``fields.customer_problems`` / ``fields.contact_problems``), rather than "saved" and a failure on each export."""

from __future__ import annotations

import pytest
from customer_support import export, items, make_customer, update_customer
from test_long_field_save_warning_scope import _save

from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

NO_ADDRESS = {"address1": "", "address2": "", "city": "", "state": "", "zip": "", "country": ""}
SOLO = [{"first_name": "", "last_name": "Solo", "email": "solo@acme.example", "is_default": True}]


def _said(item) -> str:
    return f"{item.message} {item.resolution}"


def test_no_address_and_a_contact_without_first_name_are_both_said_on_save(sync_ready, rep_client):
    customer = make_customer(contacts=SOLO, **NO_ADDRESS)
    flashes = _save(rep_client, customer.id)
    assert [cls for cls, _ in flashes] == ["success", "warning"], flashes
    warning = flashes[1][1]
    lead = f"Customer {customer.name} cannot be exported to ConnectWise as it is. "
    assert warning.startswith(lead)
    assert "has no address" in warning and "Contact Solo has no first name" in warning

    # The export refuses the customer for its address, in the words the warning said first …
    run = export(customer.id)
    [refused] = items(run, "customer")
    assert refused.action == "failed" and "has no address" in refused.message
    # … and, once it has a city, creates the company without Solo, for the reason the warning said too.
    update_customer(customer.id, city="Austin")
    run = export(customer.id)
    assert [i.action for i in items(run, "customer")] == ["created"]
    [solo] = items(run, "contact")
    assert solo.action == "failed" and "has no first name" in solo.message
    assert warning == lead + _said(refused) + " " + _said(solo)


def test_no_warning_for_a_customer_the_export_takes(sync_ready, rep_client):
    customer = make_customer()
    assert _save(rep_client, customer.id) == [("success", f"Customer {customer.name} saved.")]


def test_no_warning_while_colcw_is_not_connected(sync_ready, rep_client):
    customer = make_customer(contacts=SOLO, **NO_ADDRESS)
    get_settings(db.session).site_url = ""
    db.session.commit()
    assert _save(rep_client, customer.id) == [("success", f"Customer {customer.name} saved.")]
