"""Live updates with a ConnectWise whose clock is ten minutes behind colcw's (the sandbox's clock_offset_seconds):
the safety net's watermark is kept by ConnectWise's clock, as its answers' Date told it, so a change made there after
a pass is read by the next one; and a contact ConnectWise entered after its company was linked comes in as new,
however far back ConnectWise's clock stamped it (colcw_plugin/cw/server_clock.py)."""

from __future__ import annotations

import time

from inbound_support import enable, export_customer
from sqlalchemy import select
from test_moved_contact_not_recreated import _run

from colcw_plugin.models import CW_MASTER, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from host_stub.extensions import db
from host_stub.models import Contact, Customer

BEHIND = 600  # seconds


def _pass() -> SyncRun:
    done = _run("cw_reconcile", {"mode": "changes"})
    assert done.status == "succeeded", done.message
    return done


def test_a_change_after_a_pass_is_read_by_the_next_one(app, fast_callbacks):
    sandbox = fast_callbacks
    sandbox.set_options(clock_offset_seconds=-BEHIND)
    customer, company, _ = export_customer(sandbox, account_number="CLK1", name="Clockwork Co")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")  # (no callback reaches colcw: the safety net reads)
    first = _pass()
    db.session.expire_all()
    # The pass's start by ConnectWise's clock, taken no later than it can have been: ten minutes before the run's end
    # by ours at least (its pass starts a moment after the run does, longer on a loaded machine), and not much more.
    watermark = get_live(db.session).changes_watermark
    assert (first.finished_at - watermark).total_seconds() >= BEHIND, (first.finished_at, watermark)
    assert (first.started_at - watermark).total_seconds() < BEHIND + 3, (first.started_at, watermark)
    sandbox.edit_company(company, {"city": "Dallas"})  # stamped ten minutes back by ours

    _pass()
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).city == "Dallas"


def test_a_contact_entered_after_the_link_comes_in_as_new(app, fast_callbacks):
    sandbox = fast_callbacks
    sandbox.set_options(clock_offset_seconds=-BEHIND)
    customer, company, _ = export_customer(sandbox, account_number="CLK2", name="Clockface Ltd")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    _pass()
    time.sleep(2.1)  # ConnectWise stamps whole seconds, and its clock is measured to about one
    made = sandbox.api("POST", "company/contacts", json={"firstName": "Lena", "lastName": "Tick",
                                                         "company": {"id": company}})
    assert made.status_code == 201, made.text
    record_hint(db.session, Hint("contact", made.json()["id"], "added"))  # read whatever the watermark says
    db.session.commit()

    _pass()
    db.session.expire_all()
    names = set(db.session.execute(select(Contact.first_name).where(Contact.customer_id == customer.id)).scalars())
    assert "Lena" in names, names
