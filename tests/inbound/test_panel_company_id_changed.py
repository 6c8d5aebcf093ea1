"""The customer page's panel does not present a Company ID changed in ConnectWise as current: it said "Linked to
company DEMO00005 (id 28)" after the company's Company ID was changed there and the live update failed. It names the
new one when a live update took it or reported it (not taken), and says the one shown may be out of date when the
live update could not save ConnectWise's changes. And Clear link's confirmation no longer says a company deleted in
ConnectWise "stays in ConnectWise"."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, export_customer

from colcw_plugin.models import CW_MASTER, HOST_MASTER, SyncRun, get_link
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.shared.advice import deleted_company_fix
from helpers import runtime
from host_stub import services
from host_stub.extensions import db


def _live_update(company_id: int) -> SyncRun:
    run = create_run(db.session, runtime().kinds, LIVE_KIND, {"records": {"company": [company_id]}})
    db.session.commit()
    done = runtime().execute(db.session, run.id)
    db.session.expire_all()
    return done


def _status(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    status = page[page.index('id="colcw-link-status"'):]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", status[:status.index("</p>")])).split())


def test_a_company_id_changed_in_connectwise_and_not_saved_is_not_shown_as_current(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DEMO00005", name="Summit Dental")
    services.save_customer({"name": "Other Dental", "account_number": "DEMO00099", "active": True,
                            "location_code": ""}, [])
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    sandbox.edit_company(company, {"identifier": "DEMO00099"})  # another customer's account number here
    failed = _live_update(company)  # the host refuses DEMO00099 for Summit Dental: the live update fails for it
    (item,) = [i for i in failed.items if i.action == "failed"]
    assert "Account number DEMO00099 is already used by another customer (Other Dental)" in item.message, item.message
    status = _status(rep_client, customer.id)
    assert "Linked to company DEMO00005" in status, status
    assert "the last live update could not take ConnectWise's changes, so it may have been changed there" in status, \
        status


def test_a_company_id_taken_by_a_live_update_is_the_one_shown(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DEMO00005", name="Summit Dental")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    sandbox.edit_company(company, {"identifier": "DEMO00055"})
    assert _live_update(company).status == "succeeded"
    status = _status(rep_client, customer.id)
    assert f"Linked to company DEMO00055 (id {company})" in status, status
    assert get_link(db.session, "customer", customer.id).cw_identifier == "DEMO00055"  # what messages name it by


def test_a_company_id_changed_in_connectwise_and_not_taken_is_named(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DEMO00005", name="Summit Dental")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    sandbox.edit_company(company, {"identifier": "DEMO00056"})
    assert _live_update(company).status == "succeeded"
    status = _status(rep_client, customer.id)
    assert "(its Company ID was changed in ConnectWise to DEMO00056, not taken)" in status, status


def test_clear_link_of_a_deleted_company_does_not_say_it_stays(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DEMO00005", name="Summit Dental")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    page = html.unescape(loaded(rep_client, f"/customers/{customer.id}"))
    assert "The company stays in ConnectWise" in page
    sandbox.delete_record("companies", company)
    assert _live_update(company).status == "succeeded"
    page = html.unescape(loaded(rep_client, f"/customers/{customer.id}"))
    assert "was deleted in ConnectWise" in page
    assert "The company stays in ConnectWise" not in page
    assert "The company was deleted in ConnectWise, and its contacts' links are cleared too." in page
    # Its fix is said once on the page, on the link's line (the latest result, the live update's, had it again).
    fix = deleted_company_fix("DEMO00005", "DEMO00005")
    panel = page[page.index('id="colcw-sync-panel"'):page.index('class="toolbar"', page.index('id="colcw-sync-panel"'))]
    assert panel.count(fix) == 1, panel
    assert fix in panel[panel.index('id="colcw-link-status"'):].split("</p>")[0]
