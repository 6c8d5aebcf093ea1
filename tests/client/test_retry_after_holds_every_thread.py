"""A Retry-After holds the client's every request, not only the one it answered: the threads of a run sharing the
client (COLCW_CONCURRENCY) send nothing before it has passed. Measured from the sandbox's request log: no request
arrived after a 429 before its Retry-After had elapsed (not a timing of colcw's speed)."""

from __future__ import annotations

import threading

import pytest

pytestmark = [pytest.mark.sandbox]

RETRY_AFTER = 2


def test_no_thread_sends_before_a_retry_after_has_passed(cw_client, connected):
    cw_client.companies.list(page_size=1)  # the codebase known: only the calls below go to the API
    connected.add_fault(status=429, retry_after=RETRY_AFTER, count=1, path="company/companies")
    connected.clear_requests()
    told = threading.Event()

    def note(error, seconds):
        told.set()  # the 429 is back: the other threads start only now
        return None

    cw_client.notify_retry_waits(note)
    first = threading.Thread(target=lambda: cw_client.companies.list(page_size=1))
    first.start()
    assert told.wait(10)
    others = [threading.Thread(target=lambda: cw_client.contacts.list(page_size=1)) for _ in range(3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(30)

    log = sorted(connected.requests(), key=lambda r: r["time"])
    limited = [r for r in log if r["status"] == 429]
    assert len(limited) == 1
    after = [r for r in log if r is not limited[0]]
    assert len(after) == 4 and all(r["status"] == 200 for r in after)
    assert min(r["time"] for r in after) >= limited[0]["time"] + RETRY_AFTER, \
        [round(r["time"] - limited[0]["time"], 2) for r in after]
