"""A contact a rep deletes in ChannelOnline was left active in ConnectWise, and no export said so. With ChannelOnline
the master for customer data, the next export marks it inactive in ConnectWise (colcw deletes nothing there) and says
so; with ConnectWise the master it is left and reported until someone marks it inactive there."""

from __future__ import annotations

from customer_support import CONTACTS, contacts_of, export, items, link_of, make_customer

from colcw_plugin.models import CW_MASTER, Link
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer


def _delete_charles(customer_id: int) -> None:
    """The rep removes Charles on the customer's edit page (the form sends the contacts it keeps)."""
    customer = db.session.get(Customer, customer_id)
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    save_customer({}, [{"id": ada.id, **{k: v for k, v in CONTACTS[0].items()}}], customer_id=customer_id,
                  delete_missing_contacts=True)


def _exported_with_two_contacts(sandbox) -> tuple[Customer, int, dict[str, int]]:
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    ids = {c["firstName"]: c["id"] for c in contacts_of(sandbox, company_id)}
    assert set(ids) == {"Ada", "Charles"}
    return customer, company_id, ids


def _active(sandbox, contact_id: int) -> bool:
    return not sandbox.api("GET", f"company/contacts/{contact_id}").json().get("inactiveFlag")


def test_the_export_marks_a_contact_deleted_in_channelonline_inactive_in_connectwise(sync_ready):
    customer, _, ids = _exported_with_two_contacts(sync_ready)
    _delete_charles(customer.id)

    done = export(customer.id)
    assert done.status == "succeeded", done.message
    assert not _active(sync_ready, ids["Charles"]) and _active(sync_ready, ids["Ada"])
    [said] = [i for i in items(done, "contact") if i.cw_id == ids["Charles"]]
    assert said.action == "updated"
    assert said.message == ("Charles Babbage (Acme Corp): deleted in ChannelOnline; marked inactive in ConnectWise "
                            "(colcw deletes nothing there: its history stays)."), said.message
    db.session.expire_all()
    assert db.session.query(Link).filter_by(entity="contact", cw_id=ids["Charles"]).first() is None

    again = export(customer.id)  # said once: nothing more to do
    assert not [i for i in items(again, "contact") if i.cw_id == ids["Charles"]]
    assert sync_ready.api("GET", f"company/contacts/{ids['Charles']}").status_code == 200  # never deleted


def test_with_connectwise_the_master_the_export_reports_it_and_leaves_it_active(sync_ready):
    customer, _, ids = _exported_with_two_contacts(sync_ready)
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    _delete_charles(customer.id)

    done = export(customer.id)
    assert done.status == "succeeded", done.message
    assert _active(sync_ready, ids["Charles"])
    [said] = [i for i in items(done, "contact") if i.cw_id == ids["Charles"]]
    assert said.action == "skipped"
    assert "Charles Babbage (Acme Corp): deleted in ChannelOnline, still active in ConnectWise" in said.message
    assert "Mark the contact inactive in ConnectWise" in said.resolution

    # Once marked inactive there, the export has nothing more to say about it.
    assert sync_ready.api("PATCH", f"company/contacts/{ids['Charles']}",
                          json=[{"op": "replace", "path": "inactiveFlag", "value": True}]).status_code == 200
    assert not [i for i in items(export(customer.id), "contact") if i.cw_id == ids["Charles"]]
