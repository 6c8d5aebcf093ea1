"""A double click on Import in the Import From ConnectWise popup sends one import (real Chromium), and a second
identical import by the same person, sent anyway, records no second run (the test client)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import SyncRun
from helpers import browser_sign_in, csrf_from, sign_in
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, identifier: str, name: str) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _import_runs() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(SyncRun.id)).where(SyncRun.kind == "customer_import")).scalar()


@pytest.mark.browser
def test_a_double_click_on_import_sends_one_import(connected, live_server, page):
    _company(connected, "DBL1", "Double Click Dental")
    connected.add_fault(latency_ms=600, path="company/contacts")  # the import takes a moment: the clicks overlap
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/colcw/import")
            else None)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    dialog = page.locator("#colcw-import-dialog")
    dialog.locator("input[name=company]").fill("DBL1")
    dialog.locator("#colcw-import-form button[type=submit]").dblclick()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    page.wait_for_timeout(1500)  # a second POST, queued behind the first, would have gone by now
    connected.clear_faults()
    assert len(posts) == 1, posts
    assert _import_runs() == 1
    assert "Imported Double Click Dental (DBL1) from ConnectWise" in page.locator(".flash.success").inner_text()


def test_a_second_identical_import_by_the_same_person_records_no_second_run(connected, app):
    _company(connected, "DBL2", "Twice Sent Dental")
    connected.add_fault(latency_ms=400, path="company/contacts")
    answers: list = []
    barrier = threading.Barrier(2)

    def click():
        with app.test_client() as c:
            sign_in(c, "riley@demo.example")
            token = csrf_from(c.get("/colcw/import").get_data(as_text=True))
            barrier.wait(30)
            answers.append(c.post("/colcw/import", data={"csrf_token": token, "company": "DBL2"},
                                  headers={"HX-Request": "true"}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    connected.clear_faults()
    assert len(answers) == 2 and all(a.status_code == 200 for a in answers)
    assert _import_runs() == 1
    # Sent again once the first had ended (htmx queues a second submit behind the first; a form sent twice):
    # the same answer, the first run's, and still one run.
    with app.test_client() as c:
        sign_in(c, "riley@demo.example")
        token = csrf_from(c.get("/colcw/import").get_data(as_text=True))
        again = c.post("/colcw/import", data={"csrf_token": token, "company": "DBL2"}, headers={"HX-Request": "true"})
        customer = db.session.query(Customer).filter_by(account_number="DBL2").one()
        assert again.headers["HX-Redirect"].endswith(f"/customers/{customer.id}")
        page = " ".join(c.get(again.headers["HX-Redirect"]).get_data(as_text=True).split())
    assert _import_runs() == 1
    assert "Twice Sent Dental (DBL2) was imported from ConnectWise a moment ago" in page, page


def test_a_click_sent_while_the_first_import_ran_is_answered_by_it_however_late_it_gets_the_lock(connected, app):
    """The repeat window counts from when the second click arrived: one sent while the first import ran, that a busy
    server let reach the company's lock long after the first ended, still gets the first's answer; one sent more
    than REPEAT_SECONDS after the first ended is an import of its own."""
    from colcw_plugin.sync.customers.exclusive import just_imported
    from colcw_plugin.views.customers import REPEAT_SECONDS

    _company(connected, "DBL3", "Late Lock Dental")
    with app.test_client() as c:
        sign_in(c, "riley@demo.example")
        token = csrf_from(c.get("/colcw/import").get_data(as_text=True))
        c.post("/colcw/import", data={"csrf_token": token, "company": "DBL3"}, headers={"HX-Request": "true"})
    db.session.expire_all()
    run = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_import")).scalar_one()
    window = dt.timedelta(seconds=REPEAT_SECONDS)
    # Sent a second before the first ended (it reaches the lock whenever it does): answered by the first.
    clicked = run.finished_at - dt.timedelta(seconds=1)
    assert just_imported(db.session, "DBL3", run.requested_by_id, clicked - window) == run
    # Sent a moment after the first ended: still the same click.
    clicked = run.finished_at + window - dt.timedelta(seconds=1)
    assert just_imported(db.session, "DBL3", run.requested_by_id, clicked - window) == run
    # Sent well after: a new import (and another person's click never is the same click).
    clicked = run.finished_at + window + dt.timedelta(seconds=1)
    assert just_imported(db.session, "DBL3", run.requested_by_id, clicked - window) is None
    assert just_imported(db.session, "DBL3", (run.requested_by_id or 0) + 1000,
                         run.finished_at - dt.timedelta(seconds=1) - window) is None
