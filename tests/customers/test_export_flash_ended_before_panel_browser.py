"""A rep's Export click that answered "… is still being exported to ConnectWise (…) (run #N)" before the export
ended, when the export ends before the customer's page has loaded its ConnectWise panel: the panel shows the result
at once, and the flash, stale already, goes as the panel loads (real Chromium). It stayed above the result, since
the panel never showed the run under way."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from test_still_exporting_flash_browser import click_export_outlasting_the_wait

from colcw_plugin.models import SyncRun
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


def _ended(run_id: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.execute(select(SyncRun.status).where(SyncRun.id == run_id)).scalar() == "succeeded":
            return
        time.sleep(0.2)
    raise AssertionError(f"run #{run_id} did not end")


def test_a_flash_about_a_run_ended_before_the_panel_loaded_goes_as_it_loads(sync_ready, live_server, page,
                                                                           monkeypatch):
    url = click_export_outlasting_the_wait(sync_ready, live_server, page, monkeypatch, hang=3)
    run_id = db.session.execute(select(SyncRun.id).where(SyncRun.kind == "customer_export")).scalar_one()
    _ended(run_id)  # the export ends before the rep's browser follows the redirect

    page.goto(url)
    page.locator("#colcw-last-result").wait_for()
    assert "Acme Corp (ACME1): created in ConnectWise" in page.locator("#colcw-last-result").inner_text()
    page.wait_for_function("![...document.querySelectorAll('.flash')].some(f => f.textContent.includes("
                           f"'(run #{run_id})'))", timeout=5_000)
    assert page.locator("#colcw-export-under-way").count() == 0
