"""The same person within one company (SamePerson): the same e-mail, or, when one of the two has no e-mail, the same
first and last name, case and accents aside. The import and the customer export both match by it, so neither makes a
second contact of someone the other side holds."""

from __future__ import annotations

from customer_support import contacts_of, export, items, make_customer, run
from sqlalchemy import select

from colcw_plugin.models import CONTACT, CUSTOMER, Link, set_link
from colcw_plugin.setup.customer_matching import SamePerson, person_name_key
from host_stub.extensions import db
from host_stub.models import Contact

LUCAS = {"first_name": "Lucas", "last_name": "O'Brien", "email": "lucas@bayview.example", "work_phone": "902-555-0111",
         "is_default": True}
MARIA = {"first_name": "María", "last_name": "García", "email": "", "work_phone": "902-555-0112", "is_default": False}


def _company(sandbox, ident: str, contacts: list[dict]) -> int:
    cw = sandbox.api("POST", "company/companies", json={"identifier": ident, "name": "Bayview Law Group",
                                                        "city": "Halifax"}).json()
    for body in contacts:
        assert sandbox.api("POST", "company/contacts", json={**body, "company": {"id": cw["id"]}}).status_code == 201
    return cw["id"]


def _host_contacts(customer_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(f"{c.first_name} {c.last_name}" for c in db.session.execute(
        select(Contact).where(Contact.customer_id == customer_id)).scalars())


def test_the_rule():
    assert person_name_key(" María ", "GARCÍA") == person_name_key("maria", "garcia") == "maria garcia"
    assert person_name_key("Lucas", "O’Brien") == person_name_key("lucas", "o'brien")
    same = SamePerson([(1, "Lucas", "O'Brien", "lucas@x.example"), (2, "Maria", "Garcia", None),
                       (3, "Sam", "Smith", None), (4, "Sam", "Smith", None), (5, "Ana", "Ruiz", "ana@x.example")])
    assert same.match("LUCAS", "o'brien", None) == 1  # no e-mail here: by name
    assert same.match("Someone", "Else", "LUCAS@x.example") == 1  # the same e-mail, whatever the name
    assert same.match("María", "García", "maria@x.example") == 2  # no e-mail there: by name
    assert same.match("Ana", "Ruiz", "other@x.example") is None  # two e-mails that differ: two people
    assert same.match("Sam", "Smith", None) is None  # two candidates: none
    same.take(1)
    assert same.match("Lucas", "O'Brien", None) is None  # taken by another contact


def test_an_import_matches_a_contact_without_an_e_mail_by_name_and_the_export_makes_no_second_one(sync_ready):
    customer = make_customer(contacts=[LUCAS, MARIA], account_number="BAYVIEW", name="Bayview Law Group")
    company_id = _company(sync_ready, "BAYVIEW", [
        {"firstName": "Lucas", "lastName": "O'Brien", "communicationItems": [
            {"type": {"name": "Direct"}, "value": "902-555-0111", "defaultFlag": True}]},
        {"firstName": "Maria", "lastName": "Garcia", "communicationItems": [
            {"type": {"name": "Email"}, "value": "maria@bayview.example", "defaultFlag": True}]}])

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    # No second Lucas, no second María (whose spelling stays the master's: test_bulk_import_keeps_host_master).
    assert [person_name_key(n, "") for n in _host_contacts(customer.id)] == ["lucas o'brien", "maria garcia"]
    linked = {link.host_id: link.cw_id for link in db.session.execute(
        select(Link).where(Link.entity == CONTACT)).scalars()}
    assert len(linked) == 2 and set(linked.values()) == {c["id"] for c in contacts_of(sync_ready, company_id)}
    assert export(customer.id).status == "succeeded"
    assert sorted(person_name_key(c["firstName"], c["lastName"]) for c in contacts_of(sync_ready, company_id)) == [
        "lucas o'brien", "maria garcia"]


def test_an_export_links_the_company_contact_with_the_same_name_when_one_has_no_e_mail(sync_ready):
    customer = make_customer(contacts=[LUCAS, MARIA], account_number="BAYVIEW", name="Bayview Law Group")
    company_id = _company(sync_ready, "BAYVIEW", [
        {"firstName": "LUCAS", "lastName": "o'brien"},
        {"firstName": "Maria", "lastName": "Garcia", "communicationItems": [
            {"type": {"name": "Email"}, "value": "maria@bayview.example", "defaultFlag": True}]}])
    set_link(db.session, CUSTOMER, customer.id, company_id, cw_identifier="BAYVIEW")  # as Map customers does
    db.session.commit()

    done = export(customer.id)

    assert done.status == "succeeded", [i.message for i in items(done)]
    assert len(contacts_of(sync_ready, company_id)) == 2
    said = {i.label: i.message for i in items(done, "contact")}
    assert any("with the same name" in m for m in said.values()), said
