"""A page's outcomes of one kind recorded at once (RunRecorder.record_all: an import's unchanged companies) leave the
run as recording them one by one does: the same results, counts and progress (issue 14: a thousand calls'
bookkeeping was a tenth of an unchanged re-import's own time)."""

from __future__ import annotations

from sqlalchemy import select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder

OUTCOMES = [(10 + i, 500 + i, f"Company {i} (C{i})", f"Company {i} (C{i}): unchanged, with its {i} contacts.")
            for i in range(1, 2_500)] + [(None, 9_999, "Gone (G)", "Gone (G): unchanged.")]


def _recorded(engine, session, record) -> tuple[list, dict, dict, int]:
    run = SyncRun(kind="customer_import", params={"mode": "all"}, total=len(OUTCOMES) + 1)
    session.add(run)
    session.commit()
    recorder = RunRecorder(engine, run.id)
    recorder.start()
    recorder.record(entity="customer", direction="import", action="updated", host_id=11, cw_id=501, label="x",
                    message="first")
    record(recorder)
    assert recorder.finish() == "succeeded"
    session.expire_all()
    done = session.get(SyncRun, run.id)
    rows = session.execute(select(SyncItem.entity, SyncItem.direction, SyncItem.action, SyncItem.host_id,
                                  SyncItem.cw_id, SyncItem.label, SyncItem.message, SyncItem.resolution)
                           .where(SyncItem.run_id == run.id).order_by(SyncItem.id)).all()
    return rows, done.counts, done.entity_counts, done.done


def test_recording_a_page_at_once_leaves_what_recording_it_record_by_record_leaves(engine, session):
    def one_by_one(recorder):
        for host_id, cw_id, label, message in OUTCOMES:
            recorder.record(entity="customer", direction="import", action="unchanged", host_id=host_id, cw_id=cw_id,
                            label=label, message=message)

    def at_once(recorder):
        recorder.record_all(entity="customer", direction="import", action="unchanged", records=OUTCOMES)

    each, together = _recorded(engine, session, one_by_one), _recorded(engine, session, at_once)
    assert together == each
    rows, counts, _, done = together
    assert len(rows) == len(OUTCOMES) + 1 and counts == {"updated": 1, "unchanged": len(OUTCOMES)}
    assert done == len(OUTCOMES)  # company 1 (host 11) had two outcomes: it counts once
