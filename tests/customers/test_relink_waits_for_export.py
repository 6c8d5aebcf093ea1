"""Link to Company ID and Clear link take turns with an export of the customer (its export lock, which every export
holds while it reads and writes the customer's links). An export reads the links, then writes them back by id after
its ConnectWise round trips: a rep's relink saved in between was overwritten (the customer's link pointed at the old
company again, with the rep told it was linked to the new one), a clear half undone. Now the rep's save waits for the
export under way (up to LINK_WAIT_SECONDS), then goes; past the wait it changes nothing and names the export. Against
the sandbox and PostgreSQL, the rep's click through the page."""

from __future__ import annotations

import threading
import time

import pytest
from customer_support import contacts_of, export, link_of, make_customer, update_customer
from lock_support import waiting_for_a_lock
from sqlalchemy import select

from colcw_plugin.models import SyncItem
from colcw_plugin.sync.customers import exporter as exporter_module
from colcw_plugin.sync.customers import links as links_module
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Contact

pytestmark = pytest.mark.postgres


def _exported_and_another_company(sandbox, name: str, account_number: str):
    """``name`` made and exported, and another ConnectWise company of that name to link it to (Company ID
    ``account_number`` + "B"): (the customer, that company)."""
    customer = make_customer(name=name, account_number=account_number)
    first = export(customer.id)
    assert first.status == "succeeded", first.message
    other = sandbox.api("POST", "company/companies", json={
        "identifier": account_number + "B", "name": name, "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    return customer, other


def _exported_with_another_company(sandbox):
    customer, other = _exported_and_another_company(sandbox, "Turn Taking Dental", "TURN1")
    update_customer(customer.id, phone="512-555-0199")  # the next export updates the company (and its link)
    return customer, link_of("customer", customer.id).cw_id, other


def _click_during(monkeypatch, engine, owner, name: str, click, *, after_the_call: bool, seconds: float):
    """Wrap ``owner.name`` so that its first call runs ``click`` in a thread of its own (after the wrapped call, or
    before it) and goes on once the click waits for a lock, has finished, or ``seconds`` have passed. (The click's
    answers, its threads.)"""
    answers: list = []
    threads: list[threading.Thread] = []
    real = getattr(owner, name)

    def start_the_click() -> None:
        if not threads:
            threads.append(threading.Thread(target=lambda: answers.append(click())))
            threads[0].start()
            deadline = time.monotonic() + seconds
            while threads[0].is_alive() and not waiting_for_a_lock(engine) and time.monotonic() < deadline:
                time.sleep(0.05)

    def wrapped(*args, **kwargs):
        if not after_the_call:
            start_the_click()
        out = real(*args, **kwargs)
        if after_the_call:
            start_the_click()
        return out

    monkeypatch.setattr(owner, name, wrapped)
    return answers, threads


def _relink_click(rep_client, customer_id: int, company: dict, **kwargs):
    """The rep's Link to Company ID click (``company`` confirmed) from the page read now, to make in another thread:
    a function answering what the click got."""
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    return lambda: rep_client.post(f"/colcw/customers/{customer_id}/relink", data={
        "company": company["identifier"], "confirm": str(company["id"]), "csrf_token": token}, **kwargs)


def _during_the_export(monkeypatch, engine, click):
    """Run ``click`` in a thread of its own once the export has read the customer's links (before it writes them);
    the export goes on once the click waits for a lock, or has finished. The click's answer."""
    return _click_during(monkeypatch, engine, exporter_module, "read_chunk", click, after_the_call=True, seconds=10)


def test_a_relink_during_an_export_of_the_customer_waits_for_it(sync_ready, rep_client, monkeypatch, app):
    customer, old, other = _exported_with_another_company(sync_ready)
    answers, threads = _during_the_export(monkeypatch, db.engine, _relink_click(rep_client, customer.id, other))
    done = export(customer.id)
    threads[0].join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    assert answers and answers[0].status_code == 302, answers
    # The rep was told the customer is linked to TURN1B: it is (before: the export wrote its link back to TURN1).
    assert link_of("customer", customer.id).cw_id == other["id"] != old
    said = db.session.execute(select(SyncItem.message).where(SyncItem.host_id == customer.id,
                                                             SyncItem.action == "linked")).scalars().all()
    assert len(said) == 1 and said[0].startswith("Linked Turn Taking Dental (TURN1) to ConnectWise company TURN1B")
    assert all(link_of("contact", c.id) is None for c in customer.contacts)  # the old company's, cleared


def test_a_clear_during_an_export_of_the_customer_waits_for_it(sync_ready, rep_client, monkeypatch, app):
    customer, old, _ = _exported_with_another_company(sync_ready)
    # A contact added since: the export creates it in the company and links it.
    db.session.add(Contact(customer_id=customer.id, first_name="Grace", last_name="Hopper",
                           email="grace@acme.example"))
    db.session.commit()
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    answers, threads = _during_the_export(monkeypatch, db.engine, lambda: rep_client.post(
        f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": token}))
    done = export(customer.id)
    threads[0].join(30)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    assert answers and answers[0].status_code == 302, answers
    # Cleared as the rep was told: no link left behind (before: the new contact's link into the old company was
    # written after it, the customer itself unlinked).
    ids = db.session.execute(select(Contact.id).where(Contact.customer_id == customer.id)).scalars().all()
    assert len(ids) == 3
    assert link_of("customer", customer.id) is None
    assert [link_of("contact", i) for i in ids] == [None, None, None]
    assert any(c["firstName"] == "Grace" for c in contacts_of(sync_ready, old))  # made before the clear


def test_a_relink_past_the_wait_changes_nothing_and_says_why(sync_ready, rep_client, monkeypatch, app):
    customer, old, other = _exported_with_another_company(sync_ready)
    monkeypatch.setattr(links_module, "LINK_WAIT_SECONDS", 0.3)
    answers, threads = _during_the_export(monkeypatch, db.engine,
                                          _relink_click(rep_client, customer.id, other, follow_redirects=True))
    real_read = exporter_module.read_chunk

    def slow_read(*args, **kwargs):  # the export still holds the customer when the rep's wait ends
        chunk = real_read(*args, **kwargs)
        if threads:
            threads[0].join(15)
        return chunk

    monkeypatch.setattr(exporter_module, "read_chunk", slow_read)
    done = export(customer.id)
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    page = " ".join(answers[0].get_data(as_text=True).split())
    assert "Turn Taking Dental is being exported to ConnectWise" in page and "its link was not changed" in page, page
    assert link_of("customer", customer.id).cw_id == old
