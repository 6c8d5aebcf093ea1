"""A rep filters All Customers by ConnectWise status, ticks three customers and exports them in one run
(real Chromium, an RQ worker, the sandbox over HTTP): the run's progress shows above the list, its log
is linked, the three companies are in ConnectWise and the rows turn "Synced"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping, SyncRun
from colcw_plugin.setup.connection import build_client
from helpers import browser_sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = pytest.mark.browser


@pytest.fixture()
def customers(connected, box):
    with build_client(db.session, box) as client:
        member = client.members.list(conditions=C.eq("licenseClass", "F"), fields=["id", "identifier"])
    store = db.session.execute(select(StoreSite)).scalars().first()
    if member:
        db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member[0]["id"],
                                  member_identifier=member[0]["identifier"]))
    made = []
    for n, (name, city) in enumerate([("Alder Dental", "Austin"), ("Birch Legal", "Dallas"),
                                      ("Cedar Clinic", "Houston"), ("Dogwood Design", "El Paso")]):
        made.append(services.save_customer(
            {"account_number": f"BULK{n + 1}", "name": name, "address1": f"{n + 1} Main St", "city": city,
             "state": "TX", "zip": "78701", "country": "United States"},
            [{"first_name": "Pat", "last_name": name.split()[0], "email": f"pat{n}@example.com", "is_default": True}]))
    db.session.commit()
    return made


def _status(page, name: str) -> str:
    """The row's ConnectWise status, once the list has loaded its status cells (after the page is shown)."""
    return page.locator("tr", has_text=name).locator("td[data-column=colcw] .tag").inner_text().strip()


def test_rep_exports_three_ticked_customers_in_one_run_and_follows_it(app, customers, connected, live_server, page,
                                                                      worker_thread, cw_client):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/")
    assert _status(page, "Alder Dental") == "Not linked"
    assert page.locator("tr", has_text="Alder Dental").locator("td[data-column=colcw] span").get_attribute(
        "title").startswith("Not linked: Export to ConnectWise links the company whose Company ID is")

    # The filter applies as soon as it is chosen.
    page.select_option("select[name=cw]", "not_linked")
    page.wait_for_url(re.compile(r".*cw=not_linked.*"))
    assert page.locator("#list tbody tr").count() == 4

    for name in ("Alder Dental", "Birch Legal", "Dogwood Design"):
        page.locator("tr", has_text=name).locator("input[name=ids]").check()
    page.click("button[data-bulk-action=colcw-export]")
    page.wait_for_url(re.compile(r".*colcw_run=\d+.*"))
    assert "Exporting 3 customers to ConnectWise as run #" in page.locator(".flash.success").inner_text()
    assert "Export 3 customers selected on All Customers to ConnectWise" in page.locator("#colcw-bulk-run").inner_text()

    # htmx follows the run; when it ends the list reloads with the new statuses (filter kept).
    page.wait_for_selector("#colcw-bulk-run .colcw-progress[data-final=true]", timeout=30_000)
    assert "Records: customers: 3 created" in page.locator("#colcw-bulk-run").inner_text()
    page.select_option("select[name=cw]", "")
    # The list as it comes back unfiltered (the URL before it already matched "/customers/?").
    page.wait_for_url(lambda url: "/customers/" in url and "cw=not_linked" not in url)
    page.wait_for_selector("tr:has-text('Cedar Clinic') td[data-column=colcw] .tag")
    for name in ("Alder Dental", "Birch Legal", "Dogwood Design"):
        assert _status(page, name) == "Synced", name
    assert _status(page, "Cedar Clinic") == "Not linked"

    run = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")).scalars().one()
    assert run.status == "succeeded" and run.total == 3
    companies = {c["identifier"] for c in cw_client.companies.list(fields=["identifier"])}
    assert {"BULK1", "BULK2", "BULK4"} <= companies and "BULK3" not in companies

    # The log of the run is linked from the list, readable by the rep who started it.
    page.goto(f"{live_server.url}/customers/?colcw_run={run.id}")
    page.click("#colcw-bulk-log")
    page.wait_for_url(re.compile(rf".*/colcw/runs/{run.id}$"))
    log = page.locator("#run-log").inner_text()
    assert "Alder Dental" in log and "Birch Legal" in log and "Dogwood Design" in log


def test_the_rows_of_a_bulk_run_say_they_wait_and_turn_synced_one_by_one_without_a_reload(
        app, customers, connected, live_server, page, redis_conn, request):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/")
    for name in ("Alder Dental", "Birch Legal"):
        page.locator("tr", has_text=name).locator("input[name=ids]").check()
    page.click("button[data-bulk-action=colcw-export]")  # no worker yet: the run stays queued
    page.wait_for_url(re.compile(r".*colcw_run=\d+.*"))
    run_id = int(re.search(r"colcw_run=(\d+)", page.url).group(1))
    for name in ("Alder Dental", "Birch Legal"):
        note = page.locator("tr", has_text=name).locator("td[data-column=colcw] .colcw-in-run")
        note.wait_for()
        assert note.inner_text() == f"queued in run #{run_id}"
        assert _status(page, name) == "Not linked"
    assert page.locator("tr", has_text="Cedar Clinic").locator(".colcw-in-run").count() == 0

    # The second company's creation takes 6 s: the other row turns Synced while that one still waits in the run (the
    # two are exported side by side; either may be the second sent).
    connected.add_fault(status="hang", seconds=6, nth=2, method="POST", path=r"company/companies$")
    page.evaluate("window.colcwNotReloaded = true")
    request.getfixturevalue("worker_thread")  # (its Redis emptied at the start of the test, not now)
    page.wait_for_function(
        """() => {
            const cells = [...document.querySelectorAll("td[data-column=colcw]")].filter(
                td => /Alder Dental|Birch Legal/.test(td.closest("tr").textContent));
            const synced = cells.filter(td => td.querySelector(".tag").textContent.trim() === "Synced"
                                             && !td.querySelector(".colcw-in-run"));
            const waiting = cells.filter(td => /waiting in run/.test(td.textContent));
            return synced.length === 1 && waiting.length === 1;
        }""", timeout=20_000)
    assert page.evaluate("window.colcwNotReloaded === true")  # the rows changed in place
    assert page.locator("#colcw-bulk-run .colcw-progress").get_attribute("data-final") == "false"

    # Once the run ends the list reloads: both Synced, nothing waiting.
    page.wait_for_function("() => window.colcwNotReloaded === undefined", timeout=30_000)
    page.wait_for_selector("tr:has-text('Birch Legal') td[data-column=colcw] .tag")
    for name in ("Alder Dental", "Birch Legal"):
        assert _status(page, name) == "Synced", name
    assert page.locator(".colcw-in-run").count() == 0
