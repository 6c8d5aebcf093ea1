"""A finished run's page names its status as the history's filter does, shows its totals once, and a run that had
nothing to do says so instead of "0 / ?"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.history import RESULTS
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _finished(**values) -> int:
    run = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        started_at=utcnow(), finished_at=utcnow(), attempts=1, **values))
    db.session.commit()
    return run.id


def _bar(page: str) -> str:
    text = re.search(r'aria-live="polite">(.*?)</span>\s*(?:<p|</div>)', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", text).split())


def test_a_partly_failed_run_is_named_as_the_history_names_it_and_its_totals_shown_once(admin_client, jobs_app):
    run_id = _finished(status="partial", total=5, done=5, counts={"created": 3, "failed": 2},
                       entity_counts={"customer": {"created": 3, "failed": 2}}, message="3 created, 2 failed")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _bar(page) == f"{RESULTS['partial']} — 5 / 5 (100 %)" == "Partly failed — 5 / 5 (100 %)"
    assert "Records: " not in page  # the Records row says them; the bar does not again


def test_a_run_with_nothing_to_do_says_so(admin_client, jobs_app):
    run_id = _finished(status="succeeded", total=0, done=0, message="Nothing to do.")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _bar(page) == "Succeeded — nothing to do"
    assert "0 / ?" not in page


def test_a_run_that_failed_before_reading_anything_says_so_with_an_empty_bar(admin_client, jobs_app):
    run_id = _finished(status="failed", total=0, done=0,
                       message="ConnectWise refused (HTTP 403) to list company/companies/count.")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _bar(page) == "Failed — before any record was read"
    assert f'<progress max="100" value="0" aria-label="Progress of run #{run_id}">' in page


def test_an_ended_run_without_a_total_gives_its_count_not_a_question_mark(admin_client, jobs_app):
    run_id = _finished(status="failed", total=0, done=1303, counts={"failed": 1303},
                       message="Stopped by the mass-delete guard.")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _bar(page) == "Failed — 1,303 records"
    history = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    row = history.split(f'/runs/{run_id}"')[1].split("</tr>")[0]
    assert "1,303 records" in row and "/ ?" not in row
