"""Clear link ends what live updates had found through the link cleared, as Link to Company ID to another company
does: the customer's notes (changes not taken, its Company ID changed there, a contact's change, a contact added
there) leave its page and All Customers in the same save, each recorded under the notes dismissed with who and why,
and the flash says how many. A contact's own link cleared ends that contact's notes alone. ChannelOnline the master,
against the sandbox."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import shown
from test_relink_clears_old_notes import _noted, _notes, _text

from colcw_plugin.models import get_link
from colcw_plugin.sync.customers.link_batch import dismissed_notes
from helpers import csrf_from
from host_stub.extensions import db

DIFFERS = "Synced — ConnectWise differs (not taken)"


def _clear(client, customer_id: int, contact_id: int | None = None) -> str:
    token = csrf_from(loaded(client, f"/customers/{customer_id}"))
    data = {"csrf_token": token, **({"contact_id": str(contact_id)} if contact_id else {})}
    resp = client.post(f"/colcw/customers/{customer_id}/clear-link", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    return _text(client.get(resp.headers["Location"]).get_data(as_text=True))  # the flash, once


def test_clearing_the_link_clears_the_notes_found_through_it(app, fast_callbacks, rep_client):
    customer, old = _noted(fast_callbacks, "CLN1", rename=True)
    assert shown(app, customer)[0] == DIFFERS

    flashed = _clear(rep_client, customer.id)

    assert _notes(customer.id) == []
    assert get_link(db.session, "customer", customer.id) is None
    assert f"5 notes of what live updates found in company CLN1-OLD (id {old}) were cleared" in flashed, flashed
    history = [item.message for item in dismissed_notes(db.session, customer.id)]
    assert len(history) == 5 and all(f"note cleared: the customer's link to ConnectWise company CLN1-OLD (id {old}) "
                                     "was cleared, which the note was about" in m for m in history), history
    assert any(m.startswith("Company City of Relink Dental CLN1 (CLN1): note cleared") and "“Nampa” in ConnectWise, "
               "“Boise” in ChannelOnline then" in m and m.endswith("(by riley@demo.example)") for m in history), history
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-drift"' not in page and 'id="colcw-id-changed"' not in page
    assert "Keep ChannelOnline's value" not in page
    panel = _text(page)
    assert "Not linked to a ConnectWise company" in panel
    assert "Nampa" not in panel.split("Notes dismissed on this page")[0]
    assert shown(app, customer)[0] == "Not linked"


def test_clearing_a_contacts_link_clears_that_contacts_notes_only(app, fast_callbacks, rep_client):
    customer, _ = _noted(fast_callbacks, "CLN2", rename=False)
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    contact_link = get_link(db.session, "contact", ada.id).cw_id

    flashed = _clear(rep_client, customer.id, ada.id)

    notes = _notes(customer.id)
    assert ("contact", "title", "drift") not in notes
    assert [n for n in notes if not n[1].startswith("contact:")] == [("customer", "city", "drift"),
                                                                    ("customer", "fax", "drift")], notes
    assert [n[2] for n in notes if n[1].startswith("contact:")] == ["new_contact"], notes  # about the company
    assert "1 note of what live updates found through that link was cleared" in flashed, flashed
    history = [item.message for item in dismissed_notes(db.session, customer.id)]
    assert len(history) == 1 and history[0].startswith(
        f"Title of Ada Lovelace (Relink Dental CLN2): note cleared: the contact's link to ConnectWise contact id "
        f"{contact_link} was cleared, which the note was about (“CEO” in ConnectWise, “CFO” in ChannelOnline then)"), \
        history
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'data-field="title"' not in page and 'data-field="city"' in page
    assert shown(app, customer)[0] == DIFFERS  # the company's notes stand
