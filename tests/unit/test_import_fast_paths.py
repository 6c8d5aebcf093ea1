"""The import's per-record paths worked out once from the rules and the columns (issue 14: a 10,000-company import
maps and checks 35,000 records) say what the generic ones say, record by record: the same host values, in the same
order; the same length problems, in the same order and words; the same saved fields and errors."""

from __future__ import annotations

import pytest

from colcw_plugin.setup.field_mapping import COMPANY, CONTACT
from colcw_plugin.sync.shared import fields as M
from host_stub.fields import column_limits
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer

CUSTOMER_LIMITS, CONTACT_LIMITS = column_limits(Customer), column_limits(Contact)


def _item(type_name, value, default=False):
    return {"type": {"id": 1, "name": type_name}, "value": value, "defaultFlag": default}


def test_a_communication_field_takes_its_types_first_default_item_else_its_first():
    record = {"id": 7, "firstName": "  Ana ", "lastName": "Ruiz", "title": None, "zip": 12345,
              "communicationItems": [_item(" email ", " first@x.example "), _item("EMAIL", "default@x.example", True),
                                     _item("Email", "later-default@x.example", True), _item("Cell", " 555 "),
                                     _item("cell", "556"), {}, "not an item", {"type": None, "value": "x"},
                                     _item("Direct", None, True)]}
    values = M.contact_host_values(record, None)
    assert values == {"title": "", "first_name": "Ana", "last_name": "Ruiz", "address1": "", "address2": "",
                      "city": "", "state": "", "zip": "12345", "work_phone": "", "mobile_phone": "555",
                      "home_phone": "", "other_phone": "", "email": "default@x.example", "is_default": False}
    assert list(values) == [r.host_attr for r in CONTACT.rules if r.host_attr]  # the rules' order (JSON as before)
    assert M.contact_host_values(record, 7)["is_default"] is True
    assert M.contact_host_values({**record, "defaultFlag": True}, None)["is_default"] is True
    assert M.contact_host_values({**record, "defaultFlag": True}, 8)["is_default"] is False


def test_a_company_reads_its_status_site_and_country_by_name():
    record = {"id": 1, "identifier": " ACME ", "name": "Acme", "status": {"name": " ACTIVE "}, "zip": 0,
              "site": {"name": "main"}, "country": {"name": " Canada "}, "phoneNumber": None}
    values = M.company_host_values(record)
    assert values["active"] is True and values["account_number"] == "ACME" and values["zip"] == ""
    assert values["location_code"] == "" and values["country"] == "Canada" and values["phone"] == ""
    assert list(values) == [r.host_attr for r in COMPANY.rules if r.host_attr]
    other = M.company_host_values({"status": {"name": "Inactive"}, "site": {"name": " HQ "}, "country": "Canada"})
    assert (other["active"], other["location_code"], other["country"]) == (False, "HQ", "")
    assert M.company_host_values({})["active"] is True  # no status read: active


@pytest.mark.parametrize("columns, labels, values", [
    (CONTACT_LIMITS, CONTACT.labels, {"first_name": "A" * 61, "last_name": "B", "email": "e" * 251}),
    (CONTACT_LIMITS, CONTACT.labels, {"first_name": "A" * 60, "last_name": "B" * 60, "email": "ok"}),
    # counted as the host's columns count: characters (an emoji is one, ConnectWise's UTF-16 counting is not used)
    (CONTACT_LIMITS, CONTACT.labels, {"first_name": "😀" * 60}),
    (CONTACT_LIMITS, CONTACT.labels, {"first_name": "😀" * 61, "is_default": True, "zip": 123456789012345678901}),
    (CUSTOMER_LIMITS, COMPANY.labels, {"name": "N" * 101, "zip": "1" * 21, "active": True, "location_code": None}),
    (CUSTOMER_LIMITS, COMPANY.labels, {"city": ["a"] * 61, "state": "S" * 31}),  # a list is no text: not checked
    (CUSTOMER_LIMITS, COMPANY.labels, {}),
])
def test_a_length_table_finds_the_problems_the_generic_check_finds(columns, labels, values):
    full = {**{attr: "" for attr in columns}, **values}
    for checked in (values, full):  # with values missing (the full check), and every one given (the fast one)
        expected = M.host_length_problems(checked, columns, "Acme, contact", labels)
        assert M.HostLengths(columns, labels).problems(checked, "Acme, contact") == expected
        assert M.HostLengths(columns, labels).problems(checked, lambda: "Acme, contact") == expected
    too_long = M.HostLengths(columns, labels).problems(full, "Acme")
    assert bool(too_long) == any(isinstance(v, str) and len(v) > columns[a] for a, v in values.items() if a in columns)


def test_a_length_table_keeps_the_columns_it_was_made_with():
    columns = {"name": 5}
    table = M.HostLengths(columns, {"name": "Company Name"})
    columns["name"] = 1
    assert table.problems({"name": "Acme"}, "Acme") == []
    assert table.problems({"name": "Acme Ltd"}, "Acme") == [
        ("Acme: Company Name is 8 characters long; ChannelOnline allows at most 5.",
         "Shorten it in ConnectWise and import again.")]
    assert M.HostLengths({}, {}).problems({"name": "x" * 1000}, "Acme") == []
    assert M.HostLengths({"name": 0}, {}).problems({"name": "x" * 1000}, "Acme") == []


def test_the_hosts_field_checks_save_what_they_saved():
    errors: dict[str, str] = {}
    values = UnitOfWork.customer_fields({"name": "  Acme  ", "active": 0, "zip": 12345, "city": None}, None, errors)
    assert values == {"account_number": "", "name": "Acme", "active": False, "city": "", "zip": "12345"}
    assert list(errors) == ["account_number"]
    assert UnitOfWork.customer_fields({"name": "Acme"}, 3, {}) == {"name": "Acme"}  # an update: only what is given
    errors = {}
    UnitOfWork.customer_fields({"name": "N" * 101, "account_number": "A1"}, None, errors)
    assert list(errors) == ["name"]
    errors = {}
    contacts = UnitOfWork.contact_fields([{"id": 5, "email": " a@b.example ", "is_default": 1},
                                          {"first_name": "F" * 61, "zip": None},
                                          {"id": 0, "title": "T"}, {"id": 9, "first_name": ""}], errors)
    assert contacts == [{"id": 5, "email": "a@b.example", "is_default": True},
                        {"first_name": "F" * 61, "zip": ""}, {"title": "T"}, {"id": 9, "first_name": ""}]
    assert sorted(errors) == ["contacts[1].first_name", "contacts[2].first_name", "contacts[3].first_name"]
    assert "60" in errors["contacts[1].first_name"]  # too long, not nameless: its length said


def test_a_link_keeps_a_copy_of_its_values_unless_they_are_handed_over():
    from colcw_plugin.sync.customers.link_batch import LinkBatch

    batch = LinkBatch(None)  # (nothing is sent before a flush)
    values = {"name": "Acme", "zip": "12345"}
    copied = batch.put(None, "customer", 1, 11, fingerprint="f", values=values)
    handed = batch.put(None, "customer", 2, 12, fingerprint="f", values=values, handed=True)
    values["name"] = "Changed after"
    assert copied.synced_values == {"name": "Acme", "zip": "12345"}
    assert handed.synced_values is values
    assert [v["synced_values"] for _, v in batch._inserts] == [copied.synced_values, values]
