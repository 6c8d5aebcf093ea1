"""``flask colcw schedules enable`` refuses a schedule that would always run at the same minute as another enabled
one of the same job and settings, as the page's Enable does: exit 1, the page's message (naming the other schedule
and what to do), and nothing enabled. One that meets nothing is enabled as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def colcw(app, *args):
    return app.test_cli_runner().invoke(args=["colcw", "schedules", *args], env={"LOGNAME": "deploy"})


def enabled() -> list[tuple[str, bool]]:
    db.session.expire_all()
    return [(s.name, s.enabled) for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()]


def add(app, name: str, time: str):
    return colcw(app, "add", "--name", name, "--job", "customer_import", "--all", "--frequency", "daily",
                 "--time", time, "--timezone", "America/New_York")


def test_enabling_a_copy_of_an_enabled_schedule_is_refused_naming_it(jobs_app):
    assert add(jobs_app, "Nightly import", "02:30").exit_code == 0
    [nightly] = db.session.execute(select(Schedule)).scalars().all()
    assert colcw(jobs_app, "disable", str(nightly.id)).exit_code == 0
    # A disabled schedule meets nothing: a copy may be made while it is off ...
    assert add(jobs_app, "Nightly import (copy)", "02:30").exit_code == 0
    copy = db.session.execute(select(Schedule).where(Schedule.name == "Nightly import (copy)")).scalar_one()

    # ... but the first is not enabled again beside it.
    refused = colcw(jobs_app, "enable", str(nightly.id))
    assert refused.exit_code == 1, refused.output
    assert (f"Schedule #{nightly.id} “Nightly import” was not enabled: Schedule #{copy.id} “Nightly import (copy)” "
            "(Daily at 02:30 (America/New_York)) already runs this job with the same settings at the same times: "
            "both would queue it at the same minute and one of them would be skipped each time, never running. "
            f"Edit schedule #{copy.id} instead, or choose a different time (or days) for this one.") in refused.output
    assert enabled() == [("Nightly import", False), ("Nightly import (copy)", True)]

    # Moved to another minute, the copy no longer meets it: enabled.
    assert colcw(jobs_app, "edit", str(copy.id), "--time", "02:45").exit_code == 0
    done = colcw(jobs_app, "enable", str(nightly.id))
    assert done.exit_code == 0, done.output
    assert f"Schedule #{nightly.id} “Nightly import” enabled; next run" in done.output
    assert enabled() == [("Nightly import", True), ("Nightly import (copy)", True)]
