"""A run's finished records are kept a bit per record id, not a tuple each (sync/jobs/finished.py): a bulk import's
memory no longer grows by about 130 bytes a company (issue 14, "memory flat in N"); the run counts the same."""

from __future__ import annotations

import tracemalloc

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.finished import BITMAP_LIMIT, FinishedKeys, IdSet
from colcw_plugin.sync.jobs.recorder import RunRecorder


def test_an_id_set_answers_as_a_set_does_for_any_integer():
    ids, plain = IdSet(), set()
    for i in [5, 0, 7, 8, 5, 1_000_003, BITMAP_LIMIT - 1, BITMAP_LIMIT, 2**62, -3, 8, -3]:
        assert ids.add(i) == (i not in plain)
        plain.add(i)
    assert len(ids) == len(plain)
    assert sorted(ids) == sorted(plain)
    for i in [*plain, 1, 6, 9, 1_000_002, BITMAP_LIMIT + 1, -4, 2**40]:
        assert (i in ids) == (i in plain), i
    assert "5" not in ids and None not in ids


def test_finished_keys_keep_each_kind_of_key_apart():
    keys = FinishedKeys()
    keys.add(("customer", "cw", 12))
    keys.add(("customer", "cw", 12))
    keys.add(("customer", "host", 12))
    keys.add(("contact", "cw", 12))
    assert len(keys) == 3
    assert ("customer", "cw", 12) in keys and ("contact", "host", 12) not in keys and ("customer", "cw", 13) not in keys
    assert ("customer", "cw") not in keys


def test_a_run_of_forty_thousand_records_keeps_kilobytes_for_them_not_megabytes(engine, session):
    run = SyncRun(kind="customer_import", params={"mode": "all"}, total=40_000)
    session.add(run)
    session.commit()
    recorder = RunRecorder(engine, run.id, flush_every=5_000, flush_seconds=10**9)  # results written in batches
    recorder.start()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(1, 40_001):
            recorder.record(entity="customer", direction="import", action="unchanged", host_id=i, cw_id=100_000 + i,
                            label="x")
        recorder.record(entity="customer", direction="import", action="updated", host_id=7, cw_id=100_007, label="x")
        recorder.flush()
        kept = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename")
                   if s.size_diff > 0 and s.traceback[0].filename.endswith(("finished.py", "recorder.py")))
    finally:
        tracemalloc.stop()
    assert recorder.done == 40_000  # a record with two outcomes counts once
    assert kept < 64_000, f"{kept:,} bytes kept for 40,000 finished records"
    assert recorder.is_finished("customer", 40_000) and not recorder.is_finished("customer", 40_001)

