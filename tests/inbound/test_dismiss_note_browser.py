"""A rep dismisses a note of what came back from ConnectWise on the customer's page, in a real browser: Keep
ChannelOnline's value on one row, the note goes, the page says who dismissed it, and the next safety-net pass does not
bring it back."""

from __future__ import annotations

import re

import pytest
from inbound_support import edit_host, enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, RecordDrift
from colcw_plugin.sync.jobs.runs import create_run
from helpers import browser_sign_in, runtime
from host_stub.extensions import db

pytestmark = pytest.mark.browser


def _pass() -> None:
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"


def _fields(customer_id: int) -> list[str]:
    db.session.rollback()
    return sorted(db.session.execute(select(RecordDrift.field).where(RecordDrift.customer_id == customer_id)).scalars())


def test_rep_keeps_channelonlines_value_and_the_note_stays_gone(app, fast_callbacks, live_server, page):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DISMB1", name="Browser Dental",
                                           fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    _pass()
    edit_host(customer.id, fax="208-555-4444")  # not exported: the fax is a conflict
    sandbox.edit_company(company, {"faxNumber": "208-555-5555", "city": "Nampa"})
    _pass()
    assert _fields(customer.id) == ["city", "fax"]

    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    fax = page.locator('#colcw-drift tr[data-field="fax"]')
    fax.get_by_role("button", name="Keep ChannelOnline's value").click()
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert ("Company Fax of Browser Dental (DISMB1): note dismissed, ChannelOnline's “208-555-4444” kept"
            in page.locator(".flash.success").inner_text())
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()
    assert page.locator('#colcw-drift tr[data-field="fax"]').count() == 0
    page.locator("#colcw-dismissed-notes summary").click()
    assert "(by riley@demo.example)" in page.locator("#colcw-dismissed-notes").inner_text()
    assert _fields(customer.id) == ["city"]

    _pass()  # reads the company again, unchanged
    page.reload()
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()
    assert page.locator('#colcw-drift tr[data-field="fax"]').count() == 0
    assert _fields(customer.id) == ["city"]
