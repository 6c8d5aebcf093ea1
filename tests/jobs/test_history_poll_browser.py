"""A page of the job history keeps its unfinished rows current with one request per interval, however many rows
are unfinished; a row whose run ended is no longer asked for, and with none left the page stops asking."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from test_jobs_list_cancel import HISTORY, _run, _set

from helpers import browser_sign_in
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.browser]


def _asked_runs(url: str) -> set[int]:
    return {int(i) for i in parse_qs(urlsplit(url).query).get("run", [])}


@pytest.mark.browser
def test_unfinished_rows_follow_their_runs_with_one_request_per_interval(live_server, page, jobs_app):
    queued, running, waiting, stopping_soon = _run(), _run("running"), _run("waiting", waiting_reason="HTTP 503"), \
        _run("running")
    ended = _run("succeeded", finished_at=utcnow(), done=5, counts={"created": 5}, message="5 created.")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    polls: list[tuple[float, str]] = []  # every request the page makes by itself (htmx), when and to where
    page.on("request", lambda req: polls.append((time.monotonic(), req.url))
            if req.resource_type in ("xhr", "fetch") else None)
    page.goto(f"{live_server.url}{HISTORY}&kind=test_count")  # a filtered page: the poll keeps it as it is
    page.evaluate("window.__sameDocument = true")

    # Four unfinished rows move on: all of them follow, from one request per two seconds.
    start = time.monotonic()
    _set(queued, status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=5, done=1)
    for run_id in (running, waiting, stopping_soon):
        _set(run_id, done=4)
    page.wait_for_selector(f'tr[data-run="{queued}"][data-status="running"]', timeout=6_000)
    for run_id in (running, waiting, stopping_soon):
        page.wait_for_function(f"""document.querySelector('tr[data-run="{run_id}"] td.num').textContent === '4 / 5'""",
                               timeout=6_000)
    page.wait_for_timeout(max(0.0, start + 6.5 - time.monotonic()) * 1000)  # waits as Playwright hears the page
    window = [url for at, url in polls if at >= start]
    assert 2 <= len(window) <= 4, window  # every 2 s, for the four rows together (per row: 12 or more)
    assert all(_asked_runs(url) == {queued, running, waiting, stopping_soon} for url in window), window
    assert "kind=test_count" in page.url and page.locator("tbody tr[data-run]").count() == 5
    # Cancel on a followed row still asks first and posts with its token.
    assert page.locator(f'tr[data-run="{queued}"] form input[name="csrf_token"]').count() == 1
    assert "It starts no new record and finishes the ones it is working on" in \
        page.locator(f'tr[data-run="{queued}"] form').get_attribute("data-colcw-confirm")

    # A run ends: its row shows it, and the next polls no longer ask for it (nor for the run that had ended).
    _set(running, status="succeeded", finished_at=utcnow(), done=5, counts={"updated": 5}, message="5 updated.")
    page.wait_for_selector(f'tr[data-run="{running}"][data-status="succeeded"]', timeout=6_000)
    assert page.locator(f'tr[data-run="{running}"] button').count() == 0
    assert page.locator("#history-poll").get_attribute("data-runs").split() == \
        [str(i) for i in sorted((queued, waiting, stopping_soon), reverse=True)]
    seen = len(polls)
    page.wait_for_timeout(4_500)
    later = [url for _, url in polls[seen:]]
    assert 1 <= len(later) <= 3 and all(_asked_runs(url) == {queued, waiting, stopping_soon} for url in later), later
    assert all(ended not in _asked_runs(url) for _, url in polls)

    # Every run ends: the page stops asking.
    for run_id in (queued, waiting, stopping_soon):
        _set(run_id, status="cancelled", finished_at=utcnow(), message="Cancelled by admin@demo.example.")
    for run_id in (queued, waiting, stopping_soon):
        page.wait_for_selector(f'tr[data-run="{run_id}"][data-status="cancelled"]', timeout=6_000)
    quiet = len(polls)
    page.wait_for_timeout(4_500)
    assert polls[quiet:] == []
    assert page.evaluate("window.__sameDocument") is True  # no reload: the rows were swapped in place


@pytest.mark.browser
def test_the_row_of_a_run_not_kept_leaves_the_page(live_server, page, jobs_app):
    """A live-update run that found nothing pending is not kept (its row is deleted as it ends): a history page that
    showed it queued drops its row, without a reload, instead of showing it queued for ever."""
    from sqlalchemy import delete

    from colcw_plugin.models import SyncRun
    from host_stub.extensions import db

    kept, forgotten = _run("running"), _run()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{HISTORY}&kind=test_count")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector(f'tr[data-run="{forgotten}"]')

    db.session.execute(delete(SyncRun).where(SyncRun.id == forgotten))
    db.session.commit()

    page.wait_for_selector(f'tr[data-run="{forgotten}"]', state="detached", timeout=6_000)
    assert page.locator(f'tr[data-run="{kept}"]').count() == 1
    assert page.locator("#history-poll").get_attribute("data-runs").split() == [str(kept)]
    assert page.evaluate("window.__sameDocument") is True


@pytest.mark.browser
def test_the_page_of_a_run_not_kept_says_so_and_stops_asking(live_server, page, jobs_app):
    """An admin opened a queued live-update run's page; the run found nothing and is not kept: its progress bar says
    so, once, instead of showing it queued (and asking) for ever."""
    from sqlalchemy import delete

    from colcw_plugin.models import SyncRun
    from colcw_plugin.sync.jobs.runs import create_run
    from helpers import runtime
    from host_stub.extensions import db

    run = create_run(db.session, runtime().kinds, "cw_live_update", {"wave": "gone"}, trigger="event")
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}/admin/integration/connectwise/jobs/runs/{run.id}")
    page.wait_for_selector(f'#colcw-progress-{run.id}[data-status="queued"]')
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url) if "/progress" in req.url else None)

    db.session.execute(delete(SyncRun).where(SyncRun.id == run.id))
    db.session.commit()

    bar = page.locator(f'#colcw-progress-{run.id}[data-status="gone"]')
    bar.wait_for(timeout=6_000)
    assert "This run is no longer in the job history: it found nothing to read or change in ConnectWise" in \
        bar.inner_text()
    seen = len(asked)
    page.wait_for_timeout(2_500)
    assert len(asked) == seen  # it asks no more
