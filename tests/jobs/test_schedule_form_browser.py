"""The schedule form in a real browser: only the fields of the chosen frequency show, errors show
beside their fields with what was typed kept, and without JavaScript every field stays usable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from helpers import browser_sign_in, close_context
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def _visible(form, name: str) -> bool:
    return form.locator(f"[name={name}]").is_visible()


def test_the_schedule_form_shows_only_the_fields_of_the_chosen_frequency(app, live_server, page):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}")
    form = page.locator("#customer-job form")
    button = form.locator("button[type=submit]")
    assert not _visible(form, "schedule_name") and button.inner_text() == "Run now"
    form.locator("input[name=schedule]").check()
    assert _visible(form, "schedule_name") and button.inner_text() == "Save schedule"
    frequency = form.locator("select[name=frequency]")
    assert frequency.input_value() == "daily"
    assert not _visible(form, "weekday") and not _visible(form, "day_of_month")
    frequency.select_option("weekly")
    assert _visible(form, "weekday") and not _visible(form, "day_of_month")
    frequency.select_option("monthly")
    assert not _visible(form, "weekday") and _visible(form, "day_of_month")
    # The source chooses which scope shows.
    assert _visible(form, "account_number") and not _visible(form, "company")
    form.locator("input[name=source][value=connectwise]").check()
    assert not _visible(form, "account_number") and _visible(form, "company")

    # A mistake comes back beside its field, with what was typed and the right fields shown.
    form.locator("input[name=import_scope][value=all]").check()
    form.locator("input[name=schedule_name]").fill("Monthly import")
    form.locator("input[name=timezone]").fill("Mars/Olympus")
    form.locator("input[name=day_of_month]").fill("31")
    button.click()
    page.wait_for_load_state()
    form = page.locator("#customer-job form")
    assert "Choose a time zone from the list" in form.locator("#error-timezone").inner_text()
    assert form.locator("select[name=frequency]").input_value() == "monthly"
    assert _visible(form, "day_of_month") and not _visible(form, "weekday")
    assert form.locator("input[name=day_of_month]").input_value() == "31"
    form.locator("input[name=timezone]").fill("America/Chicago")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*tab=schedules.*"))
    assert "Monthly on day 31" in page.locator('tr[data-schedule="Monthly import"]').inner_text()

    # Editing it: the same form, with its frequency's field only.
    page.click('tr[data-schedule="Monthly import"] >> text=Edit')
    page.wait_for_url(re.compile(r".*/schedules/\d+/edit$"))
    page.wait_for_load_state()  # its script has shown only the frequency's field (it ran on DOMContentLoaded)
    edit = page.locator("#schedule-form")
    assert _visible(edit, "day_of_month") and not _visible(edit, "weekday")
    edit.locator("select[name=frequency]").select_option("weekly")
    assert _visible(edit, "weekday") and not _visible(edit, "day_of_month")
    edit.locator("select[name=weekday]").select_option("4")
    edit.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*tab=schedules.*"))
    schedule = db.session.execute(select(Schedule)).scalar_one()
    db.session.refresh(schedule)
    assert (schedule.frequency, schedule.weekday) == ("weekly", 4)


def test_without_javascript_every_schedule_field_is_there_and_saving_works(app, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.fill("input[name=email]", "admin@demo.example")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}{JOBS}")
        form = page.locator("#quote-job form")
        for name in ("schedule_name", "time", "timezone", "frequency", "weekday", "day_of_month"):
            assert _visible(form, name), name
        form.locator("input[name=quote_scope][value=all]").check()
        form.locator("input[name=schedule]").check()
        form.locator("input[name=schedule_name]").fill("Friday export")
        form.locator("input[name=timezone]").fill("Europe/Paris")
        form.locator("select[name=frequency]").select_option("weekly")
        form.locator("select[name=weekday]").select_option("4")
        form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r".*tab=schedules.*"))
        assert "Weekly on Friday" in page.locator('tr[data-schedule="Friday export"]').inner_text()
    finally:
        close_context(context)
