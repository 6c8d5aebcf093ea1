"""A contact's first ConnectWise change after Map customers' scan linked its company (none of its contacts linked) is
not lost. The live update links the ConnectWise contact to the customer's contact with the same e-mail, with no
earlier agreement between them: with ConnectWise the master its values come into the host contact (as an import
takes them for a contact it matches so), the run saying which and what ChannelOnline had; with ChannelOnline the
master the difference is noted, not taken. The link stored ConnectWise's values as agreed while the host contact kept
its own, so the host still said "IT Director" and the rep's next export wrote it back over ConnectWise's "CTO"."""

from __future__ import annotations

from inbound_first_link import messages, run, summit
from inbound_support import enable
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncRun, get_link
from colcw_plugin.sync.inbound import LIVE_KIND
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _ethan(customer_id: int) -> Contact:
    db.session.expire_all()
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == "Ethan")).scalar_one()


def _ethans_first_change_read(sandbox, admin_client, master: str) -> tuple[Customer, dict[str, int], SyncRun, Contact]:
    """Summit linked by the scan, live updates on with ``master`` the master, Ethan's title changed to "CTO" in
    ConnectWise and a live update of him (succeeded): (the customer, its contacts' ConnectWise ids, the live update,
    Ethan as the host has him then)."""
    customer, _, contacts = summit(sandbox, admin_client)
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    sandbox.edit_contact(contacts["Ethan"], {"title": "CTO"})

    live = run(LIVE_KIND, {"records": {"contact": [contacts["Ethan"]]}})
    assert live.status == "succeeded", live.message
    return customer, contacts, live, _ethan(customer.id)


def _took_connectwise_cto(sandbox, customer: Customer, live: SyncRun, contact: Contact, cw_id: int, said: str,
                         had: str) -> None:
    """The live update took ConnectWise's title "CTO" (the master's) into the host ``contact``, linked to ``cw_id`` and
    agreeing on "CTO", said ``said`` of it in the run log, and left a note keeping ChannelOnline's ``had`` on the
    customer's page; the rep's next export keeps "CTO" in ConnectWise."""
    assert contact.title == "CTO", messages(live)
    link = get_link(db.session, "contact", contact.id)
    assert link is not None and link.cw_id == cw_id and link.synced_values["title"] == "CTO"
    who = said.partition(":")[0]  # the contact's name and the customer's
    assert [m for m in messages(live) if m.startswith(who)] == [said], messages(live)
    # ChannelOnline's value it replaced stays on the customer's page.
    note = db.session.execute(select(RecordDrift).where(RecordDrift.entity == "contact",
                                                        RecordDrift.host_id == contact.id)).scalar_one()
    assert (note.field, note.cw_value, note.host_value, note.kept) == ("title", "CTO", had, "connectwise")

    export = run("customer_export", {"customer_id": customer.id})
    assert export.status == "succeeded", export.message
    assert sandbox.api("GET", f"company/contacts/{cw_id}").json()["title"] == "CTO", messages(export)


def test_connectwise_the_master_takes_the_first_change_and_the_export_keeps_it(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, contacts, live, ethan = _ethans_first_change_read(sandbox, admin_client, CW_MASTER)
    _took_connectwise_cto(sandbox, customer, live, ethan, contacts["Ethan"], (
        "Ethan Müller (Summit Dental Care): in the ConnectWise company when it was linked; linked to the contact with "
        "the same e-mail; Title differs; no earlier agreement: took ConnectWise's “CTO” (the master); ChannelOnline "
        "had “IT Director”."), "IT Director")


def test_channelonline_the_master_notes_the_difference_and_agrees_on_nothing_of_connectwise(app, fast_callbacks,
                                                                                          admin_client):
    sandbox = fast_callbacks
    customer, contacts, live, ethan = _ethans_first_change_read(sandbox, admin_client, HOST_MASTER)
    assert ethan.title == "IT Director", messages(live)
    link = get_link(db.session, "contact", ethan.id)
    assert link is not None and link.cw_id == contacts["Ethan"]
    assert link.synced_values["title"] != "CTO"  # (ChannelOnline's: the difference is found again, never agreed)
    assert any("Title differs; no earlier agreement: kept ChannelOnline's “IT Director” (the master); ConnectWise "
               "has “CTO”" in m for m in messages(live)), messages(live)
    note = db.session.execute(select(RecordDrift).where(RecordDrift.entity == "contact",
                                                        RecordDrift.host_id == ethan.id)).scalar_one()
    assert (note.field, note.cw_value, note.host_value, note.kept) == ("title", "CTO", "IT Director", "host")

    # The next pass finds the same difference, still not taken.
    again = run(LIVE_KIND, {"records": {"contact": [contacts["Ethan"]]}})
    assert again.status == "succeeded", again.message
    assert _ethan(customer.id).title == "IT Director"
    assert db.session.execute(select(RecordDrift.cw_value).where(RecordDrift.entity == "contact",
                                                                 RecordDrift.host_id == ethan.id)).scalar_one() == "CTO"
