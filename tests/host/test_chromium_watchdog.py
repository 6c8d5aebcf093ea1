"""A Chromium that stops answering ends the browser call waiting on it instead of hanging the test run (a context's
close once waited out CI's 15-minute test timeout), and the next test gets a live Chromium again."""

import os
import signal
import time

import pytest

from helpers import _chromium_pids, close_context


def test_a_close_that_chromium_never_answers_ends_and_the_next_browser_is_live(_chromium):
    browser = _chromium.live()
    context = browser.new_context()
    context.new_page().goto("data:text/html,<p>before</p>")
    frozen = _chromium_pids()
    assert frozen, "this process's Chromium was not found"
    for pid in frozen:  # Chromium alive but answering nothing, as when it hung
        os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.warns(UserWarning, match="did not answer a context's close within 2 s"):
        close_context(context, seconds=2)
    assert time.monotonic() - started < 30
    assert not browser.is_connected()
    assert not set(frozen) & set(_chromium_pids())  # killed, not left stopped

    again = _chromium.live()  # what the next test's `browser` fixture gives
    page = again.new_context().new_page()
    page.goto("data:text/html,<p>after</p>")
    assert page.inner_text("p") == "after"
    close_context(page.context)
