"""Two admins saving schedules that would always meet (the same job and settings at the same times) at the same
moment: exactly one is saved, and the other gets the refusal a save made after it gets, naming the first (the check
and the save are taken one at a time: sync/jobs/schedules.py lock_schedule_writes). Real PostgreSQL, two sessions
in two threads, each checking while the other has not saved yet."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from colcw_plugin.errors import FieldErrors
from colcw_plugin.models import Schedule
from colcw_plugin.sync.jobs import schedules as schedule_service
from colcw_plugin.sync.jobs.schedules import TIMING_KEY, Timing, create_schedule, meeting_message, set_enabled
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

NIGHTLY = Timing("daily", dt.time(2, 30), "America/New_York")
PARAMS = {"mode": "all"}


def _slow_check(monkeypatch) -> None:
    """Each check waits a moment after reading: without the lock, both read before either saved."""
    checked = schedule_service.meeting

    def slow(*args, **kwargs):
        found = checked(*args, **kwargs)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(schedule_service, "meeting", slow)


def _at_once(app, *saves) -> list[object]:
    start, out = threading.Barrier(len(saves)), [None] * len(saves)

    def save(i, fn):
        with app.app_context():
            start.wait(10)
            try:
                out[i] = fn(db.session)
                db.session.commit()
            except FieldErrors as e:
                db.session.rollback()
                out[i] = e
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(i, fn)) for i, fn in enumerate(saves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _stored() -> list[Schedule]:
    db.session.expire_all()
    return list(db.session.execute(select(Schedule).order_by(Schedule.id)).scalars())


def _add(name):
    return lambda session: create_schedule(session, name=name, kind="customer_import", params=PARAMS,
                                           timing=NIGHTLY, actor=name).id


def test_two_admins_adding_the_same_schedule_at_once_save_one(app, monkeypatch):
    _slow_check(monkeypatch)
    out = _at_once(app, _add("Nightly A"), _add("Nightly B"))
    [saved] = _stored()
    refused = [o for o in out if isinstance(o, FieldErrors)]
    assert len(refused) == 1 and [o for o in out if o == saved.id] == [saved.id], out
    assert refused[0].errors[TIMING_KEY] == meeting_message(saved, True, True)


def test_two_admins_enabling_clashing_schedules_at_once_enable_one(app, monkeypatch):
    ids = []
    for name in ("Nightly A", "Nightly B"):
        s = create_schedule(db.session, name=name, kind="customer_import", params=PARAMS, timing=NIGHTLY, actor="a")
        set_enabled(db.session, s, False, actor="a")
        db.session.commit()
        ids.append(s.id)
    _slow_check(monkeypatch)

    def enable(schedule_id):
        def go(session):
            s = session.get(Schedule, schedule_id)
            if refused := schedule_service.enabling_refused(session, s):
                raise FieldErrors({TIMING_KEY: refused})
            set_enabled(session, s, True, actor="a")
            return s.id
        return go

    out = _at_once(app, enable(ids[0]), enable(ids[1]))
    on = [s for s in _stored() if s.enabled]
    assert len(on) == 1, out
    refused = [o for o in out if isinstance(o, FieldErrors)]
    assert len(refused) == 1 and refused[0].errors[TIMING_KEY] == meeting_message(on[0], True, True)


def _stored_as_before(name: str, timing: Timing, params: dict = PARAMS) -> Schedule:
    """A schedule saved before clashing ones were refused (or in a race before the saves took turns): no check."""
    s = Schedule(name=name, kind="customer_import", params=params, frequency=timing.frequency,
                 time_of_day=timing.time_of_day.strftime("%H:%M"), timezone=timing.timezone, enabled=True,
                 every_minutes=timing.every_minutes, next_run_at=dt.datetime(2030, 1, 1), created_by="before")
    db.session.add(s)
    db.session.commit()
    return s


def test_clashing_schedules_stored_before_are_flagged_on_the_jobs_page(app, admin_client):
    first = _stored_as_before("Nightly A", NIGHTLY)
    copy = _stored_as_before("Nightly B", Timing("daily", dt.time(2, 30), "US/Eastern"))  # the same instants
    other = _stored_as_before("Nightly other settings", NIGHTLY, {"mode": "changed"})
    later = _stored_as_before("Nightly later", Timing("daily", dt.time(4, 0), "America/New_York"))
    page = admin_client.get("/admin/integration/connectwise/jobs?tab=schedules").get_data(as_text=True)
    said = " ".join(page.split())
    flag = (f"Meets schedule #{first.id} “Nightly A” (Daily at 02:30 (America/New_York)): both queue this job with "
            "the same settings at the same minute, and this one is skipped each time. Delete or disable one of the "
            "two, or edit this one to another time (or days).")
    assert said.count("schedule-clash") == 1 and flag in said, said
    row = said[said.index(f'data-schedule="{copy.name}"'):]
    assert row.index(flag) < row.index("</tr>")  # on the copy's row, the one skipped
    assert other.id and later.id
