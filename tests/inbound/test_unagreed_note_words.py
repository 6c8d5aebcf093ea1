"""The customer page's note of a field with no earlier agreement says so, not that the field changed on both sides. A
company linked by hand on Map customers while its phone differed from the customer's agrees on no phone: nothing
tells whose value is newer, so the master's stands. The page said "Changed on both sides: ConnectWise's value was
taken …" (or, ChannelOnline the master, "Changed in ConnectWise; not taken"), though nobody had changed anything since
the link: a rep read that someone in ConnectWise had just overwritten their edit."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_first_link import messages, run
from inbound_support import enable
from sqlalchemy import select
from test_hand_link_agreement import linked_by_hand

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import csrf_from, sign_in
from host_stub.extensions import db
from host_stub.models import Customer


def _phone_note(app, customer_id: int) -> tuple[str, str]:
    """The drift box's heading and the phone row's "What happened", as a rep reads them."""
    with app.app_context():
        page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer_id}")
    box = page[page.index('id="colcw-drift"'):]
    heading = re.sub(r"<[^>]+>", "", box[:box.index("</p>")])
    row = re.search(r'<tr data-kind="\w+" data-field="phone" data-entity="customer">(.*?)</tr>', box, re.S).group(1)
    said = re.findall(r"<td>(.*?)</td>", row, re.S)[-2]
    return (" ".join(html_lib.unescape(heading).split()),
            " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", said)).split()))


def _linked_then_read(sandbox, admin_client, master: str, *, phone_after: str):
    """A customer linked by hand while its phone (625-555-0199) differed from its company's (625-555-0100), then one
    live update under ``master``; the customer's phone after it is ``phone_after``."""
    customer, cw_id = linked_by_hand(sandbox, admin_client, phone="625-555-0199")
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    live = run(LIVE_KIND, {"records": {"company": [cw_id]}})
    assert live.status == "succeeded", live.message
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).phone == phone_after, messages(live)
    return customer, cw_id


def test_connectwise_the_master_the_note_says_no_earlier_agreement(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, cw_id = _linked_then_read(sandbox, admin_client, CW_MASTER, phone_after="625-555-0100")
    heading, said = _phone_note(app, customer.id)
    assert said.startswith("No earlier agreement: the two held different values when they were linked, so nothing "
                           "told whose was newer. ConnectWise's value was taken (it is the master); ChannelOnline had "
                           "“625-555-0199”."), said
    assert "both sides" not in heading.casefold() or "agree now" in heading, heading
    assert not heading.startswith("Changed on both sides"), heading


def test_channelonline_the_master_the_note_says_no_earlier_agreement(app, fast_callbacks, admin_client):
    sandbox = fast_callbacks
    customer, cw_id = _linked_then_read(sandbox, admin_client, HOST_MASTER, phone_after="625-555-0199")
    words = ("No earlier agreement: the two held different values when they were linked, so nothing told whose was "
             "newer. ChannelOnline's value was kept (it is the master); ConnectWise has “625-555-0100”.")
    _, said = _phone_note(app, customer.id)
    assert said.startswith(words), said

    # A later reading (ConnectWise changed another field) says the same of the phone: still nobody changed it.
    sandbox.edit_company(cw_id, {"city": "Boulder"})
    again = run(LIVE_KIND, {"records": {"company": [cw_id]}})
    assert again.status == "succeeded", again.message
    _, said = _phone_note(app, customer.id)
    assert said.startswith(words), said

    # The rep keeps ChannelOnline's value, as for any note ChannelOnline's value stood on.
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        page = loaded(client, f"/customers/{customer.id}")
        assert "Keep ChannelOnline's value</button>" in html_lib.unescape(page)
        resp = client.post(f"/colcw/customers/{customer.id}/notes/dismiss", data={
            "csrf_token": csrf_from(page), "note": f"customer:{customer.id}:phone", "seen": "625-555-0100"})
        assert resp.status_code in (200, 302), resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(select(RecordDrift).where(RecordDrift.host_id == customer.id,
                                                        RecordDrift.field == "phone")).first() is None
