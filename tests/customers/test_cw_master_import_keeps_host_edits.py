"""QA data audit, ConnectWise the master for customer data: a customer edited in ChannelOnline and not exported yet
(fax, address line 2, name, city / state / zip, a contact's title and mobile) lost those edits to ConnectWise's old
values on Jobs → Customer import → All, and on the import of that one company by its Company ID, while live
updates kept them. Imports now follow live updates' rule against what both sides agreed at the last sync: a field
ConnectWise changed is taken (the master, a field changed on both sides too), a field changed only in ChannelOnline
is kept, the customer stays "Changed since export", and the next export sends it. Against the sandbox over HTTP."""

from __future__ import annotations

import pytest
from customer_support import (
    company,
    contacts_of,
    export,
    import_popup,
    items,
    link_of,
    make_customer,
    run,
    text_of,
    update_customer,
)

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import links as customer_links
from colcw_plugin.views import customers as customer_views
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer

HOST_EDITS = {"fax": "512-555-0199", "address2": "Suite 400", "name": "Acme Corporation", "city": "Tulsa",
              "state": "OK", "zip": "74103"}


def _exported_then_edited_on_both_sides(sandbox) -> tuple[int, int, dict[str, int]]:
    """ACME1 exported (ConnectWise the master); then edited in ChannelOnline and not exported, while someone in
    ConnectWise changed the company's phone and website and Ada's address (the website in ChannelOnline too)."""
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id = link_of("customer", customer.id).cw_id
    ids = {c["firstName"]: c["id"] for c in contacts_of(sandbox, company_id)}

    update_customer(customer.id, website="https://acme-host.example", **HOST_EDITS)
    db.session.expire_all()
    ada = next(c for c in db.session.get(Customer, customer.id).contacts if c.first_name == "Ada")
    save_customer({}, [{"id": ada.id, "title": "Chief Financial Officer", "mobile_phone": "512-555-0999"}],
                  customer_id=customer.id)

    assert sandbox.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "phoneNumber", "value": "512-555-0777"},
        {"op": "replace", "path": "website", "value": "https://acme-cw.example"}]).status_code == 200
    assert sandbox.api("PATCH", f"company/contacts/{ids['Ada']}", json=[
        {"op": "replace", "path": "addressLine1", "value": "9 Lamar Blvd"}]).status_code == 200
    return customer.id, company_id, ids


def _customer(customer_id: int) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer_id)


@pytest.mark.parametrize("scope", [{"mode": "all"}, {"company": "ACME1"}], ids=["all", "by-company-id"])
def test_an_import_keeps_edits_made_only_in_channelonline_and_takes_connectwises_changes(sync_ready, scope):
    customer_id, company_id, ids = _exported_then_edited_on_both_sides(sync_ready)

    done = run("customer_import", scope)
    assert done.status == "succeeded", done.message

    after = _customer(customer_id)
    # ChannelOnline's own edits stay ...
    assert {k: getattr(after, k) for k in HOST_EDITS} == HOST_EDITS
    ada = next(c for c in after.contacts if c.first_name == "Ada")
    assert (ada.title, ada.mobile_phone) == ("Chief Financial Officer", "512-555-0999")
    # ... ConnectWise's changes are taken (the master), a field changed on both sides included.
    assert (after.phone, after.website) == ("512-555-0777", "https://acme-cw.example")
    assert ada.address1 == "9 Lamar Blvd"
    # The run log says what was taken and what was kept.
    [said] = items(done, "customer")
    assert said.action == "updated", said.message
    assert "Company Phone “512-555-0100” → “512-555-0777”" in said.message, said.message
    assert "Website changed on both sides: kept ConnectWise's “https://acme-cw.example” (the master); " \
           "ChannelOnline had “https://acme-host.example”" in said.message, said.message
    assert "kept ChannelOnline's own edits, not exported yet" in said.message, said.message
    assert "Company Fax “512-555-0199”" in said.message, said.message
    assert "→ “512-555-0101”" not in said.message  # (the old fax was not put back)
    [ada_said] = [i for i in items(done, "contact") if i.cw_id == ids["Ada"]]
    assert ada_said.action == "updated" and "Address Line 1" in ada_said.message, ada_said.message
    assert "Title" not in ada_said.message.split("kept")[0], ada_said.message

    # Still "Changed since export": the edits wait for the next export, which sends them and leaves ConnectWise's.
    assert customer_links.status(db.session, after).changed
    sent = export(customer_id)
    assert sent.status == "succeeded", sent.message
    cw = company(sync_ready, company_id)
    assert (cw["faxNumber"], cw["addressLine2"], cw["name"], cw["city"], cw["state"], cw["zip"]) == (
        "512-555-0199", "Suite 400", "Acme Corporation", "Tulsa", "OK", "74103")
    assert (cw["phoneNumber"], cw["website"]) == ("512-555-0777", "https://acme-cw.example")
    cw_ada = sync_ready.api("GET", f"company/contacts/{ids['Ada']}").json()
    assert (cw_ada["title"], cw_ada["addressLine1"]) == ("Chief Financial Officer", "9 Lamar Blvd")
    assert "512-555-0999" in [i["value"] for i in cw_ada["communicationItems"] if i["type"]["name"] == "Cell"]
    assert not customer_links.status(db.session, _customer(customer_id)).changed


def test_an_import_that_finds_only_connectwise_changes_leaves_the_customer_synced(sync_ready):
    """Without edits of ChannelOnline's own, the import takes ConnectWise's changes and the customer is in sync."""
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id = link_of("customer", customer.id).cw_id
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "faxNumber", "value": "512-555-0666"}]).status_code == 200

    done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    after = _customer(customer.id)
    assert after.fax == "512-555-0666"
    assert not customer_links.status(db.session, after).changed


def test_the_popup_asks_only_about_values_the_import_would_replace(sync_ready, rep_client, monkeypatch):
    """Import From ConnectWise asks before an import overwrites a rep's edits. ConnectWise the master, the import keeps
    the edits ConnectWise did not touch, so the popup lists only the fields changed on both sides (the master's value
    replaces the rep's); with none, it imports without asking."""
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id = link_of("customer", customer.id).cw_id
    update_customer(customer.id, fax="512-555-0199", website="https://acme-host.example")
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "website", "value": "https://acme-cw.example"}]).status_code == 200

    asked = text_of(import_popup(rep_client, company="ACME1"))
    assert 'id="colcw-import-overwrite"' in asked, asked
    assert "<td>Website</td><td>https://acme-host.example</td><td>https://acme-cw.example</td>" in asked, asked
    # kept by the import: not replaced, not asked about (the popup says it is kept)
    assert "Company Fax" not in asked.split('id="colcw-import-overwrites"')[1].split("</table>")[0], asked
    assert _customer(customer.id).website == "https://acme-host.example"  # nothing imported yet

    replaced = import_popup(rep_client, company="ACME1", choice="replace")
    assert "HX-Redirect" in replaced.headers, text_of(replaced)
    after = _customer(customer.id)
    assert (after.website, after.fax) == ("https://acme-cw.example", "512-555-0199")

    # Only the rep's fax is left, which ConnectWise did not change: the popup imports without asking, keeping it.
    monkeypatch.setattr(customer_views, "REPEAT_SECONDS", 0)  # (a second import this soon is not a double click)
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "phoneNumber", "value": "512-555-0777"}]).status_code == 200
    answer = import_popup(rep_client, company="ACME1")
    assert 'id="colcw-import-overwrite"' not in text_of(answer) and "HX-Redirect" in answer.headers
    after = _customer(customer.id)
    assert (after.phone, after.fax) == ("512-555-0777", "512-555-0199")
    assert customer_links.status(db.session, after).changed  # the fax still waits for the next export
