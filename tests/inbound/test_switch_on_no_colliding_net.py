"""Switching Live updates on (or saving them while on) does not enable a disabled safety-net schedule beside an
enabled one that runs the same passes: an admin who disabled the switch's schedule and made a copy of it (allowed
while the first is off) would otherwise get two schedules queuing the same pass at the same minute, the scheduler
skipping one of them every time. The enabled copy is the one kept; switched off, it is the one disabled."""

from __future__ import annotations

from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Schedule
from colcw_plugin.setup.live_updates import LiveInput
from colcw_plugin.sync.inbound.switch import apply_live
from colcw_plugin.sync.jobs.schedules import Timing, create_schedule, meets
from helpers import runtime
from host_stub.extensions import db


def _save_live(on: bool) -> None:
    rt = runtime()
    apply_live(db.session, rt.box, rt.client, LiveInput(on, "https://quotes.example.com", HOST_MASTER), "tests",
               check=lambda url: "")


def _schedules() -> list[Schedule]:
    db.session.expire_all()
    return list(db.session.execute(select(Schedule).order_by(Schedule.id)).scalars())


def _always_meeting(schedules: list[Schedule]) -> list[tuple[str, str]]:
    on = [s for s in schedules if s.enabled]
    return [(a.name, b.name) for i, a in enumerate(on) for b in on[i + 1:]
            if a.kind == b.kind and a.params == b.params and any(meets(Timing.of(a), Timing.of(b)))]


def test_live_updates_on_do_not_enable_a_safety_net_schedule_beside_its_enabled_copy(connected):
    _save_live(True)
    net = next(s for s in _schedules() if s.params == {"mode": "changes"})
    net.enabled, net.next_run_at = False, None  # as the jobs page's Disable does
    db.session.commit()
    create_schedule(db.session, name="My safety net", kind="cw_reconcile", params={"mode": "changes"},
                    timing=Timing.every(15), actor="admin@demo.example")
    db.session.commit()

    _save_live(True)  # saved again while on
    schedules = _schedules()
    assert _always_meeting(schedules) == []
    assert [(s.name, s.enabled) for s in schedules if s.params == {"mode": "changes"}] == [
        ("ConnectWise safety net", False), ("My safety net", True)]

    _save_live(False)  # off: the one that runs is the one disabled
    assert not any(s.enabled for s in _schedules())
    _save_live(True)  # on again: one of the two, not both
    schedules = _schedules()
    assert _always_meeting(schedules) == []
    assert [s.enabled for s in schedules if s.params == {"mode": "changes"}].count(True) == 1
