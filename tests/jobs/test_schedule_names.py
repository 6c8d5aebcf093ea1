"""One schedule per name (whatever its case and surrounding spaces): the Synchronization Jobs page's "Schedule this
job" and Edit, and ``colcw schedules add | edit``, refuse a name another schedule has, saying which one and what to
do; two admins saving the same name at once cannot both succeed (the name's unique index, colcw_0006); and the
migration makes names already shared different before it builds the index."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from test_stop_request_migration import CONFIG, _migrate, empty_database  # noqa: F401 - the fixture

from colcw_plugin.models import Schedule
from colcw_plugin.sync.jobs import schedules as schedule_service
from helpers import csrf_from
from host_stub import create_app
from host_stub.extensions import db

JOBS = "/admin/integration/connectwise/jobs"
NIGHTLY = {"job": "customer", "source": "connectwise", "import_scope": "all", "schedule": "1",
           "time": "02:30", "timezone": "America/New_York", "frequency": "daily"}
TAKEN = "already has this name: schedule names must differ (whatever their case). Choose a different name, or " \
        "rename or delete that schedule first."


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def names() -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(Schedule.name).order_by(Schedule.id)).scalars())


def colcw(app, *args):
    return app.test_cli_runner().invoke(args=["colcw", "schedules", *args], env={"LOGNAME": "deploy"})


@pytest.mark.redis
@pytest.mark.postgres
def test_the_page_refuses_a_name_another_schedule_has_whatever_its_case(admin_client, jobs_app):
    assert post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import"}).status_code == 302
    [nightly] = db.session.execute(select(Schedule)).scalars().all()

    resp = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "  nightly IMPORT ", "frequency": "weekly",
                                              "weekday": "2"})
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    said = f"Schedule #{nightly.id} “Nightly import” (Daily at 02:30 (America/New_York)) {TAKEN}"
    assert "The schedule was not saved: correct what is marked in the form below." in page  # the page's message
    assert said in page.split('id="error-schedule_name"')[1].split("</")[0]  # the reason beside the name's field
    assert page.count(said) == 1  # said once, where it is to be corrected
    assert names() == ["Nightly import"]

    # Edit: another schedule cannot take it; the schedule itself can change its case.
    # (at another time: at 02:30 each of its runs would meet one of the nightly's, which is refused)
    post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Weekly import", "frequency": "weekly",
                                       "weekday": "2", "time": "03:30"})
    weekly = db.session.execute(select(Schedule).where(Schedule.name == "Weekly import")).scalar_one()
    edit = f"{JOBS}/schedules/{weekly.id}/edit"
    resp = post(admin_client, edit, {"schedule_name": "NIGHTLY IMPORT", "time": "04:00", "timezone": "UTC",
                                     "frequency": "daily"}, page=edit)
    assert resp.status_code == 400 and said in html.unescape(resp.get_data(as_text=True))
    # Refused, the Edit page says so above the form too, as the other forms do, not only beside the field.
    assert "Nothing was saved: correct the fields marked below." in resp.get_data(as_text=True)
    assert names() == ["Nightly import", "Weekly import"]
    edit = f"{JOBS}/schedules/{nightly.id}/edit"
    resp = post(admin_client, edit, {"schedule_name": "Nightly Import", "time": "02:30", "timezone": "UTC",
                                     "frequency": "daily"}, page=edit)
    assert resp.status_code == 302 and names() == ["Nightly Import", "Weekly import"]


@pytest.mark.redis
@pytest.mark.postgres
def test_the_command_line_refuses_a_name_another_schedule_has_and_saves_nothing(jobs_app):
    added = colcw(jobs_app, "add", "--name", "Nightly import", "--job", "customer_import", "--all",
                  "--frequency", "daily", "--time", "02:30")
    assert added.exit_code == 0, added.output
    [nightly] = db.session.execute(select(Schedule)).scalars().all()
    said = f"--name: Schedule #{nightly.id} “Nightly import” (Daily at 02:30 (UTC)) {TAKEN}"

    again = colcw(jobs_app, "add", "--name", "NIGHTLY import ", "--job", "quote_export", "--all", "--frequency",
                  "daily", "--time", "05:00")
    assert again.exit_code == 2 and said in again.output and "The schedule was not saved." in again.output
    assert names() == ["Nightly import"]

    colcw(jobs_app, "add", "--name", "Quotes", "--job", "quote_export", "--all", "--frequency", "daily", "--time",
          "05:00")
    quotes = db.session.execute(select(Schedule).where(Schedule.name == "Quotes")).scalar_one()
    renamed = colcw(jobs_app, "edit", str(quotes.id), "--name", "nightly import")
    assert renamed.exit_code == 2 and said in renamed.output, renamed.output
    assert names() == ["Nightly import", "Quotes"]


@pytest.mark.redis
@pytest.mark.postgres
def test_two_admins_saving_the_same_name_at_once_cannot_both_succeed(admin_client, jobs_app, monkeypatch):
    """The other admin's process saves "Nightly import" after this one checked the name and before it saved: the
    database refuses the second, and the page says so as the check would have."""
    checked = schedule_service.named
    other_ids = []

    def other_admin_saves_between(session, name, *, other_than=None):
        found = checked(session, name, other_than=other_than)
        if not other_ids:  # this save's check: the name is still free; the other process saves it now
            with Session(bind=db.engine) as theirs:
                row = Schedule(name="Nightly Import", kind="customer_import", params={"mode": "all"},
                               frequency="daily", time_of_day="03:00", timezone="UTC", enabled=True,
                               next_run_at=dt.datetime(2030, 1, 1, 3), created_by="other@demo.example")
                theirs.add(row)
                theirs.commit()
                other_ids.append(row.id)
        return found

    monkeypatch.setattr(schedule_service, "named", other_admin_saves_between)
    resp = post(admin_client, f"{JOBS}/run", {**NIGHTLY, "schedule_name": "Nightly import"})
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400, page[:2000]
    assert f"Schedule #{other_ids[0]} “Nightly Import” (Daily at 03:00 (UTC)) {TAKEN}" in page
    assert names() == ["Nightly Import"]


def _insert_schedule(conn, id_: int, name: str) -> None:
    conn.execute(text(
        "INSERT INTO colcw_schedules (id, name, kind, params, frequency, time_of_day, timezone, enabled, last_outcome, "
        "created_by, created_at, updated_at) VALUES (:id, :name, 'customer_import', '{}', 'daily', '02:30', 'UTC', "
        ":on, '', 'admin', :at, :at)"), {"id": id_, "name": name, "on": True, "at": dt.datetime(2026, 7, 1)})


def test_the_migration_renames_shared_names_then_refuses_a_second_one(empty_database):  # noqa: F811 - the fixture
    app = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        _migrate(app, "colcw_0005")  # the database as the revision before left it: names shared, in any case
        with db.engine.begin() as conn:
            for id_, name in ((1, "Nightly"), (2, "nightly (2)"), (3, "NIGHTLY"), (4, "Quotes"), (5, "Nightly"),
                              (6, "N" * 100), (7, "n" * 100)):
                _insert_schedule(conn, id_, name)

        _migrate(app, "head")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, name FROM colcw_schedules ORDER BY id")).all() == [
                (1, "Nightly"), (2, "nightly (2)"), (3, "NIGHTLY (3)"), (4, "Quotes"), (5, "Nightly (4)"),
                (6, "N" * 100), (7, "n" * 96 + " (2)")]
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            _insert_schedule(conn, 8, "quotes")

        _migrate(app, "colcw_0005", down=True)  # the index goes; the names stay as the upgrade left them
        with db.engine.begin() as conn:
            _insert_schedule(conn, 8, "quotes")
            assert conn.execute(text("SELECT name FROM colcw_schedules WHERE id = 3")).scalar() == "NIGHTLY (3)"
            conn.execute(text("DELETE FROM colcw_schedules WHERE id = 8"))
        _migrate(app, "head")  # and up again
        db.session.remove()
        db.engine.dispose()
