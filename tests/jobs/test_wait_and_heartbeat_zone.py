"""When a waiting run tries again, and when an interrupted run's worker was last heard of, are shown in the zone the
page shows its other times in ("Show times in"), like when an admin asked a run to stop: on the run's page and the
fresh copies of its progress bar, and on its row of the job history and the history's poll. The run's stored
message (what the command line and the logs show) keeps them in UTC, saying so; messages written before read the
same way."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select, update
from test_jobs_list_cancel import _row
from test_stop_request_zone import JOBS, OPS, _progress_poll, _show_times_in

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.recorder import RunRecorder
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

STARTED = dt.datetime(2026, 7, 1, 18, 0, 0)  # naive UTC, as stored: 14:00 in New York (EDT)
NEXT_TRY = dt.datetime(2026, 7, 1, 18, 5, 30)  # 14:05:30 EDT
GIVE_UP = dt.datetime(2026, 7, 1, 18, 17, 0)  # 14:17 EDT
HEARTBEAT = dt.datetime(2026, 7, 1, 18, 30, 5)  # 14:30:05 EDT
REASON = "3 records waiting for ConnectWise (HTTP 503 Service Unavailable)"
WAITING_NY = (f"{REASON}; next try at 14:05:30 EDT (what still fails at 14:17 EDT is left as not attempted, "
              "for Retry).")
WAITING_UTC = (f"{REASON}; next try at 18:05:30 UTC (what still fails at 18:17 UTC is left as not attempted, "
               "for Retry).")


def _run(status: str, **values) -> int:
    run = runtime().submit(db.session, "test_count", {"n": 5}, actor=OPS).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(**{
        "status": status, "created_at": STARTED, "started_at": STARTED, "heartbeat_at": STARTED, "attempts": 1,
        "total": 5, "done": 2, "counts": {"created": 2}, **values}))
    db.session.commit()
    return run.id


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _waiting(page: str) -> str:
    return _text(re.search(r'<p class="colcw-progress-waiting">(.*?)</p>', page, re.S).group(1))


def _message(page: str) -> str:
    return _text(re.search(r'<p class="colcw-progress-message">(.*?)</p>', page, re.S).group(1))


def _history_row(client, run_id: int) -> tuple[str, str]:
    """The run's row on the history page, and its fresh copy from the page's poll."""
    history = client.get(f"{JOBS}?tab=history&start=2026-07-01").get_data(as_text=True)
    row = _text(_row(history, run_id))
    poll = re.search(r'<div id="history-poll"[^>]*hx-get="([^"]*)"', history)
    polled = _text(_row(client.get(html.unescape(poll.group(1))).get_data(as_text=True), run_id)) if poll else ""
    return row, polled


def test_a_waiting_runs_next_try_is_shown_in_the_pages_zone(admin_client, jobs_app):
    run_id = _run("waiting", waiting_reason=REASON, next_try_at=NEXT_TRY, give_up_at=GIVE_UP)
    _show_times_in(admin_client, "America/New_York")

    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "<dt>Requested</dt><dd>2026-07-01 14:00:00 EDT by ops@demo.example" in page  # the page's other times
    assert _waiting(page) == WAITING_NY
    fresh = admin_client.get(_progress_poll(page)).get_data(as_text=True)  # the bar's copies keep the zone
    assert _waiting(fresh) == WAITING_NY and _waiting(admin_client.get(_progress_poll(fresh)).get_data(
        as_text=True)) == WAITING_NY
    row, polled = _history_row(admin_client, run_id)
    assert "2026-07-01 14:00 EDT" in row and WAITING_NY in row, row
    assert WAITING_NY in polled, polled

    # The status JSON and the command line say it in UTC, marked so.
    assert _fresh(run_id).wait_text == WAITING_UTC
    assert admin_client.get(f"/colcw/runs/{run_id}/status.json").get_json()["waiting"] == WAITING_UTC

    _show_times_in(admin_client, "UTC")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _waiting(page) == WAITING_UTC and _waiting(admin_client.get(_progress_poll(page)).get_data(
        as_text=True)) == WAITING_UTC


def test_a_running_runs_pause_before_its_next_pass_is_shown_in_the_pages_zone(admin_client, jobs_app):
    """A pass's records wait for ConnectWise while the run goes on: when it tries them again is kept, not written
    into its reason, and shown in the page's zone."""
    run_id = _run("running")
    recorder = RunRecorder(db.engine, run_id)
    recorder.close()  # its own session (which read the run) ends; note_wait writes on a connection of its own
    recorder.note_wait("2 records waiting for ConnectWise (HTTP 503 Service Unavailable); trying them again",
                       NEXT_TRY)
    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    said = ("2 records waiting for ConnectWise (HTTP 503 Service Unavailable); trying them again at 14:05:30 EDT.")
    assert _waiting(page) == said
    assert _waiting(admin_client.get(_progress_poll(page)).get_data(as_text=True)) == said
    assert said in _history_row(admin_client, run_id)[0]
    assert _fresh(run_id).wait_text.endswith("trying them again at 18:05:30 UTC.")

    recorder.note_wait("")  # the pass goes on: nothing waits, and no time is left over for another reason
    recorder.note_wait("Waiting for another export of Acme Corp to finish")
    run = _fresh(run_id)
    assert run.next_try_at is None and run.wait_text_in("America/New_York") == \
        "Waiting for another export of Acme Corp to finish."


def test_an_interrupted_runs_last_heartbeat_is_shown_in_the_pages_zone(admin_client, jobs_app, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, auto_resumes=0)  # given up at once: it ends interrupted, its message shown
    run_id = _run("running", heartbeat_at=HEARTBEAT)
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run_id]
    run = _fresh(run_id)
    assert run.status == "interrupted"
    # Stored (what the command line shows) in UTC, saying so.
    assert "(last heartbeat 2026-07-01 18:30:05 UTC)" in run.message, run.message

    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "Interrupted: the worker stopped after 2 of 5 records (last heartbeat 2026-07-01 14:30:05 EDT), for the " \
           "1st time." in _message(page), _message(page)
    assert "UTC" not in _message(page)
    assert "(last heartbeat 2026-07-01 14:30:05 EDT)" in _history_row(admin_client, run_id)[0]

    _show_times_in(admin_client, "UTC")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "(last heartbeat 2026-07-01 18:30:05 UTC)" in _message(page)


def test_a_stopping_run_closed_by_the_scheduler_says_its_last_heartbeat_in_the_pages_zone(admin_client, jobs_app):
    run_id = _run("running")
    assert recovery.cancel(db.session, runtime().queue, run_id, actor=OPS).status == "cancelling"
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(heartbeat_at=HEARTBEAT))
    db.session.commit()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run_id]
    run = _fresh(run_id)
    assert run.status == "cancelled"
    assert run.message.endswith("Its worker stopped before it acknowledged (last heartbeat 2026-07-01 18:30:05 UTC)."), \
        run.message

    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _message(page).endswith(
        "Its worker stopped before it acknowledged (last heartbeat 2026-07-01 14:30:05 EDT)."), _message(page)


def test_a_heartbeat_in_a_message_written_before_is_shown_in_the_pages_zone_too(admin_client, jobs_app):
    old = ("Interrupted: the worker stopped after 2 of 5 records (last heartbeat 2026-01-15 09:00:00 UTC), for the "
           "4th time. Resume it to finish the rest (records already done are skipped), or Retry what was not "
           "attempted.")
    run_id = _run("interrupted", message=old, finished_at=STARTED)
    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert _message(page) == old.replace("2026-01-15 09:00:00 UTC", "2026-01-15 04:00:00 EST")  # winter: EST


def test_a_reps_waiting_run_says_its_next_try_in_the_reps_zone(rep_client, jobs_app):
    """The rep's run log and the lists' run panel (above All Customers) show the bar in the rep's own zone."""
    rep = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    run_id = _run("waiting", waiting_reason=REASON, next_try_at=NEXT_TRY, give_up_at=GIVE_UP, requested_by_id=rep.id,
                  requested_by=rep.email)
    token = csrf_from(rep_client.get("/colcw/time-zone").get_data(as_text=True))
    rep_client.post("/colcw/time-zone", data={"zone": "America/New_York", "csrf_token": token})

    log = rep_client.get(f"/colcw/runs/{run_id}").get_data(as_text=True)
    assert _waiting(log) == WAITING_NY
    assert _waiting(rep_client.get(_progress_poll(log)).get_data(as_text=True)) == WAITING_NY
    listed = rep_client.get(f"/customers/?colcw_run={run_id}").get_data(as_text=True)
    assert _waiting(listed) == WAITING_NY
    assert _waiting(rep_client.get(_progress_poll(listed)).get_data(as_text=True)) == WAITING_NY
