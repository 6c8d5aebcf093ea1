"""A callback naming colcw's own member whose record colcw has not linked yet (the export that wrote it links it only
after ConnectWise answered, and the callback may come first) is recorded at once: the web request no longer waits for
the export's link (it polled it for up to 1.5 s, tying up a web worker under a slow bulk export). The live-update run
that takes the hint tells colcw's own write coming back from someone else's edit made with colcw's keys. Against the
sandbox over HTTP, through the callback endpoint."""

from __future__ import annotations

import json

import pytest
from inbound_support import (
    enable,
    export_customer,
    message,
    record_reads,
    run_items,
    signed_headers,
    the_callback_url,
)
from sqlalchemy import event, select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, InboundHint, Link, RecordDrift
from colcw_plugin.models.links import get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.shared.fields import WRITTEN
from host_stub.extensions import db
from host_stub.models import Contact


class _LinkReads:
    """Counts the statements that read colcw's links while the block runs (this process: the test client's
    request)."""

    def __init__(self):
        self.count = 0

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "colcw_links" in statement:
            self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._seen)


def _post(app, sandbox, ctype: str, record: dict, member: str) -> str:
    key = sandbox.signing_key()["signing_key"]
    body = json.loads(message(sandbox, ctype, record["id"], member=member))
    body = json.dumps({**body, "Entity": json.dumps(record)}).encode()
    resp = app.test_client().post("/" + the_callback_url().split("/", 3)[3], data=body,
                                  headers=signed_headers(body, key))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True).strip()


def _hints() -> dict[tuple[str, int], InboundHint]:
    db.session.expire_all()
    return {(h.entity, h.cw_id): h for h in db.session.execute(select(InboundHint)).scalars()}


def _reads(sandbox) -> int:
    return len(record_reads(sandbox, "company/companies")) + len(record_reads(sandbox, "company/contacts"))


def test_the_request_does_not_wait_for_the_exports_link_and_the_run_still_tells_the_echo(app, connected,
                                                                                          drain_queue):
    customer, company, contacts = export_customer(connected, account_number="ECHOLATE1", name="Echo Late Co")
    company_written = connected.api("GET", f"company/companies/{company}").json()
    ada_written = connected.api("GET", f"company/contacts/{contacts['Ada']}").json()
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    own = get_live(db.session).own_member
    assert own

    # As at the callbacks' arrival, while the export has not committed what it wrote: the company's link does not
    # remember the version yet, the new contact has no link at all.
    company_link = get_link(db.session, "customer", customer.id)
    company_link_id, remembered = company_link.id, dict(company_link.synced_values)
    company_link.synced_values = {k: v for k, v in remembered.items() if k != WRITTEN}
    ada = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                   Contact.first_name == "Ada")).scalar_one()
    ada_link = get_link(db.session, "contact", ada.id)
    ada_copy = {c.key: getattr(ada_link, c.key) for c in Link.__table__.columns if c.key != "id"}
    db.session.delete(ada_link)
    db.session.commit()

    with _LinkReads() as looks:
        said = [_post(app, connected, "company", company_written, own),
                _post(app, connected, "contact", ada_written, own)]
    assert said == ["Recorded.", "Recorded."]
    # Each request looked at the links once (the contact's: whether it is known; the company's: that and whether it
    # is linked at all), and did not look again for the export's link (the old wait looked every 50 ms for 1.5 s).
    assert looks.count <= 3
    hints = _hints()
    assert hints[("company", company)].pending and hints[("contact", contacts["Ada"])].pending

    # The export commits its links after the callbacks came; the run that takes them finds them colcw's own.
    db.session.get(Link, company_link_id).synced_values = remembered
    db.session.add(Link(**ada_copy))
    db.session.commit()
    reads = _reads(connected)
    assert drain_queue() >= 1
    assert _reads(connected) == reads  # neither record read back from ConnectWise
    assert ("company", company) not in _hints() and ("contact", contacts["Ada"]) not in _hints()  # as if never said
    assert run_items("cw_live_update") == []
    assert not db.session.execute(select(RecordDrift).where(RecordDrift.customer_id == customer.id)).first()


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_edit_with_colcws_keys_recorded_without_waiting_is_still_read(app, connected, drain_queue, master):
    customer, company, contacts = export_customer(connected, account_number="ECHOLATE2", name="Edit Late Co")
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    own = get_live(db.session).own_member
    # Someone using colcw's API member edits the contact: ConnectWise names colcw's member.
    resp = connected.api("PATCH", f"company/contacts/{contacts['Ada']}",
                         json=[{"op": "replace", "path": "title", "value": "CEO"}])
    assert resp.status_code == 200, resp.text
    edited = resp.json()

    with _LinkReads() as looks:
        assert _post(app, connected, "contact", edited, own) == "Recorded."
    assert looks.count <= 1
    reads = len(record_reads(connected, "company/contacts"))
    assert drain_queue() >= 1
    assert len(record_reads(connected, "company/contacts")) > reads  # read back: not colcw's version
    assert not _hints()[("contact", contacts["Ada"])].pending
    db.session.expire_all()
    ada = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                   Contact.first_name == "Ada")).scalar_one()
    if master == CW_MASTER:
        assert ada.title == "CEO"
    else:
        assert ada.title == "CFO"
        drift = db.session.execute(select(RecordDrift).where(RecordDrift.customer_id == customer.id)).scalars().all()
        assert [(d.entity, d.field, d.cw_value) for d in drift] == [("contact", "title", "CEO")]


def test_a_persons_callback_pending_beside_colcws_echo_is_read(app, connected, drain_queue):
    """The run skips a record only when every callback pending for it was colcw's own write: a person's callback
    recorded before the echo's is read all the same."""
    customer, company, contacts = export_customer(connected, account_number="ECHOLATE3", name="Mixed Late Co")
    ada_written = connected.api("GET", f"company/contacts/{contacts['Ada']}").json()
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    own = get_live(db.session).own_member
    ada = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                   Contact.first_name == "Ada")).scalar_one()
    ada_link = get_link(db.session, "contact", ada.id)
    ada_link_id, remembered = ada_link.id, dict(ada_link.synced_values)
    ada_link.synced_values = {k: v for k, v in remembered.items() if k != WRITTEN}
    db.session.commit()

    assert _post(app, connected, "contact", {"id": contacts["Ada"]}, "admin1") == "Recorded."
    assert _post(app, connected, "contact", ada_written, own) == "Recorded."
    db.session.get(Link, ada_link_id).synced_values = remembered
    db.session.commit()
    reads = len(record_reads(connected, "company/contacts"))
    assert drain_queue() >= 1
    assert len(record_reads(connected, "company/contacts")) > reads
    hint = _hints()[("contact", contacts["Ada"])]
    assert not hint.pending and hint.hints == 2
