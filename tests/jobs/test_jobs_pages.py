"""The Synchronization Jobs pages (Flask test client): forms, schedules, history, logs, access."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from sqlalchemy import func, insert, select

from colcw_plugin.models import Schedule, SyncItem, SyncRun
from helpers import csrf_from, redis_down, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import User, utcnow
from host_stub.seed import seed_demo

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_only_admins_reach_the_jobs_page_and_the_queue_dashboard(client, redis_conn):
    assert client.get(JOBS).status_code == 302  # to sign-in
    assert client.get("/admin/integration/connectwise/rq/").status_code == 302
    sign_in(client, "riley@demo.example")
    assert client.get(JOBS).status_code == 403
    assert client.get("/admin/integration/connectwise/rq/").status_code == 403
    assert client.get("/admin/integration/connectwise/rq/0/data/queues.json").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/customers/").get_data(as_text=True))})
    sign_in(client, "admin@demo.example")
    page = client.get(JOBS).get_data(as_text=True)
    assert "Synchronization Jobs" in page and "Customer data sync" in page and "Quote / sales order export" in page
    dash = client.get("/admin/integration/connectwise/rq/", follow_redirects=True)
    assert dash.status_code == 200 and b"RQ" in dash.data
    # rq-dashboard's own pages carry a way back to the admin.
    back = dash.get_data(as_text=True).split('id="colcw-back-to-admin"')[1].split("</div>")[0]
    assert f'href="{JOBS}"' in back and 'href="/admin/"' in back


def test_run_now_by_document_number_queues_an_export_of_that_document(admin_client, jobs_app):
    seed_demo(db.session, customers=3, quotes=2)
    from host_stub.models import Document

    doc = db.session.execute(select(Document).order_by(Document.id)).scalars().first()
    number, doc_id = doc.number, doc.id
    resp = post(admin_client, f"{JOBS}/run", {"job": "quote", "quote_scope": "one", "document_number": number.lower()})
    assert resp.status_code == 302
    run = db.session.execute(select(SyncRun)).scalar_one()
    assert run.kind == "quote_export" and run.params == {"document_id": doc_id}
    assert resp.headers["Location"].endswith(f"/jobs/runs/{run.id}")
    again = post(admin_client, f"{JOBS}/run", {"job": "quote", "quote_scope": "one", "document_number": number})
    assert count(SyncRun) == 1
    assert "already queued as run" in admin_client.get(again.headers["Location"]).get_data(as_text=True)


def test_an_unknown_account_number_is_refused_with_a_message_and_nothing_queued(admin_client, jobs_app):
    resp = post(admin_client, f"{JOBS}/run", {"job": "customer", "source": "channelonline", "customer_scope": "one",
                                              "account_number": "NOPE-1"})
    assert resp.status_code == 400
    assert "No customer has the account number" in resp.get_data(as_text=True)
    assert count(SyncRun) == 0 and runtime().queue.rq.count == 0


def test_range_and_import_forms_build_the_params_the_services_expect(admin_client, jobs_app):
    post(admin_client, f"{JOBS}/run", {"job": "customer", "source": "channelonline", "customer_scope": "range",
                                       "customer_range_field": "created", "customer_preset": "custom",
                                       "customer_start": "2025-01-01", "customer_end": "2025-01-31"})
    post(admin_client, f"{JOBS}/run", {"job": "customer", "source": "connectwise", "import_scope": "changed"})
    post(admin_client, f"{JOBS}/run", {"job": "quote", "quote_scope": "range", "quote_range_field": "follow_up",
                                       "quote_preset": "last15"})
    got = [(r.kind, r.params) for r in db.session.execute(select(SyncRun).order_by(SyncRun.id)).scalars()]
    assert got == [
        ("customer_export", {"range": {"field": "created", "preset": "custom", "start": "2025-01-01",
                                       "end": "2025-01-31"}}),
        ("customer_import", {"mode": "changed"}),
        ("quote_export", {"range": {"field": "follow_up", "preset": "last15"}}),
    ]


def test_schedule_this_job_saves_a_schedule_shown_in_the_admins_zone_and_can_be_managed(admin_client, jobs_app):
    resp = post(admin_client, f"{JOBS}/run", {
        "job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1",
        "schedule_name": "Nightly import", "time": "02:30", "timezone": "America/New_York", "frequency": "daily"})
    assert resp.status_code == 302 and count(SyncRun) == 0
    schedule = db.session.execute(select(Schedule)).scalar_one()
    assert (schedule.kind, schedule.params, schedule.time_of_day) == ("customer_import", {"mode": "all"}, "02:30")

    post(admin_client, f"{JOBS}/zone", {"zone": "America/Los_Angeles"})
    page = admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True)
    expected = schedule.next_run_at.replace(tzinfo=dt.UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Los_Angeles")).strftime("%Y-%m-%d %H:%M %Z")
    assert expected in page and "Daily at 02:30 (America/New_York)" in page

    edit = f"{JOBS}/schedules/{schedule.id}/edit"
    bad = post(admin_client, edit, {"schedule_name": "Nightly import", "time": "02:30", "timezone": "Mars/Base",
                                    "frequency": "weekly", "weekday": "2"}, page=edit)
    assert bad.status_code == 400 and "Choose a time zone from the list" in bad.get_data(as_text=True)
    post(admin_client, edit, {"schedule_name": "Wednesday import", "time": "04:00", "timezone": "Europe/Paris",
                              "frequency": "weekly", "weekday": "2"}, page=edit)
    db.session.expire_all()
    schedule = db.session.get(Schedule, schedule.id)
    assert (schedule.name, schedule.frequency, schedule.weekday) == ("Wednesday import", "weekly", 2)
    assert schedule.next_run_at.replace(tzinfo=dt.UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == "Wed 04:00"

    post(admin_client, f"{JOBS}/schedules/{schedule.id}/toggle", {"enabled": "0"})
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).enabled is False
    post(admin_client, f"{JOBS}/schedules/{schedule.id}/delete", {})
    assert count(Schedule) == 0


def _finished_run(kind="quote_export", created=None, status="partial") -> SyncRun:
    run = SyncRun(kind=kind, params={"all": True}, description="Export all documents", status=status,
                  requested_by="admin@demo.example", created_at=created or utcnow(), counts={"created": 1, "failed": 2},
                  done=3, total=3, finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    return run


def test_history_shows_the_last_seven_days_by_default_and_filters(admin_client, jobs_app):
    recent = _finished_run()
    old = _finished_run(created=utcnow() - dt.timedelta(days=10), status="failed")
    db.session.commit()
    page = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    assert f'data-run="{recent.id}"' in page and f'data-run="{old.id}"' not in page
    start = (utcnow() - dt.timedelta(days=30)).date().isoformat()
    filtered = admin_client.get(f"{JOBS}?tab=history&result=failed&start={start}").get_data(as_text=True)
    assert f'data-run="{old.id}"' in filtered and f'data-run="{recent.id}"' not in filtered
    bad = admin_client.get(f"{JOBS}?tab=history&start=yesterday").get_data(as_text=True)
    assert "Enter the history dates as YYYY-MM-DD" in bad


def test_retry_of_a_runs_failed_records_queues_only_those_documents(admin_client, jobs_app):
    run = _finished_run()
    db.session.execute(insert(SyncItem), [
        {"run_id": run.id, "at": utcnow(), "entity": "document", "direction": "export", "host_id": 11,
         "action": "created", "label": "Q-11", "message": "", "resolution": ""},
        {"run_id": run.id, "at": utcnow(), "entity": "document", "direction": "export", "host_id": 12,
         "action": "failed", "label": "=HYPERLINK(\"x\")", "message": "Manufacturer 'Acme' is not in ConnectWise.",
         "resolution": "Add Acme under Setup Tables → Manufacturers, or map it, then retry."},
        {"run_id": run.id, "at": utcnow(), "entity": "document", "direction": "export", "host_id": 14,
         "action": "failed", "label": "Q-14", "message": "x", "resolution": "y"}])
    db.session.commit()
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert "Retry the 2 failed quotes / orders" in page and "Add Acme under Setup Tables" in page

    resp = post(admin_client, f"{JOBS}/runs/{run.id}/retry", {}, page=f"{JOBS}/runs/{run.id}")
    retry = db.session.execute(select(SyncRun).where(SyncRun.retry_of_id == run.id)).scalar_one()
    assert retry.params == {"document_ids": [12, 14]} and retry.trigger == "retry"
    assert resp.headers["Location"].endswith(f"/jobs/runs/{retry.id}")

    rows = list(csv.reader(io.StringIO(admin_client.get(f"{JOBS}/runs/{run.id}.csv").get_data(as_text=True))))
    assert rows[0][:4] == ["at_utc", "entity", "direction", "action"]
    assert [r[3] for r in rows[1:]] == ["created", "failed", "failed"]
    assert rows[2][4] == "'=HYPERLINK(\"x\")"  # never a live formula in a spreadsheet


def test_status_json_is_for_admins_and_for_the_rep_who_started_the_run(client, jobs_app):
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    mine = runtime().submit(db.session, "test_count", {"n": 1}, actor={"id": riley.id, "email": riley.email}).run
    other = runtime().submit(db.session, "test_count", {"n": 2}, actor={"id": None, "email": "admin@demo.example"}).run
    sign_in(client, "riley@demo.example")
    data = client.get(f"/colcw/runs/{mine.id}/status.json").get_json()
    assert data["status"] == "queued" and data["percent"] == 0 and "log_url" not in data
    assert client.get(f"/colcw/runs/{other.id}/status.json").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/customers/").get_data(as_text=True))})
    sign_in(client, "admin@demo.example")
    assert client.get(f"/colcw/runs/{other.id}/status.json").get_json()["log_url"].endswith(f"/runs/{other.id}")


def test_a_schedule_with_no_name_and_a_bad_time_reports_both_and_saves_nothing(admin_client, jobs_app):
    resp = post(admin_client, f"{JOBS}/run", {
        "job": "quote", "quote_scope": "all", "schedule": "1", "schedule_name": " ", "time": "25:00",
        "timezone": "America/New_York", "frequency": "daily"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "The schedule was not saved" in page and "The job was not started" not in page
    assert "Name the schedule" in page and "Enter the time as HH:MM" in page
    assert count(Schedule) == 0 and count(SyncRun) == 0


def test_a_schedule_name_longer_than_it_can_be_stored_is_refused_not_cut(admin_client, jobs_app):
    resp = post(admin_client, f"{JOBS}/run", {
        "job": "quote", "quote_scope": "all", "schedule": "1", "schedule_name": "N" * 300, "time": "02:30",
        "timezone": "America/New_York", "frequency": "daily"})
    assert resp.status_code == 400
    assert "A schedule&#39;s name has at most 100 characters (300 given): shorten it." in resp.get_data(as_text=True)
    assert count(Schedule) == 0


def test_when_redis_is_down_run_now_says_so_and_records_nothing(admin_client, jobs_app, monkeypatch):
    redis_down(monkeypatch, jobs_app)
    resp = post(admin_client, f"{JOBS}/run", {"job": "customer", "source": "connectwise", "import_scope": "all"})
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "the job queue (Redis) is not reachable" in page
    assert count(SyncRun) == 0  # nothing half-done: no run waits for a queue it never reached


def test_an_admin_cancels_a_queued_run_from_its_page(admin_client, jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor={"id": None, "email": "admin@demo.example"}).run
    url = f"{JOBS}/runs/{run.id}"
    assert 'id="cancel-run"' in admin_client.get(url).get_data(as_text=True)
    resp = post(admin_client, f"{url}/cancel", {}, page=url)
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Run #{run.id} cancelled." in page and 'id="cancel-run"' not in page
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "cancelled" and runtime().queue.rq.count == 0


def test_a_scheduled_changed_since_import_is_described_by_its_moving_watermark_not_todays(admin_client, jobs_app):
    _finished_run(kind="customer_import", status="succeeded").params = {"mode": "all"}  # a previous import
    db.session.execute(SyncRun.__table__.update().values(started_at=utcnow()))
    db.session.commit()
    post(admin_client, f"{JOBS}/run", {"job": "customer", "source": "connectwise", "import_scope": "changed",
                                       "schedule": "1", "schedule_name": "Hourly-ish", "time": "03:00",
                                       "timezone": "UTC", "frequency": "daily"})
    row = admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True).split('data-schedule="Hourly-ish"')[1]
    row = row.split("</tr>")[0]
    assert "since the previous import" in row and " UTC</span>" not in row


def test_the_jobs_pages_say_when_no_worker_or_scheduler_is_running(admin_client, app, redis_conn, monkeypatch):
    """Without a worker a run sits queued, and without the scheduler nothing scheduled starts: the pages say
    so, from what Redis (shared by every machine) holds, instead of a run that silently never starts."""
    import threading

    from sqlalchemy.orm import Session

    from colcw_plugin.sync.jobs.scheduler import run_scheduler

    no_worker, no_scheduler = "No colcw worker is running", "The colcw scheduler is not running"
    page = admin_client.get(JOBS).get_data(as_text=True)
    # The commands as they are typed for this app ("flask colcw worker" alone finds no app).
    assert no_worker in page and no_scheduler in page
    assert "“flask --app host_stub colcw worker”" in page and "“flask --app host_stub colcw scheduler”" in page
    run = runtime().submit(db.session, "quote_export", {"document_id": 1}, actor={"name": "admin"}).run
    assert no_worker in admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)  # queued: said there too
    # The queued run's progress bar (what a rep's page polls) says why it does not start, too.
    bar = admin_client.get(f"/colcw/runs/{run.id}/progress").get_data(as_text=True)
    assert ("Queued: no colcw worker is running to start it: start one with “flask --app host_stub colcw worker”."
            in html.unescape(bar))

    rt = runtime()
    from rq import SimpleWorker

    worker = SimpleWorker(list(rt.queue.queues), connection=rt.queue.connection)  # (as colcw worker listens)
    worker.register_birth()  # what a starting worker writes to Redis
    stop = threading.Event()
    engine = db.engine
    scheduler = threading.Thread(target=run_scheduler, args=(lambda: Session(bind=engine), rt.queue, rt.kinds),
                                 kwargs={"history_days": 90, "interval": 0.2, "stop": stop}, daemon=True)
    try:
        page = admin_client.get(JOBS).get_data(as_text=True)
        assert no_worker not in page and no_scheduler in page
        assert "no colcw worker" not in admin_client.get(f"/colcw/runs/{run.id}/progress").get_data(as_text=True)
        scheduler.start()
        for _ in range(50):
            page = admin_client.get(JOBS).get_data(as_text=True)
            if no_scheduler not in page:
                break
            stop.wait(0.1)
        assert 'id="colcw-missing-processes"' not in page
    finally:
        stop.set()
        scheduler.join(timeout=10)
        worker.register_death()
    page = admin_client.get(JOBS).get_data(as_text=True)
    assert no_worker in page and no_scheduler in page  # the scheduler let its lock go as it stopped
    redis_down(monkeypatch, app)
    assert "The job queue (Redis) does not answer" in admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)


def test_a_reps_queued_run_without_a_worker_sends_the_rep_to_an_admin(rep_client, app, redis_conn):
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    run = runtime().submit(db.session, "quote_export", {"document_id": 1},
                           actor={"id": riley.id, "email": riley.email, "name": riley.name, "role": "rep"}).run
    bar = html.unescape(rep_client.get(f"/colcw/runs/{run.id}/progress").get_data(as_text=True))
    assert "Queued: no colcw worker is running to start it: ask an admin to start one." in bar
    assert "flask" not in bar


def test_the_schedule_time_field_claims_no_clock_the_browser_may_not_show(admin_client):
    """The time input shows the browser's own clock (02:30 AM in an en-US one): its label names no 24-hour clock."""
    page = admin_client.get(JOBS).get_data(as_text=True)
    assert "Time of day" in page and "24-hour" not in page and 'type="time"' in page


def test_each_jobs_schedule_name_suggests_a_name_for_that_job(admin_client):
    page = admin_client.get(JOBS).get_data(as_text=True)
    placeholders = re.findall(r'name="schedule_name"[^>]*placeholder="([^"]+)"|placeholder="([^"]+)"[^>]*name="schedule_name"',
                              page)
    shown = [a or b for a, b in placeholders]
    assert shown.count("e.g. Nightly customer import") == 1, shown
    assert "e.g. Weekly quote export" in shown and "e.g. Safety net" in shown


def test_a_history_page_past_the_last_shows_the_last_not_no_runs(admin_client, app, redis_conn):
    runs = [runtime().submit(db.session, "quote_export", {"document_id": 1}, actor={"name": "admin"}).run.id
            for _ in range(3)]
    page = html.unescape(admin_client.get(f"{JOBS}?tab=history&page=99").get_data(as_text=True))
    assert "No runs match." not in page
    assert "Page 99 is past the last page of this history (1): showing page 1." in page
    assert all(f'id="history-run-{run_id}"' in page for run_id in runs)


def test_a_refused_mass_delete_limit_stays_in_its_field_with_why(admin_client, app, redis_conn):
    page = admin_client.get(JOBS).get_data(as_text=True)
    resp = admin_client.post(f"{JOBS}/mass-delete-limit", data={"csrf_token": csrf_from(page),
                                                                 "mass_delete_limit": "150%"})
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert "Nothing was saved: Enter a percentage of the linked records from 1% to 100%" in text
    assert re.search(r'name="mass_delete_limit" value="150%"', text), text  # what was typed, not the saved 10%
    assert re.search(r'name="mass_delete_limit" value="10%"',
                     admin_client.get(JOBS).get_data(as_text=True))  # the saved one stays
