"""ConnectWise's clock told by its answers' Date header (colcw_plugin/cw/server_clock.py): the bounds of its time less
ours, how several answers narrow them, and the conservative figure colcw converts its own times by."""

from __future__ import annotations

import datetime as dt
import email.utils

from colcw_plugin.cw.server_clock import EVERY_SECONDS, FIRST_ANSWERS, ServerClock

T = 1_800_000_000.0  # a POSIX time of ours


def _date(posix: float) -> str:
    return email.utils.formatdate(posix, usegmt=True)  # whole seconds, as HTTP's Date


def test_before_any_answer_the_clocks_are_taken_to_agree():
    clock = ServerClock()
    assert clock.bounds is None and clock.ahead() == 0.0 and clock.ahead_high() == 0.0
    ours = dt.datetime(2026, 12, 7, 12, 0, 0)
    assert clock.cw_time(ours) == ours


def test_an_answer_from_a_connectwise_ten_minutes_behind_bounds_its_time_and_converts_ours():
    clock = ServerClock()
    # Sent at T, answered 0.2 s later; ConnectWise, 600 s behind our clock, wrote its Date at T + 0.1 by ours.
    clock.heard(T, T + 0.2, _date(T + 0.1 - 600))
    low, high = clock.bounds
    assert low <= -600 <= high and high - low <= 1.2 + 1e-6  # a whole second plus the round trip
    assert clock.ahead() == low < -600  # taken low: a "since" never later than it should be
    assert clock.ahead_high() == high > -600  # taken high: "changed after the rep saved it" never said on a doubt
    ours = dt.datetime(2026, 12, 7, 12, 0, 0)
    assert ours - dt.timedelta(seconds=601.3) < clock.cw_time(ours) <= ours - dt.timedelta(seconds=600)


def test_clocks_that_agree_within_the_measure_leave_our_times_as_they_are():
    clock = ServerClock()
    clock.heard(T, T + 0.05, _date(T + 0.02))
    low, high = clock.bounds
    assert low <= 0.0 <= high
    assert clock.ahead() == 0.0 and clock.ahead_high() == 0.0
    ours = dt.datetime(2026, 12, 7, 12, 0, 0)
    assert clock.cw_time(ours) == ours


def test_a_connectwise_ahead_is_taken_by_its_lower_bound():
    clock = ServerClock()
    clock.heard(T, T + 0.1, _date(T + 0.05 + 300))
    assert 298.8 < clock.ahead() <= 300.05


def test_answers_narrow_the_bounds_and_a_clock_set_meanwhile_starts_them_over():
    clock = ServerClock()
    # ConnectWise 600.5 s behind: Dates land on different sides of a second from answer to answer.
    for sent in (T, T + 0.3, T + 0.6, T + 0.9):
        clock.heard(sent, sent + 0.01, _date(sent + 0.005 - 600.5))
    low, high = clock.bounds
    assert low <= -600.5 <= high and high - low < 0.5, (low, high)  # narrower than one answer's second
    # Our clock is set back an hour (or ConnectWise's forward): the next answer fits none of it, and is taken alone.
    clock.heard(T + 10, T + 10.01, _date(T + 10.005 - 600.5 + 3600))
    low, high = clock.bounds
    assert low <= 2999.5 <= high and high - low <= 1.01 + 1e-6


def test_an_answer_without_a_date_or_with_another_text_tells_nothing():
    clock = ServerClock()
    for value in (None, "", "yesterday", "Mon, 99 Foo 2026 25:61:00 GMT"):
        clock.heard(T, T + 0.1, value)
    assert clock.bounds is None and clock.ahead() == 0.0
    clock.heard(T + 1, T + 0.9, _date(T))  # answered before it was sent (our clock was set meanwhile): not taken
    assert clock.bounds is None


def test_the_first_answers_are_measured_then_one_every_half_minute():
    now = [100.0]
    clock = ServerClock(monotonic=lambda: now[0])
    for n in range(FIRST_ANSWERS):
        assert clock.wants(), n
        clock.heard(T + n, T + n + 0.01, _date(T + n))
    assert not clock.wants()
    now[0] += EVERY_SECONDS - 1
    assert not clock.wants()
    now[0] += 1
    assert clock.wants()
