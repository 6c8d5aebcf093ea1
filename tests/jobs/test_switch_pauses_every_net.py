"""Switching Live updates off disables every safety-net schedule of each mode, not one per mode (an admin's own second
schedule of a mode, at other minutes, went on running while they were off); switching them on enables again those it
disabled, and no other (not a schedule an admin had disabled themselves)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Schedule
from colcw_plugin.setup.live_updates import LiveInput
from colcw_plugin.sync.inbound.switch import apply_live
from colcw_plugin.sync.jobs.schedules import Timing, create_schedule, set_enabled
from helpers import runtime
from host_stub.extensions import db


def _save_live(on: bool) -> None:
    rt = runtime()
    apply_live(db.session, rt.box, rt.client, LiveInput(on, "https://quotes.example.com", HOST_MASTER), "tests",
               check=lambda url: "")


def _states() -> dict[str, bool]:
    db.session.expire_all()
    return {s.name: s.enabled for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()}


def _add(name: str, params: dict, timing: Timing, *, enabled: bool = True) -> None:
    s = create_schedule(db.session, name=name, kind="cw_reconcile", params=params, timing=timing, actor="admin")
    if not enabled:
        set_enabled(db.session, s, False, actor="admin")
    db.session.commit()


def test_off_disables_every_safety_net_schedule_and_on_enables_only_those(connected):
    _save_live(True)
    _add("Hourly net", {"mode": "changes"}, Timing.every(60))  # an admin's own, at other minutes
    _add("Noon deletion check", {"mode": "deletions"}, Timing("daily", dt.time(12, 0), "UTC"))
    _add("Paused net", {"mode": "changes"}, Timing.every(30), enabled=False)  # disabled by the admin
    _add("Forced deletions", {"mode": "deletions", "force": True}, Timing("daily", dt.time(5, 0), "UTC"))
    assert _states() == {"ConnectWise safety net": True, "ConnectWise deletion check": True, "Hourly net": True,
                         "Noon deletion check": True, "Paused net": False, "Forced deletions": True}

    _save_live(False)
    assert _states() == {"ConnectWise safety net": False, "ConnectWise deletion check": False, "Hourly net": False,
                         "Noon deletion check": False, "Paused net": False,
                         "Forced deletions": True}  # not the safety net's: a pass an admin forces

    _save_live(True)
    assert _states() == {"ConnectWise safety net": True, "ConnectWise deletion check": True, "Hourly net": True,
                         "Noon deletion check": True, "Paused net": False, "Forced deletions": True}
    assert all(s.next_run_at for s in db.session.execute(select(Schedule).where(Schedule.enabled)).scalars())


def test_on_does_not_enable_what_an_admin_disabled_while_off(connected):
    _save_live(True)
    _add("Hourly net", {"mode": "changes"}, Timing.every(60))
    _save_live(False)
    # While off, the admin enables the hourly one and then disables it again: theirs now, not the switch's.
    hourly = db.session.execute(select(Schedule).where(Schedule.name == "Hourly net")).scalar_one()
    set_enabled(db.session, hourly, True, actor="admin")
    set_enabled(db.session, hourly, False, actor="admin")
    db.session.commit()
    _save_live(True)
    assert _states() == {"ConnectWise safety net": True, "ConnectWise deletion check": True, "Hourly net": False}
