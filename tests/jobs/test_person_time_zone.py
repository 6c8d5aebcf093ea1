"""Each signed-in person chooses the time zone colcw's pages show their times in, and that one choice applies on
every colcw page they see — a rep's too: a run's log, the customer and document panels — and follows them to
another browser, while another person keeps theirs. Every page says which zone its times are in. An admin's choice
on the jobs page is the same choice; one made there before it was kept per person still applies on the admin pages.
The choice's table comes and goes with its migration (colcw_0005)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import inspect, select
from test_stop_request_migration import CONFIG, _migrate, empty_database  # noqa: F401 - the fixture

from colcw_plugin.models import DocumentExport, SyncItem, TimeZoneChoice, get_link, set_link
from helpers import browser_sign_in, csrf_from, runtime, sign_in
from host_stub import create_app, services
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ZONE_PAGE = "/colcw/time-zone"
AT = dt.datetime(2026, 7, 1, 18, 0, 0)  # naive UTC, as stored: 14:00 in New York (EDT), 19:00 in London (BST)


def _world() -> dict:
    """A linked customer last synced at AT, a quote exported at AT, and a run the rep Riley started at AT."""
    rep = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    customer = services.save_customer({"account_number": "ZON01", "name": "Zone Bikes"},
                                      [{"first_name": "Pat", "last_name": "Lee", "is_default": True}])
    set_link(db.session, "customer", customer.id, 901, cw_identifier="ZON01")
    get_link(db.session, "customer", customer.id).synced_at = AT
    run = runtime().submit(db.session, "test_count", {"n": 5},
                           actor={"id": rep.id, "email": rep.email, "role": "rep"}).run
    runtime().queue.withdraw(run)
    run.status, run.created_at, run.started_at, run.finished_at = "succeeded", AT, AT, AT
    run.message = "1 updated."
    db.session.add(SyncItem(run_id=run.id, at=AT, entity="customer", direction="export", host_id=customer.id,
                            label="Zone Bikes", action="updated", message="Updated company ZON01."))
    quote = services.save_document({"customer_id": customer.id}, [{"item_number": "I1", "price": 5}])
    db.session.add(DocumentExport(document_id=quote.id, status="exported", exported_at=AT, opportunity_id=77,
                                  opportunity_name="Bikes"))
    set_link(db.session, "document", quote.id, 77, cw_identifier="Bikes")
    db.session.commit()
    return {"customer": customer.id, "quote": quote.id, "run": run.id, "rep": rep.id}


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _choose(client, zone: str, back: str = ZONE_PAGE):
    token = csrf_from(client.get(ZONE_PAGE).get_data(as_text=True))
    return client.post(ZONE_PAGE, data={"zone": zone, "next": back, "csrf_token": token})


def _pages(client, w: dict) -> dict[str, str]:
    """What a person reads on the pages showing the world's times."""
    return {"log": _text(client.get(f"/colcw/runs/{w['run']}").get_data(as_text=True)),
            "customer": _text(client.get(f"/colcw/customers/{w['customer']}/panel",
                                         headers={"HX-Request": "true"}).get_data(as_text=True)),
            "quote": _text(client.get(f"/colcw/documents/{w['quote']}/panel",
                                      headers={"HX-Request": "true"}).get_data(as_text=True))}


def test_a_reps_choice_shows_on_their_pages_and_follows_them_to_another_browser(app, jobs_app):
    w = _world()
    rep = sign_in(app.test_client(), "riley@demo.example")
    before = _pages(rep, w)  # never chosen: UTC, said so
    assert "Requested 2026-07-01 18:00:00 UTC by riley@demo.example" in before["log"], before["log"]
    assert "last synced 2026-07-01 18:00 UTC." in before["customer"], before["customer"]
    assert "Exported 2026-07-01 18:00 UTC" in before["quote"], before["quote"]
    for text in before.values():
        assert "Times are shown in UTC. Change the time zone" in text

    resp = _choose(rep, "America/New_York", back=f"/customers/{w['customer']}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/customers/{w['customer']}"
    after = _pages(rep, w)
    assert "Requested 2026-07-01 14:00:00 EDT by riley@demo.example" in after["log"], after["log"]
    assert "Finished 2026-07-01 14:00:00 EDT" in after["log"]
    assert "2026-07-01 14:00:00 EDT customer: Zone Bikes" in after["log"], after["log"]  # the status log's Time column
    assert "last synced 2026-07-01 14:00 EDT." in after["customer"], after["customer"]
    assert "Export 2026-07-01 14:00 EDT: Updated company ZON01." in after["customer"]
    assert "Exported 2026-07-01 14:00 EDT" in after["quote"], after["quote"]
    for text in after.values():
        assert "UTC" not in text and "Times are shown in America/New_York. Change the time zone" in text

    # The choice is the rep's: it follows them to another browser, and another person keeps their own. (Each
    # browser in an app context of its own: Flask-WTF keeps the CSRF token in g.)
    with app.app_context():
        elsewhere = sign_in(app.test_client(), "riley@demo.example")
        assert "last synced 2026-07-01 14:00 EDT." in _pages(elsewhere, w)["customer"]
        # Chosen again, in the other browser: the new choice applies there at once.
        _choose(elsewhere, "Europe/London")
        assert "last synced 2026-07-01 19:00 BST." in _pages(elsewhere, w)["customer"]
        assert "Exported 2026-07-01 19:00 BST" in _pages(elsewhere, w)["quote"]
    with app.app_context():
        admin = sign_in(app.test_client(), "admin@demo.example")
        assert "last synced 2026-07-01 18:00 UTC." in _pages(admin, w)["customer"]
    db.session.expire_all()
    assert db.session.execute(select(TimeZoneChoice.user_id, TimeZoneChoice.zone)).all() == [
        (w["rep"], "Europe/London")]


def test_an_admins_choice_on_the_jobs_page_applies_on_the_panels_too(admin_client, jobs_app):
    w = _world()
    page = admin_client.get(JOBS).get_data(as_text=True)
    admin_client.post(f"{JOBS}/zone", data={"zone": "America/New_York", "next": JOBS, "csrf_token": csrf_from(page)})
    assert "Times on the ConnectWise pages and panels are now shown in America/New_York." in \
        admin_client.get(JOBS).get_data(as_text=True)
    assert "last synced 2026-07-01 14:00 EDT." in _pages(admin_client, w)["customer"]
    assert "Exported 2026-07-01 14:00 EDT" in _pages(admin_client, w)["quote"]
    zone_page = _text(admin_client.get(ZONE_PAGE).get_data(as_text=True))
    assert "show their times in America/New_York" in zone_page and "Synchronization Jobs pages" in zone_page


def test_an_admins_earlier_choice_still_applies_on_the_admin_pages_until_they_choose_again(admin_client, jobs_app):
    """Before the choice was a person's it was a cookie of the admin pages' path: it still counts there."""
    w = _world()
    admin_client.set_cookie("colcw_tz", "America/Chicago", path="/admin/integration/connectwise")
    run_page = _text(admin_client.get(f"{JOBS}/runs/{w['run']}").get_data(as_text=True))
    assert "Requested 2026-07-01 13:00:00 CDT by riley@demo.example" in run_page, run_page
    resp = _choose(admin_client, "America/New_York")
    assert any("colcw_tz=;" in c and "Path=/admin/integration/connectwise" in c
               for c in resp.headers.getlist("Set-Cookie")), resp.headers.getlist("Set-Cookie")
    admin_client.delete_cookie("colcw_tz", path="/admin/integration/connectwise")  # as the browser does
    run_page = _text(admin_client.get(f"{JOBS}/runs/{w['run']}").get_data(as_text=True))
    assert "Requested 2026-07-01 14:00:00 EDT by riley@demo.example" in run_page


def test_a_name_that_is_no_time_zone_is_refused_and_changes_nothing(rep_client, jobs_app):
    w = _world()
    _choose(rep_client, "America/New_York")
    resp = _choose(rep_client, "Mars/Olympus_Mons")
    page = _text(rep_client.get(resp.headers["Location"]).get_data(as_text=True))
    assert "'Mars/Olympus_Mons' is not a time zone name; choose one from the list (e.g. America/Chicago)." in page
    assert "show their times in America/New_York" in page
    assert "last synced 2026-07-01 14:00 EDT." in _pages(rep_client, w)["customer"]


def test_the_choices_table_comes_and_goes_with_its_migration(empty_database):  # noqa: F811 - the fixture
    app = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        _migrate(app, "colcw_0004")
        assert "colcw_time_zone_choices" not in inspect(db.engine).get_table_names()
        _migrate(app, "head")
        db.session.add(TimeZoneChoice(user_id=7, zone="America/New_York"))
        db.session.commit()
        assert db.session.get(TimeZoneChoice, 7).chosen_at is not None
        db.session.remove()
        _migrate(app, "colcw_0004", down=True)
        assert "colcw_time_zone_choices" not in inspect(db.engine).get_table_names()
        _migrate(app, "head")
        assert "colcw_time_zone_choices" in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.browser
def test_a_rep_changes_the_zone_from_a_customers_panel_and_comes_back_to_it(live_server, page, jobs_app):
    w = _world()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{w['customer']}")
    page.wait_for_selector("#colcw-link-status")
    assert "last synced 2026-07-01 18:00 UTC." in page.locator("#colcw-link-status").inner_text()
    page.click("#colcw-sync-panel #colcw-zone-note a")
    page.fill("#zone-form input[name=zone]", "America/New_York")
    page.click("#zone-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/{w['customer']}")
    page.wait_for_selector("#colcw-link-status")
    assert "last synced 2026-07-01 14:00 EDT." in page.locator("#colcw-link-status").inner_text()
    assert "Times on the ConnectWise pages and panels are now shown in America/New_York." in \
        page.locator("body").inner_text()
