"""An import keeps, on a contact's link, the versions colcw's own writes produced (``colcw:written``), as it keeps
them on the company's link: it dropped them from the contacts' links, so the next callback of colcw's own export of a
contact was read back once more from ConnectWise. Against the sandbox over HTTP, through the callback endpoint."""

from __future__ import annotations

import json

import pytest
from inbound_support import enable, export_customer, message, record_reads, signed_headers, the_callback_url
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, InboundHint, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_a_late_callback_of_colcws_own_contact_write_is_not_read_back_after_an_import(app, connected, drain_queue,
                                                                                      master):
    customer, company, contacts = export_customer(connected, account_number="OWNIMP1", name="Own Import Co")
    as_written = connected.api("GET", f"company/contacts/{contacts['Ada']}").json()
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    assert db.session.get(SyncRun, run.id).status == "succeeded"

    key = connected.signing_key()["signing_key"]
    body = json.loads(message(connected, "contact", contacts["Ada"], member=get_live(db.session).own_member))
    body = json.dumps({**body, "Entity": json.dumps(as_written)}).encode()
    reads = len(record_reads(connected, "company/contacts"))
    resp = app.test_client().post("/" + the_callback_url().split("/", 3)[3], data=body,
                                  headers=signed_headers(body, key))
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).strip() == "colcw's own change; nothing to read."
    drain_queue()
    assert not db.session.execute(select(InboundHint).where(InboundHint.entity == "contact")).first()
    assert len(record_reads(connected, "company/contacts")) == reads  # not read back
