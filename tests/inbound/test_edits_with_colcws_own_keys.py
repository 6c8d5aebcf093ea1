"""Edits made in ConnectWise with colcw's own API keys (a reseller's script, another tool, a person logged in as the
API member) come back as anyone's do; colcw's own writes still never come back. colcw tells its own writes by what
they wrote (the record's lastUpdated and fields its link remembers), not by the member ConnectWise names."""

from __future__ import annotations

import json

import pytest
from htmx_loads import loaded
from inbound_support import (
    enable,
    export_customer,
    message,
    run_items,
    settle,
    signed_headers,
    the_callback_url,
    wait_for,
)
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, InboundHint, RecordDrift
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _patch(sandbox, path: str, **changes) -> dict:
    """A PATCH straight against ConnectWise with the credentials colcw is configured with (its API member)."""
    resp = sandbox.api("PATCH", path, json=[{"op": "replace", "path": k, "value": v} for k, v in changes.items()])
    assert resp.status_code == 200, resp.text
    return resp.json()


def _callbacks(sandbox) -> list[dict]:
    """The callback messages ConnectWise (the sandbox) delivered, oldest first."""
    out = []
    for entry in sandbox.deliveries(body=True):
        body = entry.get("body")
        out.append(json.loads(body) if isinstance(body, str) else body)
    return out


def _contact(customer_id: int, first_name: str) -> Contact:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar_one()


def _drift(customer_id: int) -> list[tuple]:
    return sorted((d.entity, d.field, d.host_value, d.cw_value) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_edit_made_with_colcws_own_keys_after_its_export_comes_back(app, fast_callbacks, live_server,
                                                                         worker_thread, master):
    sandbox = fast_callbacks
    enable(live_server.url, master)
    customer, company, contacts = export_customer(sandbox, account_number="OWNKEY1", name="Own Key Co")
    settle(sandbox)  # the export's own callbacks came and went
    own = get_live(db.session).own_member
    assert own and not _drift(customer.id)
    sandbox.clear_deliveries()

    _patch(sandbox, f"company/companies/{company}", city="Dallas")
    _patch(sandbox, f"company/contacts/{contacts['Ada']}", title="CEO")
    settle(sandbox)

    sent = [(m["Type"], m["ID"], m["MemberId"]) for m in _callbacks(sandbox)]
    assert ("company", company, own) in sent and ("contact", contacts["Ada"], own) in sent  # named as colcw
    db.session.expire_all()
    if master == CW_MASTER:
        wait_for(lambda: db.session.get(Customer, customer.id).city == "Dallas"
                 and _contact(customer.id, "Ada").title == "CEO", what="the edits to be taken")
        assert _drift(customer.id) == []
    else:
        wait_for(lambda: len(_drift(customer.id)) == 2, what="the edits to be noted")
        assert _drift(customer.id) == [("contact", "title", "CFO", "CEO"), ("customer", "city", "Austin", "Dallas")]
        assert db.session.get(Customer, customer.id).city == "Austin"
        page = loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer.id}")
        assert 'id="colcw-drift"' in page and "Dallas" in page and "not taken (ChannelOnline is the master)" in page


def test_colcws_own_exports_still_do_not_come_back_nor_are_read(app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    enable(live_server.url, HOST_MASTER)
    # Created: the company, its two contacts, then the company again (its default contact).
    customer, company, contacts = export_customer(sandbox, account_number="OWNKEY2", name="Echo Two Co")
    # Updated: the company and a contact.
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, "city": "Houston"}, customer_id=customer.id)
    ada = _contact(customer.id, "Ada")
    ada.title = "CEO"
    db.session.commit()
    export = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, export.id).status == "succeeded"
    assert sandbox.api("GET", f"company/contacts/{contacts['Ada']}").json()["title"] == "CEO"
    settle(sandbox)

    own = get_live(db.session).own_member
    sent = {(m["Type"], m["ID"]) for m in _callbacks(sandbox) if m["MemberId"] == own}
    assert {("company", company), ("contact", contacts["Ada"]), ("contact", contacts["Charles"])} <= sent
    # None of them was taken for a change, nor even read back: no hint recorded, no live update about them.
    assert not db.session.execute(select(InboundHint).where(InboundHint.entity.in_(("company", "contact")))).first()
    assert not [i for i in run_items("cw_live_update") if i.entity in ("customer", "contact")]
    assert _drift(customer.id) == [] and db.session.get(Customer, customer.id).city == "Houston"


def test_a_live_update_reading_the_company_keeps_what_colcw_wrote(app, connected, drain_queue):
    """A pass that reads the company (someone's callback) and finds it unchanged keeps the versions colcw wrote on
    its link: a late callback for colcw's own export is still not read back."""
    customer, company, _ = export_customer(connected, account_number="OWNKEY3", name="Late Echo Co")
    as_written = connected.api("GET", f"company/companies/{company}").json()
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    key = connected.signing_key()["signing_key"]
    client = app.test_client()

    def post(record: dict, member: str) -> str:
        body = json.loads(message(connected, "company", company, member=member))
        body = json.dumps({**body, "Entity": json.dumps(record)}).encode()
        resp = client.post("/" + the_callback_url().split("/", 3)[3], data=body, headers=signed_headers(body, key))
        assert resp.status_code == 200
        return resp.get_data(as_text=True).strip()

    assert post({"id": company}, "admin1") == "Recorded."  # a person's callback without the record: read
    assert drain_queue() == 1
    assert not db.session.execute(select(InboundHint).where(InboundHint.pending.is_(True))).first()
    assert run_items("cw_live_update") == []  # read back unchanged
    assert post(as_written, get_live(db.session).own_member) == "colcw's own change; nothing to read."
