"""A running run's status log follows the run: the progress poll of a run's page says when the run recorded results
since the copy the page shows, and the log then fetches itself again — the page's address (its filter and page), for
the log alone, at a few statements — showing the records done so far while the run still runs."""

from __future__ import annotations

import html
import re

import pytest

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder
from helpers import recorded_statements, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
LOG_ASKS = {"HX-Request": "true", "HX-Target": "run-log"}  # what htmx sends for the log's own request


def _progress_url(page: str) -> str:
    found = re.search(r'<div class="colcw-progress"[^>]*hx-get="([^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


def test_the_run_page_log_shows_what_a_running_run_recorded_and_only_the_log_is_fetched(admin_client, jobs_app):
    run_id = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))  # no worker: the recorder below is the run
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    recorder.set_total(5)
    page_url = f"{JOBS}/runs/{run_id}?action=created"
    page = admin_client.get(page_url).get_data(as_text=True)
    assert "No records created yet." in page
    progress = _progress_url(page)
    assert admin_client.get(progress).headers.get("HX-Trigger") is None  # nothing new: the log stays

    # The run records two results (and one failure): the next poll says so, and the log shows them, run running.
    for i, action in ((1, "created"), (2, "failed"), (3, "created")):
        recorder.record(entity="test", direction="export", action=action, host_id=i, label=f"item {i}")
    recorder.flush()
    bar = admin_client.get(progress)
    assert bar.headers["HX-Trigger"] == "colcw-run-recorded"
    assert admin_client.get(_progress_url(bar.get_data(as_text=True))).headers.get("HX-Trigger") is None

    with recorded_statements(db.engine) as seen:
        log = admin_client.get(page_url, headers=LOG_ASKS)
    text = log.get_data(as_text=True)
    assert log.status_code == 200 and log.headers["Cache-Control"] == "no-store"
    assert text.lstrip().startswith('<section class="card" id="run-log"') and "<html" not in text
    assert "test: item 1" in text and "test: item 3" in text and "item 2" not in text  # the page's filter
    assert "No records" not in text
    assert f'hx-get="{JOBS}/runs/{run_id}?action=created"' in text  # it asks for the same again next time
    assert re.search(r'aria-current="true">created<', text)
    assert len(seen) <= 4, seen  # (the signed-in person,) the run, its page of results and their count
    with recorded_statements(db.engine) as whole:
        admin_client.get(page_url)
    assert len(seen) < len(whole), (seen, whole)  # not the whole page's
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "running"

    # It ends: the poll says so (the log fetches itself then too), not also "recorded".
    recorder.record(entity="test", direction="export", action="created", host_id=4, label="item 4")
    recorder.finish()
    assert admin_client.get(progress).headers["HX-Trigger"] == "colcw-run-finished"
    assert "test: item 4" in admin_client.get(page_url, headers=LOG_ASKS).get_data(as_text=True)


def test_a_reps_run_log_records_row_follows_the_run(rep_client, jobs_app):
    """The progress poll brings the Records row out of band (#run-records): the rep's own log page has that row too,
    so its counts follow the run as the admin's run page's do."""
    from host_stub.models import User

    riley = db.session.execute(db.select(User).where(User.email == "riley@demo.example")).scalar_one()
    run_id = runtime().submit(db.session, "test_count", {"n": 3}, actor={"id": riley.id, "email": riley.email,
                                                                         "role": "rep"}).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    recorder.set_total(3)
    page = rep_client.get(f"/colcw/runs/{run_id}").get_data(as_text=True)
    assert re.search(r'<dd id="run-records">', page), page
    recorder.record(entity="test", direction="export", action="created", host_id=1, label="item 1")
    recorder.flush()
    bar = rep_client.get(_progress_url(page)).get_data(as_text=True)
    assert re.search(r'<dd id="run-records" hx-swap-oob="true">[^<]*1 created', bar), bar


def test_the_log_links_each_customer_and_document_to_its_page(admin_client, jobs_app):
    """The fixes a log gives are on the record's page ("Export to ConnectWise on Blue Ridge Law Group's page"): its
    Record cell links there, for customers and documents; other records (contacts, lines) are named only."""
    run_id = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN).run.id
    runtime().queue.withdraw(db.session.get(SyncRun, run_id))
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    recorder.record(entity="customer", direction="export", action="failed", host_id=7, label="Blue Ridge Law Group")
    recorder.record(entity="document", direction="export", action="created", host_id=12, label="Q1012")
    recorder.record(entity="contact", direction="export", action="created", host_id=3, label="Ann Lee")
    recorder.finish()
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert 'customer: <a href="/customers/7">Blue Ridge Law Group</a>' in page
    assert 'document: <a href="/documents/12">Q1012</a>' in page
    assert "contact: Ann Lee" in page
