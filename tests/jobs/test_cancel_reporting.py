"""How a cancelled run is reported: its bar, counts and message say how far it really got (the records it never
reached are "not attempted", not done), a run cancelled before it started says so, a cancel that comes after a
run's last record leaves the run its own status and says so, and a stopping run's page says it once.

The runs here run in this process (an admin's cancel comes from another session, as from another machine), through
a job kind of this module's that asks for the cancel where a test says."""

from __future__ import annotations

import re

import pytest
from jobs_support import run_to_end
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _ask_to_stop(ctx: SyncContext) -> None:
    """An admin cancels the run from the jobs page (another session), and the run's next write learns of it."""
    with Session(bind=ctx.session.get_bind()) as other:
        assert recovery.cancel(other, runtime().queue, ctx.run_id, actor=ADMIN).status == "cancelling"
    ctx.recorder.flush()


def _stoppable(ctx: SyncContext) -> str:
    """``n`` records (selected by id with ``select``, else counted only, as an import of all companies); the admin
    cancels once ``cancel_at`` are recorded; ``check_last``: the service looks for a request to stop after its last
    record too (as the quote export does between documents)."""
    p = ctx.params
    n = int(p["n"])
    if p.get("select"):
        ctx.recorder.set_total(n, entity="test", ids=range(1, n + 1))
    else:
        ctx.recorder.set_total(n)
    for i in range(1, n + 1):
        if p.get("cancel_at") == i - 1:
            _ask_to_stop(ctx)
        ctx.recorder.stop_if_requested()
        ctx.recorder.record(entity="test", direction="export", action="created", host_id=i, label=f"item {i}")
    if p.get("cancel_at") == n:
        _ask_to_stop(ctx)
    if p.get("check_last"):
        ctx.recorder.stop_if_requested()
    return f"counted {n} items"


STOPPABLE = JobKind(name="test_stoppable", label="Test stoppable", run=_stoppable,
                    describe=lambda session, p, scheduled=False: f"Stoppable {p.get('n')} test items")


def _run(**params) -> SyncRun:
    """Run the stoppable kind to its end in this process; the run as it ended."""
    return run_to_end(STOPPABLE, **params)


def _progress(page: str, run_id: int) -> tuple[str, str | None, int]:
    """The run's progress bar on a page: its text (whitespace folded), the count, and the bar's value."""
    block = re.search(rf'<div class="colcw-progress" id="colcw-progress-{run_id}".*?</div>', page, re.S)
    assert block, page
    text = re.sub(r"<[^>]+>", "", re.search(r'aria-live="polite">(.*?)(?:<p |</div>)', block.group(0), re.S).group(1))
    count = re.search(r'class="colcw-progress-count">([^<]*)<', block.group(0))
    value = int(re.search(r'<progress max="100" value="(\d+)"', block.group(0)).group(1))
    return " ".join(text.split()), count.group(1) if count else None, value


def _history_progress(page: str, run_id: int) -> str:
    row = re.search(rf'<tr [^>]*data-run="{run_id}"[^>]*>.*?</tr>', page, re.S).group(0)
    return re.findall(r'<td class="num">([^<]*)</td>', row)[0]


def test_an_export_cancelled_part_way_shows_how_far_it_got_on_every_page(admin_client, jobs_app):
    run = _run(n=20, select=True, cancel_at=8)
    assert run.status == "cancelled"
    assert run.message == "Cancelled by admin@demo.example while running (8 of 20 tests done; 12 not done)."
    assert run.done == run.total == 20 and run.counts == {"created": 8, "not_attempted": 12}  # Retry's bookkeeping

    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    text, count, value = _progress(page, run.id)
    assert (count, value) == ("8 / 20", 40) and text == "Cancelled — 8 / 20 (40 %)", text
    assert "8 created, 12 not attempted" in page  # the records it never reached, as such
    assert _history_progress(admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True), run.id) == "8 / 20"
    log = admin_client.get(f"{JOBS}/runs/{run.id}?action=not_attempted").get_data(as_text=True)
    assert log.count('class="item-not_attempted"') == 12 and "test #20: the run was cancelled by" in log


def test_an_import_cancelled_before_its_first_record_says_it_reached_none(admin_client, jobs_app):
    run = _run(n=25, cancel_at=0)  # no selection of ids: nothing is recorded "not attempted"
    assert run.status == "cancelled"
    assert run.message == ("Cancelled by admin@demo.example while running (0 of 25 records done; the 25 not done "
                           "are not listed: Run the whole job again reaches them — records it already did come back "
                           "unchanged, at little cost).")
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    text, count, value = _progress(page, run.id)
    assert (count, value) == ("0 / 25", 0), text
    assert _history_progress(admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True), run.id) == "0 / 25"


def test_a_queued_run_cancelled_before_it_started_says_so(admin_client, jobs_app):
    run = create_run(db.session, runtime().kinds, "test_count", {"n": 2}, actor=ADMIN)
    db.session.commit()
    cancelled = recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    assert cancelled.message == "Cancelled by admin@demo.example before it started."
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    text, count, value = _progress(page, run.id)
    assert count is None and value == 0 and "100 %" not in text and "?" not in text, text


def test_a_run_claimed_then_asked_to_stop_before_its_start_says_it_never_started(jobs_app):
    run = create_run(db.session, runtime().kinds, "test_count", {"n": 2}, actor=ADMIN)
    db.session.commit()  # a worker claimed it (running, not started yet); then an admin asks it to stop
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status="running", heartbeat_at=utcnow()))
    db.session.commit()
    assert recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN).status == "cancelling"
    done = runtime().execute(db.session, run.id)
    assert done.status == "cancelled" and done.message == "Cancelled by admin@demo.example before it started."


def test_a_cancel_taken_after_the_last_record_leaves_the_run_its_own_status(jobs_app):
    # The service looks for the request after its last record (the quote export does, between documents).
    run = _run(n=6, select=True, cancel_at=6, check_last=True)
    assert run.status == "succeeded", run.message
    assert run.message == ("counted 6 items (6 created). An admin's cancel (admin@demo.example) came after its last "
                           "record."), run.message  # the kind's own message, as when it finishes while asked
    assert run.reached == run.done == 6 and run.percent == 100
    assert not db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id,
                                                         SyncItem.action == "not_attempted")).first()


def test_a_run_that_finishes_while_asked_to_stop_says_the_cancel_came_late(jobs_app):
    run = _run(n=1, select=True, cancel_at=1)  # asked as it finished: it does not look again
    assert run.status == "succeeded", run.message
    assert run.message == ("counted 1 items (1 created). An admin's cancel (admin@demo.example) came after its last "
                           "record."), run.message


def test_a_stopping_runs_page_says_it_once_with_who_when_and_the_scheduler(admin_client, jobs_app):
    run = create_run(db.session, runtime().kinds, "test_count", {"n": 5}, actor=ADMIN)
    db.session.commit()
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=5, done=2))
    db.session.commit()
    recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert page.count("Stopping…") == 1 and page.count('id="run-stopping"') == 1, page
    sentence = re.search(r'id="run-stopping"[^>]*>([^<]*)<', page).group(1)
    assert re.fullmatch(r"Stopping… Cancel requested by admin@demo\.example at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: "
                        r"the run ends as cancelled once the record it is working on is saved \(if its worker has "
                        r"stopped, the scheduler closes it within a few minutes\)\.", sentence), sentence
