"""Two processes switching Live updates on at once make the safety net's schedules once: the second waits for the
first's schedule writes, then finds its schedules and reuses them (no "(2)" copy, no refusal)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from colcw_plugin.models import Schedule
from colcw_plugin.sync.inbound import RECONCILE_KIND
from colcw_plugin.sync.inbound.switch import ensure_schedules
from colcw_plugin.sync.jobs.schedules import SCHEDULE_WRITES_LOCK
from host_stub.extensions import db


def _waiting_for_the_lock() -> bool:
    with db.engine.connect() as c:
        return bool(c.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = :k"),
            {"k": SCHEDULE_WRITES_LOCK & 0xFFFFFFFF}).scalar())


def test_the_second_process_switching_on_at_once_reuses_the_first_ones_schedules(app):
    engine = db.engine  # (the thread has no application context)
    first = Session(engine)
    made = ensure_schedules(first, "admin@demo.example", enabled=True)  # holds the lock until it commits
    assert [s.name for s in made] == ["ConnectWise safety net", "ConnectWise deletion check"]
    outcome: dict = {}

    def second_process() -> None:
        with Session(engine) as second:
            try:
                rows = ensure_schedules(second, "admin@demo.example", enabled=True)
                second.commit()
                outcome["ids"] = [s.id for s in rows]
            except Exception as e:  # noqa: BLE001 (the test reports it)
                outcome["error"] = repr(e)

    thread = threading.Thread(target=second_process)
    thread.start()
    deadline = time.monotonic() + 20
    while not _waiting_for_the_lock():  # the second is inside ensure_schedules, waiting for the first's commit
        assert thread.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.02)
    first.commit()
    ids = [s.id for s in made]
    first.close()
    thread.join(30)
    assert outcome == {"ids": ids}
    db.session.rollback()
    rows = db.session.execute(select(Schedule).where(Schedule.kind == RECONCILE_KIND)).scalars().all()
    assert sorted((s.name, s.enabled) for s in rows) == [("ConnectWise deletion check", True),
                                                          ("ConnectWise safety net", True)]
