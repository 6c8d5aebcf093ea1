"""The scheduler on real PostgreSQL and Redis: each period fires exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from jobs_support import wait_until, worker_env
from sqlalchemy import func, select

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import scheduler
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing, set_enabled
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

START = dt.datetime(2025, 3, 8, 12, 0)  # UTC


def nightly(name="Nightly count", at="02:30", params=None, now=START) -> Schedule:
    s = create_schedule(db.session, name=name, kind="test_count", params=params or {"n": 2},
                        timing=parse_timing({"frequency": "daily", "time": at, "timezone": "America/New_York"}),
                        actor="admin@demo.example", now=now)
    db.session.commit()
    return s


def runs_of(schedule_id: int) -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.schedule_id == schedule_id)
                                   .order_by(SyncRun.id)).scalars())


def test_a_due_schedule_fires_once_and_not_again_after_a_scheduler_restart(jobs_app, drain_queue):
    schedule = nightly()
    sid, due = schedule.id, schedule.next_run_at
    assert due == dt.datetime(2025, 3, 9, 7, 30)  # 02:30 does not exist that night: 03:30 EDT

    assert scheduler.tick(db.session, runtime().queue, runtime().kinds, now=due - dt.timedelta(seconds=1)) == []
    fired = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=due + dt.timedelta(seconds=2))
    assert [f.due_at for f in fired] == [due]
    db.session.remove()  # "restart": a new process, nothing in memory
    assert scheduler.tick(db.session, runtime().queue, runtime().kinds, now=due + dt.timedelta(seconds=3)) == []
    assert scheduler.tick(db.session, runtime().queue, runtime().kinds, now=due + dt.timedelta(hours=5)) == []

    [run] = runs_of(sid)
    assert run.trigger == "schedule" and run.requested_by == "schedule: Nightly count"
    drain_queue()
    db.session.expire_all()
    s = db.session.get(Schedule, sid)
    assert s.next_run_at == dt.datetime(2025, 3, 10, 6, 30)  # 02:30 EDT the next night
    assert s.last_run_id == run.id and db.session.get(SyncRun, run.id).status == "succeeded"

    fired = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=dt.datetime(2025, 3, 10, 6, 30, 1))
    assert len(fired) == 1 and len(runs_of(sid)) == 2


def test_two_schedulers_ticking_at_the_same_moment_fire_once(jobs_app, app):
    schedules = [nightly(name=f"Count {n}", params={"n": n}) for n in range(1, 6)]
    now = schedules[0].next_run_at + dt.timedelta(seconds=1)
    barrier = threading.Barrier(4)
    results: list = []

    def one_scheduler():
        with app.app_context():
            barrier.wait()
            results.extend(scheduler.tick(db.session, runtime().queue, runtime().kinds, now=now))

    threads = [threading.Thread(target=one_scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(f.schedule_id for f in results) == sorted(s.id for s in schedules)
    assert all(len(runs_of(s.id)) == 1 for s in schedules)
    assert runtime().queue.rq.count == 5


def test_two_scheduler_processes_started_by_mistake_fire_a_due_schedule_once(jobs_app, processes):
    schedule = nightly(now=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=2))
    env = worker_env(jobs_app)
    first = processes.start(["colcw", "scheduler", "--interval", "0.5"], env)
    second = processes.start(["colcw", "scheduler", "--interval", "0.5"], env)
    wait_until(lambda: runs_of(schedule.id), message="a scheduler to fire the overdue schedule")
    processes.kill(first)  # the leader dies; the other takes over after the lock expires ...
    third = processes.start(["colcw", "scheduler", "--once"], env)  # ... and a restart ticks again
    assert third.wait(timeout=60) == 0
    assert second.poll() is None
    [run] = runs_of(schedule.id)
    assert "Started late" in run.message  # it was due two days ago: fired once, not once per missed day
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).next_run_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)


def test_a_period_is_skipped_with_a_note_while_the_same_job_is_still_queued(jobs_app):
    schedule = nightly()
    queued = runtime().submit(db.session, "test_count", {"n": 2}).run
    fired = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=schedule.next_run_at)
    assert fired[0].run_id is None and fired[0].skipped_for == queued.id
    db.session.expire_all()
    note = db.session.get(Schedule, schedule.id).last_outcome
    assert f"run #{queued.id} of the same job was still queued" in note
    assert db.session.scalar(select(func.count(SyncRun.id))) == 1


def test_a_disabled_schedule_does_not_fire_and_re_enabling_does_not_catch_up(jobs_app):
    schedule = nightly()
    set_enabled(db.session, schedule, False, actor="admin@demo.example")
    db.session.commit()
    later = dt.datetime(2025, 3, 12, 12, 0)
    assert scheduler.tick(db.session, runtime().queue, runtime().kinds, now=later) == []
    set_enabled(db.session, schedule, True, actor="admin@demo.example", now=later)
    db.session.commit()
    assert scheduler.tick(db.session, runtime().queue, runtime().kinds, now=later) == []
    assert db.session.get(Schedule, schedule.id).next_run_at == dt.datetime(2025, 3, 13, 6, 30)


@pytest.mark.parametrize("first_day, change_day", [
    (dt.datetime(2025, 3, 7, 12, 0), dt.date(2025, 3, 9)),  # spring forward: 02:30 does not exist
    (dt.datetime(2025, 10, 31, 12, 0), dt.date(2025, 11, 2)),  # fall back: 01:00-02:00 happens twice
])
def test_a_daily_0230_new_york_schedule_fires_once_a_day_across_a_daylight_saving_change(
        jobs_app, drain_queue, first_day, change_day):
    from zoneinfo import ZoneInfo

    schedule = nightly(now=first_day)
    fired, now = [], first_day
    while now < first_day + dt.timedelta(days=4):  # a scheduler ticking every 10 minutes for four days
        this_tick = scheduler.tick(db.session, runtime().queue, runtime().kinds, now=now)
        if this_tick:
            fired += this_tick
            drain_queue()  # each night's run finishes before the next night
        now += dt.timedelta(minutes=10)
    runs = runs_of(schedule.id)
    assert [f.run_id for f in fired] == [r.id for r in runs] and all(r.status == "succeeded" for r in runs)
    local = [f.due_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("America/New_York")) for f in fired]
    assert [t.date() for t in local] == [first_day.date() + dt.timedelta(days=i) for i in range(1, 5)]  # once a day
    expected = {d: "02:30" for d in (t.date() for t in local)} | {change_day: "03:30" if change_day.month == 3
                                                                  else "02:30"}
    assert {t.date(): t.strftime("%H:%M") for t in local} == expected
