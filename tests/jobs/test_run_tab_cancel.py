"""Cancel on "Run or schedule a job": the table of each job's last run offers the Cancel the run's page and the
history rows offer (the same service, confirmation and CSRF-protected POST) for a run that can take it, and comes
back to the tab."""

from __future__ import annotations

import html
import re

import pytest
from test_jobs_list_cancel import JOBS, _fresh, _run

from helpers import browser_sign_in, csrf_from
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

RUN_TAB = f"{JOBS}?tab=run"


def _last_row(page: str) -> str:
    found = re.search(r'<tr id="last-test_count">.*?</tr>', page, re.S)
    assert found, page
    return html.unescape(found.group(0))


def test_the_last_run_of_a_job_offers_cancel_while_it_can_take_it(admin_client, jobs_app):
    running = _run("running")
    page = admin_client.get(RUN_TAB).get_data(as_text=True)
    row = _last_row(page)
    assert f'action="{JOBS}/runs/{running}/cancel"' in row and 'name="csrf_token"' in row, row
    assert f'data-colcw-confirm="Cancel run #{running}? It starts no new record and finishes the ones it is working on' in row
    assert f'name="next" value="{RUN_TAB}"' in row

    assert admin_client.post(f"{JOBS}/runs/{running}/cancel", data={"next": RUN_TAB}).status_code == 400  # no token
    assert _fresh(running).status == "running"
    resp = admin_client.post(f"{JOBS}/runs/{running}/cancel", data={"csrf_token": csrf_from(page), "next": RUN_TAB})
    assert resp.status_code == 302 and resp.headers["Location"] == RUN_TAB
    page = admin_client.get(RUN_TAB).get_data(as_text=True)
    assert f"Run #{running} is stopping: it ends as cancelled once the record it is working on is saved." in page
    assert _fresh(running).status == "cancelling"
    row = _last_row(page)
    assert "Stopping" in row and "<form" not in row  # asked already: no second Cancel

    queued = _run()  # now the job's last run
    row = _last_row(admin_client.get(RUN_TAB).get_data(as_text=True))
    assert f'data-colcw-confirm="Cancel run #{queued}? It will not run."' in row

    ended = _run("succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    row = _last_row(admin_client.get(RUN_TAB).get_data(as_text=True))
    assert f"#{ended}" in row or f"/runs/{ended}" in row
    assert "<form" not in row and "Succeeded" in row


@pytest.mark.browser
def test_an_admin_cancels_the_last_run_from_the_run_tab(live_server, page, jobs_app):
    queued = _run()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#last-test_count button.cancel-run")
    page.wait_for_selector("#last-test_count .badge.result-cancelled")
    assert asked == [f"Cancel run #{queued}? It will not run."]
    assert page.url.endswith(RUN_TAB)
    assert f"Run #{queued} cancelled." in page.locator("body").inner_text()
    assert page.locator("#last-test_count button.cancel-run").count() == 0
    assert _fresh(queued).status == "cancelled"
