"""Who added, changed, enabled, disabled or deleted a schedule, and what: recorded with the other configuration
changes (area "schedules") and shown where they show, the Connection page's "Recent configuration changes" — from
the Synchronization Jobs page the signed-in admin, from ``colcw schedules`` "command line (USER)"."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
CONNECTION = "/admin/integration/connectwise/"
ADMIN = "Alex Admin <admin@demo.example>"


def post(client, url, data, page=JOBS):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def recent_changes(client) -> list[tuple[str, str, str]]:
    """(Who, Area, What) of each row of the Connection page's Recent configuration changes, newest first."""
    page = client.get(CONNECTION).get_data(as_text=True)
    if 'id="changes"' not in page:
        return []
    body = page.split('id="changes"')[1].split("</tbody>")[0].split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    cells = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", r, flags=re.S)] for r in rows]
    return [(c[1], c[2], c[3]) for c in cells]


def schedule_changes(client) -> list[tuple[str, str]]:
    return [(who, what) for who, area, what in recent_changes(client) if area == "schedules"]


def test_the_page_records_each_schedule_change_as_the_signed_in_admins(admin_client, jobs_app):
    post(admin_client, f"{JOBS}/run", {"job": "quote", "quote_scope": "all", "schedule": "1",
                                       "schedule_name": "Nightly quotes", "time": "02:30", "timezone": "UTC",
                                       "frequency": "daily"})
    s = db.session.execute(select(Schedule)).scalar_one()
    edit = f"{JOBS}/schedules/{s.id}/edit"
    post(admin_client, edit, {"schedule_name": "Quotes at dawn", "time": "05:00", "timezone": "Europe/Paris",
                              "frequency": "daily"}, page=edit)
    post(admin_client, edit, {"schedule_name": "Quotes at dawn", "time": "05:00", "timezone": "Europe/Paris",
                              "frequency": "daily"}, page=edit)  # saved unchanged: nothing to record
    post(admin_client, f"{JOBS}/schedules/{s.id}/toggle", {"enabled": "0"})
    post(admin_client, f"{JOBS}/schedules/{s.id}/toggle", {"enabled": "1"})
    post(admin_client, f"{JOBS}/schedules/{s.id}/delete", {})

    assert schedule_changes(admin_client) == [
        (ADMIN, f"Deleted schedule #{s.id} “Quotes at dawn” (Daily at 05:00 (Europe/Paris), enabled); its past runs "
                "stay in the history"),
        (ADMIN, f"Enabled schedule #{s.id} “Quotes at dawn”"),
        (ADMIN, f"Disabled schedule #{s.id} “Quotes at dawn”"),
        (ADMIN, f"Changed schedule #{s.id} “Nightly quotes”: name “Nightly quotes” → “Quotes at dawn”; timing Daily "
                "at 02:30 (UTC) → Daily at 05:00 (Europe/Paris)"),
        (ADMIN, f"Added schedule #{s.id} “Nightly quotes”: Daily at 02:30 (UTC)"),
    ]


def test_the_command_line_records_each_schedule_change_as_its_user(admin_client, jobs_app):
    def colcw(*args):
        result = jobs_app.test_cli_runner().invoke(args=["colcw", "schedules", *args], env={"LOGNAME": "deploy"})
        assert result.exit_code == 0, result.output

    colcw("add", "--name", "Nightly import", "--job", "customer_import", "--all", "--frequency", "daily", "--time",
          "02:30")
    s = db.session.execute(select(Schedule)).scalar_one()
    colcw("edit", str(s.id), "--time", "04:00")
    colcw("disable", str(s.id))
    colcw("disable", str(s.id))  # already disabled: nothing changes, nothing recorded
    colcw("enable", str(s.id))
    colcw("delete", str(s.id), "--yes")

    cli = "command line (deploy)"
    assert schedule_changes(admin_client) == [
        (cli, f"Deleted schedule #{s.id} “Nightly import” (Daily at 04:00 (UTC), enabled); its past runs stay in the "
              "history"),
        (cli, f"Enabled schedule #{s.id} “Nightly import”"),
        (cli, f"Disabled schedule #{s.id} “Nightly import”"),
        (cli, f"Changed schedule #{s.id} “Nightly import”: timing Daily at 02:30 (UTC) → Daily at 04:00 (UTC)"),
        (cli, f"Added schedule #{s.id} “Nightly import”: Daily at 02:30 (UTC)"),
    ]
