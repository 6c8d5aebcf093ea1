"""QA data audit, ConnectWise the master for customer data: an export right after an import wrote to ConnectWise
although nobody had edited anything. The import saved a contact's first name "  Li " as ChannelOnline saves text
("Li") and the host made a default contact of a company ConnectWise holds without one, and the export then sent both
("changed First Name", "default contact set"). What the import agrees on is what ConnectWise holds; ChannelOnline's
own spelling of it (text without the spaces around it) and the default contact ChannelOnline needs are no edit of a
person's, so the export sends neither: import-then-export writes nothing. Against the sandbox over HTTP."""

from __future__ import annotations

import pytest
from customer_support import export, items, run

from colcw_plugin.models import CW_MASTER, HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import links as customer_links
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer


def _company_without_default_contact(sandbox) -> tuple[int, dict[str, int]]:
    """Lotus Tea (LOTUS1) in ConnectWise: two contacts, neither the default one, the first named "  Li "."""
    made = sandbox.api("POST", "company/companies", json={
        "identifier": "LOTUS1", "name": "Lotus Tea", "addressLine1": "8 Pearl St", "city": "Austin", "state": "TX",
        "zip": "73301", "phoneNumber": "512-555-0300"})
    assert made.status_code == 201, made.text
    company_id = made.json()["id"]
    ids = {}
    for first, last in (("  Li ", "Wei"), ("Mina", "Park")):
        resp = sandbox.api("POST", "company/contacts", json={
            "firstName": first, "lastName": last, "company": {"id": company_id}, "defaultFlag": False,
            "communicationItems": [{"type": {"name": "Email"}, "value": f"{last.lower()}@lotus.example",
                                    "defaultFlag": True}]})
        assert resp.status_code == 201, resp.text
        ids[last] = resp.json()["id"]
    company = sandbox.api("GET", f"company/companies/{company_id}").json()
    assert not (company.get("defaultContact") or {}).get("id")
    contacts = {i: sandbox.api("GET", f"company/contacts/{i}").json() for i in ids.values()}
    assert contacts[ids["Wei"]]["firstName"] == "  Li "
    assert not any(c.get("defaultFlag") for c in contacts.values())
    return company_id, ids


def _writes(sandbox) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sandbox.requests() if e["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and "/apis/3.0/company/" in e["path"]]


def _customer() -> Customer:
    db.session.expire_all()
    return db.session.query(Customer).filter_by(account_number="LOTUS1").one()


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_export_right_after_an_import_writes_nothing_to_connectwise(sync_ready, master):
    get_live(db.session).customer_master = master
    db.session.commit()
    _, ids = _company_without_default_contact(sync_ready)

    imported = run("customer_import", {"mode": "all"})
    assert imported.status == "succeeded", imported.message
    customer = _customer()
    li = next(c for c in customer.contacts if c.last_name == "Wei")
    assert li.first_name == "Li"  # as ChannelOnline saves text
    assert [c.last_name for c in customer.contacts if c.is_default] == ["Wei"]  # ChannelOnline needs one
    assert not customer_links.status(db.session, customer).changed

    sync_ready.clear_requests()
    done = export(customer.id)
    assert done.status == "succeeded", done.message
    assert _writes(sync_ready) == [], _writes(sync_ready)
    said = {i.cw_id: (i.action, i.message) for i in items(done, "contact")}
    assert set(said.values()) == {("unchanged", "Li Wei (Lotus Tea): unchanged."),
                                  ("unchanged", "Mina Park (Lotus Tea): unchanged.")}, said
    [company_said] = items(done, "customer")
    assert company_said.action == "unchanged", company_said.message
    assert "default contact" not in company_said.message, company_said.message


def test_a_default_contact_a_person_chooses_in_channelonline_is_exported(sync_ready):
    """The rule spares ChannelOnline's own default, not a person's choice: a rep who makes Mina the default contact
    after the import has the export set it in ConnectWise."""
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id, ids = _company_without_default_contact(sync_ready)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    customer = _customer()
    mina = next(c for c in customer.contacts if c.last_name == "Park")
    li = next(c for c in customer.contacts if c.last_name == "Wei")
    save_customer({}, [{"id": mina.id, "is_default": True}, {"id": li.id, "is_default": False}],
                  customer_id=customer.id)

    done = export(customer.id)
    assert done.status == "succeeded", done.message
    cw_company = sync_ready.api("GET", f"company/companies/{company_id}").json()
    assert cw_company["defaultContact"]["id"] == ids["Park"]
    assert sync_ready.api("GET", f"company/contacts/{ids['Wei']}").json()["firstName"] == "  Li "
