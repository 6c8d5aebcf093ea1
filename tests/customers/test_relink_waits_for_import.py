"""Link to Company ID (and Clear link, the Import popup's link, Map customers) take turns with an import of the company the customer is linked to (its import
lock, which every import of a company holds while it reads and writes the links to it). The import read the
customer's link by the company's id, then wrote it back by id with the company's values: a rep's relink saved in
between was overwritten (the customer's link pointed at the old company again, the old company's values imported over
it, with the rep told it was linked to the new one). Now the rep's save also holds the import locks of the company
the customer is linked to and of the one it is linked to, so one waits for the other. Against the sandbox and
PostgreSQL, the rep's click through the page; the import runs as the popup's does."""

from __future__ import annotations

from contextlib import contextmanager
from html import unescape

import pytest
from customer_support import link_of, run
from lock_support import held_elsewhere
from sqlalchemy import select
from test_relink_waits_for_export import _click_during, _exported_and_another_company, _relink_click

from colcw_plugin.models import SyncItem
from colcw_plugin.sync.customers.importer import CompanyImporter
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def _linked_with_another_company(sandbox):
    customer, other = _exported_and_another_company(sandbox, "Import Turn Dental", "IMPT1")
    old = link_of("customer", customer.id).cw_id
    # Changed in ConnectWise since: the import of the old company writes the customer and its link.
    sandbox.api("PATCH", f"company/companies/{old}",
                json=[{"op": "replace", "path": "phoneNumber", "value": "512-555-0177"}])
    return customer, old, other


def _during_the_import(monkeypatch, engine, click):
    """Run ``click`` in a thread of its own once the import has read its page's links (before it locks and writes
    them); the import goes on once the click has finished or waits for a lock."""
    return _click_during(monkeypatch, engine, CompanyImporter, "_lock_links", click, after_the_call=False, seconds=15)


def test_a_relink_during_an_import_of_the_old_company_waits_for_it(sync_ready, rep_client, monkeypatch, app):
    customer, old, other = _linked_with_another_company(sync_ready)
    answers, threads = _during_the_import(monkeypatch, db.engine, _relink_click(rep_client, customer.id, other))
    done = run("customer_import", {"company": "IMPT1"})
    threads[0].join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    assert answers and answers[0].status_code == 302, answers
    db.session.rollback()
    # The rep was told the customer is linked to IMPT1B: it is (before: the import wrote its link back to IMPT1).
    assert link_of("customer", customer.id).cw_id == other["id"] != old
    said = db.session.execute(select(SyncItem.message).where(SyncItem.host_id == customer.id,
                                                             SyncItem.action == "linked")).scalars().all()
    assert len(said) == 1 and said[0].startswith("Linked Import Turn Dental (IMPT1) to ConnectWise company IMPT1B")
    # The import went first, whole: the old company's phone was taken while the customer was still linked to it.
    assert db.session.get(Customer, customer.id).phone == "512-555-0177"


def test_a_relink_past_the_wait_for_an_import_changes_nothing_and_says_why(sync_ready, rep_client, monkeypatch, app):
    from sqlalchemy.orm import Session

    from colcw_plugin.sync.customers import exclusive
    from colcw_plugin.sync.customers import links as links_module

    customer, old, other = _linked_with_another_company(sync_ready)
    monkeypatch.setattr(links_module, "LINK_WAIT_SECONDS", 0.3)
    relink = _relink_click(rep_client, customer.id, other, follow_redirects=True)
    engine = db.engine

    @contextmanager
    def an_import_holds_the_company():  # as an import of IMPT1 does while it reads and writes
        with Session(engine) as other_session, exclusive.companies_locked(other_session, [old], wait_seconds=5):
            yield

    done, thread = held_elsewhere(an_import_holds_the_company)
    try:
        answer = relink()
    finally:
        done.set()
        thread.join(15)
    page = " ".join(unescape(answer.get_data(as_text=True)).split())
    assert "ConnectWise company IMPT1 is being imported from ConnectWise" in page, page
    assert "Import Turn Dental's link was not changed" in page, page
    assert link_of("customer", customer.id).cw_id == old
