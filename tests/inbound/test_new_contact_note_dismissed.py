"""ChannelOnline the master, a contact added in ConnectWise is a note on the customer page that says its fix ("Add the
contact in ChannelOnline, or import the company to take it") and can be dismissed; the state's advice fits it (not
"export it to put ChannelOnline's values back", which does nothing for it), on the panel and on All Customers. The
note had no button and exporting did not clear it: the fix was only in the run log."""

from __future__ import annotations

import re
from html import unescape

from htmx_loads import loaded
from inbound_support import enable, export_customer
from test_moved_contact_not_recreated import _run

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.sync.customers.list_status import row_states
from helpers import csrf_from, list_states
from host_stub.extensions import db

EXPORT_ADVICE = "export it to put ChannelOnline's values back"


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_new_contact_note_says_its_fix_and_is_dismissed(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LENA1", name="Ortiz Optics")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    made = sandbox.api("POST", "company/contacts", json={"firstName": "Lena", "lastName": "Ortiz",
                                                         "company": {"id": company}})
    assert made.status_code == 201, made.text
    _run("cw_reconcile", {"mode": "changes"})  # the safety net reads the new contact

    page = loaded(rep_client, f"/customers/{customer.id}")
    status = _text(page.split('id="colcw-link-status">')[1].split("</p>")[0])
    assert "Synced — ConnectWise differs (not taken)" in status, status
    assert "ConnectWise holds contacts live updates did not create here" in status and EXPORT_ADVICE not in status
    row = re.search(r'<tr data-kind="new_contact".*?</tr>', page, re.S)
    assert row is not None, page
    assert "Add the contact in ChannelOnline, or import the company to take it" in _text(row.group(0))
    assert ">Dismiss</button>" in row.group(0), row.group(0)
    label, reason = list_states(loaded(rep_client, "/customers/"))["LENA1"]
    assert label == "Synced — ConnectWise differs (not taken)"
    assert "add each in ChannelOnline, or import the company to take them" in reason and EXPORT_ADVICE not in reason

    note = re.search(r'name="note" value="([^"]+)"><input type="hidden" name="seen" value="([^"]*)"', row.group(0))
    resp = rep_client.post(f"/colcw/customers/{customer.id}/notes/dismiss", data={
        "note": unescape(note.group(1)), "seen": unescape(note.group(2)), "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    after = loaded(rep_client, f"/customers/{customer.id}")
    assert 'data-kind="new_contact"' not in after
    assert "note dismissed; the contact stays in ConnectWise only" in _text(after)
    db.session.expire_all()
    assert row_states(db.session, [customer.id])[customer.id].label == "Synced"
