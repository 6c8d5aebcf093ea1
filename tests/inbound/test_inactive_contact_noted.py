"""A linked contact made inactive in ConnectWise is noted on the customer page ("Inactive in ConnectWise since …",
with what to do: delete it here, or make it active again in ConnectWise) and said in the run log; it was ignored
without a word ("1 more read needed nothing here (… inactive …)"). Made active again, the note ends."""

from __future__ import annotations

import re
from html import unescape

import pytest
from htmx_loads import loaded
from inbound_support import enable, export_customer
from sqlalchemy import select
from test_moved_contact_not_recreated import _items, _run

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize("master", [HOST_MASTER, CW_MASTER])
def test_a_contact_made_inactive_in_connectwise_is_noted_until_active_again(app, fast_callbacks, rep_client, master):
    sandbox = fast_callbacks
    customer, _company, contacts = export_customer(sandbox, account_number="INACT1", name="Idle Dental")
    first, cw_id = next(iter(contacts.items()))
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    sandbox.edit_contact(cw_id, {"inactiveFlag": True})
    run = _run("cw_reconcile", {"mode": "changes"})
    said = [i for i in _items(run) if i.entity == "contact" and i.cw_id == cw_id]
    assert said and "made inactive in ConnectWise" in said[0].message, [i.message for i in _items(run)]

    page = loaded(rep_client, f"/customers/{customer.id}")
    row = re.search(r'<tr data-kind="inactive".*?</tr>', page, re.S)
    assert row is not None, _text(page)
    text = _text(row.group(0))
    assert first in text and "Inactive in ConnectWise since" in text, text
    assert "delete the contact in ChannelOnline; otherwise make them active again in ConnectWise" in text, text
    status = _text(page.split('id="colcw-link-status">')[1].split("</p>")[0])
    assert "made inactive there" in status and "export it to put" not in status, status

    # Read again still inactive: one note, its time kept.
    _run("cw_reconcile", {"mode": "changes"})
    assert len(db.session.execute(select(RecordDrift).where(RecordDrift.kind == "inactive")).scalars().all()) == 1

    sandbox.edit_contact(cw_id, {"inactiveFlag": False})
    _run("cw_reconcile", {"mode": "changes"})
    db.session.expire_all()
    assert db.session.execute(select(RecordDrift).where(RecordDrift.kind == "inactive")).first() is None
    assert 'data-kind="inactive"' not in loaded(rep_client, f"/customers/{customer.id}")


def test_an_export_keeps_the_note_of_a_contact_still_inactive_in_connectwise(app, fast_callbacks, rep_client):
    """An export settles the notes of fields it sends, but it does not make a contact active again in ConnectWise:
    the inactive note stays while the contact is inactive there (the export deleted it with the field notes)."""
    sandbox = fast_callbacks
    customer, _company, contacts = export_customer(sandbox, account_number="INACT2", name="Idle Clinic")
    _first, cw_id = next(iter(contacts.items()))
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    sandbox.edit_contact(cw_id, {"inactiveFlag": True})
    _run("cw_reconcile", {"mode": "changes"})
    assert db.session.execute(select(RecordDrift).where(RecordDrift.kind == "inactive")).first() is not None

    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status in ("succeeded", "partial")
    assert sandbox.api("GET", f"company/contacts/{cw_id}").json()["inactiveFlag"] is True
    db.session.expire_all()
    assert db.session.execute(select(RecordDrift).where(RecordDrift.kind == "inactive")).first() is not None
    assert 'data-kind="inactive"' in loaded(rep_client, f"/customers/{customer.id}")
