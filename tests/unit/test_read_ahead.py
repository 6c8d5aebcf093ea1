"""Reading ahead (sync/shared/prefetch.py): the import reads its next page while it saves this one, and
an export sends a read while it does something else first (call_ahead), and a document's product lines go out
side by side (call_together)."""

from __future__ import annotations

import threading

import pytest

from colcw_plugin.sync.shared.prefetch import (
    call_ahead,
    call_together,
    read_ahead,
    settle_together,
    writes_at_once,
)


def test_items_come_in_order_and_the_reader_works_in_another_thread():
    readers = []

    def pages():
        for n in range(5):
            readers.append(threading.current_thread().name)
            yield n

    assert list(read_ahead(pages(), name="reader")) == [0, 1, 2, 3, 4]
    assert set(readers) == {"reader"}


def _until(condition, seconds: float = 5.0) -> bool:
    done = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        done.wait(0.02)
    return condition()


def test_the_reader_stays_at_most_depth_items_ahead():
    read = []

    def pages():
        for n in range(10):
            read.append(n)
            yield n

    it = read_ahead(pages(), depth=2)
    assert next(it) == 0
    # While the consumer works on page 0, the reader fetches 1 and 2 (queued) and 3 (waiting for room), no more.
    assert _until(lambda: len(read) >= 4)
    threading.Event().wait(0.3)
    assert read == [0, 1, 2, 3]
    assert list(it) == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_an_error_while_reading_is_raised_where_the_next_item_is_asked_for():
    def pages():
        yield 1
        raise ConnectionError("ConnectWise did not answer")

    it = read_ahead(pages())
    assert next(it) == 1
    with pytest.raises(ConnectionError, match="did not answer"):
        next(it)


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


@pytest.mark.parametrize("how", ["closed", "dropped"])
def test_a_consumer_that_stops_early_stops_the_reader(how):
    it = read_ahead(iter(range(1000)), name=f"stops-{how}")
    assert next(it) == 0 and _alive(f"stops-{how}")
    if how == "closed":
        it.close()  # as a break or an error in the consumer's loop does (through contextlib.closing)
    else:
        del it  # dropped without closing: collected, and its thread ends all the same
    assert _until(lambda: not _alive(f"stops-{how}"))


def test_a_call_ahead_runs_beside_the_caller_and_hands_over_its_value():
    started, release = threading.Event(), threading.Event()

    def call():
        started.set()
        release.wait(5)
        return threading.current_thread().name

    ahead = call_ahead(call, name="ahead")
    assert started.wait(5)  # it runs before anyone asks for its value
    release.set()
    assert ahead.result() == "ahead"
    assert ahead.result() == "ahead"  # asked again, the same value


def test_a_call_ahead_raises_its_error_where_its_value_is_asked_for_and_wait_does_not():
    def call():
        raise LookupError("gone")

    ahead = call_ahead(call)
    ahead.wait()  # an answer no longer needed: its error is not raised
    with pytest.raises(LookupError, match="gone"):
        ahead.result()


def test_reading_starts_when_the_reader_is_made_not_at_the_first_item():
    started = threading.Event()

    def pages():
        started.set()
        yield 1

    it = read_ahead(pages())
    assert started.wait(5)  # nobody has asked for an item yet
    assert list(it) == [1]


def test_calls_together_run_at_most_at_once_side_by_side_and_answer_in_order():
    lock, running, most = threading.Lock(), [0], [0]
    all_in = threading.Barrier(3, timeout=5)  # three calls must be under way at once for any to end

    def call(n):
        def run():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            if n < 3:
                all_in.wait()
            with lock:
                running[0] -= 1
            return n * 10
        return run

    assert call_together([call(n) for n in range(7)], at_once=3) == [0, 10, 20, 30, 40, 50, 60]
    assert most[0] == 3


class Refused(Exception):
    pass


def test_when_a_call_fails_the_ones_under_way_end_the_rest_are_dropped_and_the_first_error_in_order_is_raised():
    started, ended = [], []
    second_in = threading.Event()
    lock = threading.Lock()

    def call(n):
        def run():
            with lock:
                started.append(n)
            if n == 0:
                second_in.wait(5)  # ends after call 1 has failed
                ended.append(n)
                raise Refused("line 0")
            if n == 1:
                second_in.set()
                raise Refused("line 1")
            ended.append(n)
        return run

    with pytest.raises(Refused, match="line 0"):  # the first in the calls' order, though it failed second
        call_together([call(n) for n in range(6)], at_once=2)
    assert sorted(started) == [0, 1] and ended == [0]  # none started once one had failed; none left running


def test_calls_together_one_at_a_time_stop_at_the_first_error():
    done = []

    def call(n):
        def run():
            if n == 1:
                raise Refused("line 1")
            done.append(n)
        return run

    with pytest.raises(Refused, match="line 1"):
        call_together([call(n) for n in range(3)], at_once=1)
    assert done == [0]


class Transient(Exception):
    pass


@pytest.mark.parametrize("at_once", [1, 3])
def test_settled_together_an_error_that_does_not_stop_lets_the_rest_run_and_each_outcome_is_kept(at_once):
    def call(n):
        def run():
            if n == 1:
                raise Refused("contact 1")
            if n == 3:
                raise Transient("contact 3")
            return n
        return run

    done = settle_together([call(n) for n in range(5)], at_once=at_once,
                           stops=lambda e: isinstance(e, Transient))
    assert [d.value for d in done[:3]] == [0, None, 2] and isinstance(done[1].error, Refused)
    assert isinstance(done[3].error, Transient) and all(d.started for d in done[:4])
    if at_once == 1:
        assert not done[4].started and done[4].error is None  # after a stopping error, nothing starts


@pytest.mark.parametrize(("in_flight", "workers", "share"), [(4, 1, 4), (4, 2, 2), (4, 4, 1), (2, 4, 1), (None, 1, 4),
                                                          (8, 3, 2)])
def test_a_worker_sends_its_share_of_the_clients_requests_in_flight_and_at_least_one(in_flight, workers, share):
    assert writes_at_once(in_flight, workers) == share
