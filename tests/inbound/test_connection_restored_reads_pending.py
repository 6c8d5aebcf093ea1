"""Fixing the connection (the Connection page, or ``colcw configure``) reads at once the records whose callbacks came
while ConnectWise refused colcw's login: their hints stayed pending (the live-update run met the 401), and they were
read only by the next safety-net pass (QA: 8 minutes later), though configure said "The callbacks' earlier error is
cleared."."""

from __future__ import annotations

import html

import pytest
from inbound_support import enable, export_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.sync.inbound.hints import Hint, pending_count, record_hint
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

URL = "/admin/integration/connectwise/"


def _save_on_page(admin_client, sandbox, private_key: str) -> str:
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    resp = admin_client.post(URL + "connection", data={
        "csrf_token": token, "site_url": sandbox.base_url, "company_id": sandbox.company_id, "auth_mode": "api_keys",
        "public_key": sandbox.public_key, "private_key": private_key, "client_id": "colcw-tests", "allow_http": "on"},
        follow_redirects=True)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def _renamed_while_refused(admin_client, sandbox) -> int:
    """A linked customer renamed in ConnectWise while colcw's key is refused: its callback's hint is recorded, the
    live-update run that reads it meets the 401 and leaves it pending. The customer's id."""
    customer, company, _ = export_customer(sandbox)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    _save_on_page(admin_client, sandbox, "not-the-key")
    sandbox.edit_company(company, {"name": "Acme Renamed"})
    record_hint(db.session, Hint("company", company, "updated"))
    run = create_run(db.session, runtime().kinds, "cw_live_update", {"wave": "refused"})
    db.session.commit()
    refused = runtime().execute(db.session, run.id)
    assert refused.status == "failed" and "refused colcw's login" in refused.message
    assert pending_count(db.session) == 1
    return customer.id


def _name(customer_id: int) -> str:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Customer, customer_id).name


def test_fixing_the_key_on_the_page_reads_the_pending_records_at_once(app, admin_client, connected, drain_queue):
    customer_id = _renamed_while_refused(admin_client, connected)
    page = _save_on_page(admin_client, connected, connected.private_key)
    assert "The callbacks' earlier error is cleared." in page
    assert "The record ConnectWise announced while the connection did not work is read now: run #" in page
    assert drain_queue() >= 1
    assert _name(customer_id) == "Acme Renamed"
    assert pending_count(db.session) == 0


def test_fixing_the_key_with_configure_reads_the_pending_records_at_once(app, admin_client, connected, drain_queue):
    customer_id = _renamed_while_refused(admin_client, connected)
    result = app.test_cli_runner().invoke(args=[
        "colcw", "configure", "--site", connected.base_url, "--company-id", connected.company_id, "--public-key",
        connected.public_key, "--private-key", connected.private_key, "--client-id", "colcw-cli", "--allow-http"])
    assert result.exit_code == 0, result.output
    assert "is read now: run #" in result.output
    assert drain_queue() >= 1
    assert _name(customer_id) == "Acme Renamed"
    assert pending_count(db.session) == 0
