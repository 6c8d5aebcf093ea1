"""Calls sent ahead (prefetch.call_ahead) run on threads the process keeps: a rep's export starts no thread for its
read sent ahead, and a forked child (an RQ work horse) still gets its calls run."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from colcw_plugin.sync.shared.prefetch import call_ahead


def test_calls_sent_ahead_reuse_the_process_threads_and_hand_back_values_and_errors(monkeypatch):
    assert call_ahead(lambda: "warm").result() == "warm"
    started = []
    start = threading.Thread.start

    def counted(thread):
        started.append(thread.name)
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    names = []

    def named():
        names.append(threading.current_thread().name)
        return 7

    assert call_ahead(named, name="colcw-test-ahead").result() == 7
    failing = call_ahead(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    assert started == [] and names == ["colcw-test-ahead"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_its_calls_sent_ahead():
    assert call_ahead(lambda: 1).result() == 1  # the parent's threads exist before the fork
    pid = os.fork()
    if pid == 0:  # the child: its calls must run although the parent's threads are not in it
        signal.alarm(10)
        try:
            os._exit(0 if call_ahead(lambda: 42).result() == 42 else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_call_sent_while_every_kept_thread_is_busy_runs_at_once_on_a_thread_of_its_own():
    """Many reps exporting at once in one web process: a call sent ahead does not wait behind the others' slow
    requests for a kept thread, and a call that waits on a call of its own sent ahead is not stuck."""
    from colcw_plugin.sync.shared.prefetch import AHEAD_THREADS

    release = threading.Event()
    blocked = [call_ahead(lambda: release.wait(30)) for _ in range(AHEAD_THREADS)]
    try:
        late = call_ahead(lambda: "at once")
        nested = call_ahead(lambda: call_ahead(lambda: "inner").result())
        done = threading.Event()
        threading.Thread(target=lambda: (late.result(), nested.result(), done.set()), daemon=True).start()
        assert done.wait(5), "a call sent while the kept threads were busy waited for one"
        assert late.result() == "at once" and nested.result() == "inner"
    finally:
        release.set()
    assert all(b.result() is True for b in blocked)
    assert call_ahead(lambda: "after").result() == "after"  # the kept threads serve again once free
