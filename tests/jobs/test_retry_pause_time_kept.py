"""A run pausing between two tries of one request (ConnectWise's Retry-After) keeps when it sends the request again
(RunRecorder.note_retry_wait), and its pages say that time in their zone: the run's page ("…: trying the request
again at 14:30:05 EDT.") and the customer's page whose export it is ("waiting to retry at 14:30:05 EDT: ConnectWise
is rate-limiting colcw"). The time was worked out from the pause's "in 30 s" and the run's last heartbeat, so any
write to the run during the pause (another record's results, a look at its status) moved it later."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from customers.customer_support import make_customer
from htmx_loads import loaded
from sqlalchemy import update
from test_stop_request_zone import JOBS, OPS, _show_times_in

from colcw_plugin.cw.errors import RateLimited
from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _new_york(at: dt.datetime) -> str:
    return at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("America/New_York")).strftime("%H:%M:%S %Z")


def _running_export(customer_id: int, **submit) -> tuple[int, RunRecorder]:
    """The customer's export taken off the queue and marked running (its first try), and a recorder of it whose own
    session has ended (note_wait writes on a connection of its own): (the run's id, the recorder)."""
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer_id}, **submit).run
    runtime().queue.withdraw(run)
    now = utcnow()
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=now, heartbeat_at=now, attempts=1, total=1))
    db.session.commit()
    recorder = RunRecorder(db.engine, run.id)
    recorder.close()
    return run.id, recorder


def test_the_pages_say_when_the_request_is_sent_again_whatever_is_written_meanwhile(admin_client, jobs_app):
    customer = make_customer()
    run_id, recorder = _running_export(customer.id, actor=OPS)

    before = utcnow()
    recorder.note_retry_wait(RateLimited("429 Too Many Requests", status=429, retry_after=30), 30)
    after = utcnow()
    # Written to meanwhile (another worker's records, a heartbeat): 20 s into the pause.
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        heartbeat_at=after + dt.timedelta(seconds=20)))
    db.session.commit()
    retry_at = {_new_york(t + dt.timedelta(seconds=30)) for t in (before, after)}

    _show_times_in(admin_client, "America/New_York")
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    waiting = _text(re.search(r'<p class="colcw-progress-waiting">(.*?)</p>', page, re.S).group(1))
    assert waiting in {f"ConnectWise is rate-limiting colcw: trying the request again at {t}." for t in retry_at}, \
        (waiting, retry_at)

    panel = _text(loaded(admin_client, f"/customers/{customer.id}"))
    said = re.search(r"An export to ConnectWise is under way \(waiting to retry at (\d\d:\d\d:\d\d [A-Z]+): "
                     r"ConnectWise is rate-limiting colcw\)", panel)
    assert said is not None, panel
    assert said.group(1) in retry_at, (said.group(1), retry_at)
