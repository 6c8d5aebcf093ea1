"""The table of each job's last run on "Run or schedule a job" keeps its unfinished rows current with one request per
interval (the job history's poll, for this table), however many rows are unfinished: their result, records and
Cancel follow their runs without a reload, so Cancel never shows for a run that has ended; a row whose run ended is
no longer asked for, and with none left the page stops asking."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from test_jobs_list_cancel import JOBS, _run, _set

from helpers import browser_sign_in, csrf_from, sign_in
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

RUN_TAB = f"{JOBS}?tab=run"


def _poll(page: str) -> tuple[set[int], str | None]:
    """The runs the table's poll asks for, and where it asks (None: it does not poll)."""
    found = re.search(r'<div id="last-runs-poll"[^>]*>', page)
    assert found, page
    asked = {int(i) for i in re.search(r'data-runs="([^"]*)"', found.group(0)).group(1).split()}
    url = re.search(r'hx-get="([^"]*)"', found.group(0))
    assert bool(url) == bool(asked) and ('hx-trigger="every 2s"' in found.group(0)) == bool(asked)
    return asked, html.unescape(url.group(1)) if url else None


def _last_row(page: str, oob: bool = False) -> str:
    found = re.search(r'<tr id="last-test_count"( hx-swap-oob="true")?>.*?</tr>', page, re.S)
    assert found and bool(found.group(1)) == oob, page
    return html.unescape(found.group(0))


def test_the_polls_answer_follows_the_last_run_and_stops_once_it_has_ended(admin_client, jobs_app):
    running = _run("running")
    page = admin_client.get(RUN_TAB).get_data(as_text=True)
    asked, url = _poll(page)
    assert asked == {running} and url == f"{JOBS}/last-runs-rows?run={running}"
    assert "cancel-run" in _last_row(page)

    _set(running, done=4)
    answer = admin_client.get(url).get_data(as_text=True)
    row = _last_row(answer, oob=True)
    assert "Running" in row and 'name="csrf_token"' in row and f'name="next" value="{RUN_TAB}"' in row
    assert _poll(answer)[0] == {running}
    assert csrf_from(answer)  # the fresh Cancel posts with a token

    _set(running, status="succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    answer = admin_client.get(url).get_data(as_text=True)
    row = _last_row(answer, oob=True)
    assert "Succeeded" in row and "5 created" in row and "<form" not in row, row  # no Cancel for an ended run
    assert _poll(answer) == (set(), None)  # nothing left unfinished: it stops asking

    page = admin_client.get(RUN_TAB).get_data(as_text=True)  # a page showing only ended runs does not poll
    assert _poll(page) == (set(), None)


def test_the_poll_answers_only_for_the_runs_there_are_and_only_to_admins(app, admin_client, jobs_app):
    queued = _run()
    with app.app_context():  # a browser of its own (Flask-WTF keeps the CSRF token in g)
        assert sign_in(app.test_client(), "riley@demo.example").get(
            f"{JOBS}/last-runs-rows?run={queued}").status_code == 403
    answer = admin_client.get(f"{JOBS}/last-runs-rows?run={queued}&run=999999").get_data(as_text=True)
    # Besides the queued run's row, only the row of the job whose runs may go (live updates: one not kept may have
    # been the run gone), with its last run kept (none here).
    assert answer.count("<tr ") == 2 and '<tr id="last-cw_live_update"' in answer and _poll(answer)[0] == {queued}


@pytest.mark.browser
def test_the_last_runs_cancel_goes_once_its_run_has_ended_without_a_reload(live_server, page, jobs_app):
    running = _run("running")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    polls: list[tuple[float, str]] = []  # every request the page makes by itself (htmx), when and to where
    page.on("request", lambda req: polls.append((time.monotonic(), req.url))
            if req.resource_type in ("xhr", "fetch") else None)
    page.goto(f"{live_server.url}{RUN_TAB}")
    page.evaluate("window.__sameDocument = true")
    assert page.locator("#last-test_count button.cancel-run").count() == 1

    # The run goes on: its row follows it, from one request per two seconds.
    start = time.monotonic()
    _set(running, done=4)
    page.wait_for_timeout(4_500)
    window = [url for at, url in polls if at >= start and "/last-runs-rows" in url]
    assert 1 <= len(window) <= 3, window
    assert all({int(i) for i in parse_qs(urlsplit(url).query)["run"]} == {running} for url in window), window
    assert page.locator("#last-test_count button.cancel-run").count() == 1

    # It ends: its row says so and offers no Cancel any more, and the page stops asking.
    _set(running, status="succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    page.wait_for_selector("#last-test_count .badge.result-succeeded", timeout=6_000)
    assert page.locator("#last-test_count button.cancel-run").count() == 0
    assert "5 created" in page.locator("#last-test_count").inner_text()
    quiet = len(polls)
    page.wait_for_timeout(4_500)
    assert polls[quiet:] == []
    assert page.evaluate("window.__sameDocument") is True  # no reload: the row was swapped in place


def test_a_last_run_not_kept_gives_its_row_back_to_the_run_before_it(admin_client, jobs_app):
    """A live-update run that found nothing pending is not kept (deleted as it ends): the job's row shows the run
    before it again, and the poll stops asking for the one gone."""
    from sqlalchemy import delete

    from colcw_plugin.models import SyncRun
    from colcw_plugin.sync.jobs.runs import create_run
    from helpers import runtime
    from host_stub.extensions import db

    before = create_run(db.session, runtime().kinds, "cw_live_update", {"wave": "before"}, trigger="event")
    before.status, before.finished_at, before.message = "succeeded", utcnow(), "1 record changed in ConnectWise."
    gone = create_run(db.session, runtime().kinds, "cw_live_update", {"wave": "gone"}, trigger="event")
    db.session.commit()
    page = admin_client.get(RUN_TAB).get_data(as_text=True)
    asked, url = _poll(page)
    assert asked == {gone.id} and f"/runs/{gone.id}" in _live_row(page)

    db.session.execute(delete(SyncRun).where(SyncRun.id == gone.id))
    db.session.commit()

    answer = admin_client.get(url).get_data(as_text=True)
    row = _live_row(answer)
    assert "Succeeded" in row and f"/runs/{before.id}" in row and 'hx-swap-oob="true"' in row, row
    assert _poll(answer) == (set(), None)


def _live_row(page: str) -> str:
    found = re.search(r'<tr id="last-cw_live_update"[^>]*>.*?</tr>', page, re.S)
    assert found, page
    return html.unescape(found.group(0))
