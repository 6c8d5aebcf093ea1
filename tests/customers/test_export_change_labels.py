"""An export's results name what it changed as the host labels the fields, the labels imports and live updates use
(the mapping's rules): "changed Company City, Company Name", never ConnectWise's API names (city, name,
phoneNumber, defaultFlag)."""

from __future__ import annotations

from customer_support import export, items, make_customer, update_customer

from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer


def test_a_company_update_names_the_fields_as_the_host_labels_them(sync_ready):
    customer = make_customer()
    assert items(export(customer.id), "customer")[0].action == "created"
    update_customer(customer.id, phone="512-555-0199", city="Round Rock", name="Acme Corporation")
    item = items(export(customer.id), "customer")[0]
    assert item.action == "updated"
    assert item.message == "Acme Corporation (ACME1): changed Company Name, Company City, Company Phone.", item.message


def test_a_contact_update_names_the_fields_as_the_host_labels_them(sync_ready):
    customer = make_customer()
    assert [i.action for i in items(export(customer.id), "contact")] == ["created", "created"]
    ada, charles = sorted(db.session.get(Customer, customer.id).contacts, key=lambda c: c.id)
    save_customer({}, [{"id": ada.id, "title": "CEO", "work_phone": "512-555-0999", "is_default": False},
                       {"id": charles.id, "email": "babbage@acme.example", "is_default": True}],
                  customer_id=customer.id)
    by_name = {i.label: i.message for i in items(export(customer.id), "contact")}
    assert by_name[f"Ada Lovelace ({customer.name})"] == \
        f"Ada Lovelace ({customer.name}): changed Title, Work Phone, Default.", by_name
    assert by_name[f"Charles Babbage ({customer.name})"] == \
        f"Charles Babbage ({customer.name}): changed Email, Default.", by_name
