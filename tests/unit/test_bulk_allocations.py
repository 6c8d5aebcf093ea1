"""Bulk runs tell the cyclic collector what is long-lived (sync/shared/collector.py), and put its settings back."""

from __future__ import annotations

import gc
import threading
import weakref

from colcw_plugin.sync.shared.collector import BULK_THRESHOLD, bulk_allocations


def test_a_bulk_block_freezes_what_the_process_held_and_restores_the_collector_after():
    before = gc.get_threshold()
    held = [object() for _ in range(10)]  # noqa: F841 - something the process holds
    assert gc.get_freeze_count() == 0
    with bulk_allocations():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == BULK_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_the_block_are_still_collected():
    class Node:
        pass

    with bulk_allocations():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None


def test_an_error_in_the_block_restores_the_collector():
    before = gc.get_threshold()
    try:
        with bulk_allocations():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_threads_in_bulk_work_at_once_restore_only_when_the_last_one_leaves():
    before = gc.get_threshold()
    inside, leave_first = threading.Barrier(2), threading.Event()
    seen: list[tuple] = []

    def first():
        with bulk_allocations():
            inside.wait()
        leave_first.set()

    def second():
        with bulk_allocations():
            inside.wait()
            leave_first.wait(5)
            seen.append(gc.get_threshold())  # the first has left: still the bulk settings
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [BULK_THRESHOLD]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
