"""A run that starts with no codebase remembered makes one company lookup (``/login/companyinfo``), however many of
its reads go out side by side at its start. A customer export sends reads ahead (shared/prefetch.py: the states and
the communication types, beside its own first read): each needs the API's address and first asks the memo in Redis.
One whose memo read came back after the first lookup had ended found neither an address nor a lookup in flight, and
asked again: a CI run saw two lookups for one run. Here the memo reads after each run's first one are slow (as on a
loaded machine), which is that race every time; counted in the sandbox's request log, over several runs each from a
fresh memo."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from customer_support import make_customer, run

from colcw_plugin.cw import client as client_module
from colcw_plugin.sync.codebases import RedisCodebases
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

RUNS = 10
SLOW_READ = 0.15  # seconds: longer than the sandbox takes to answer a lookup


def _slow_memo_reads_after_the_first(monkeypatch) -> list[int]:
    """Each run's first memo read answers at once, the others after :data:`SLOW_READ` (what they read is Redis's
    answer when asked). Reset the returned counter before each run."""
    reads = [0]
    lock = threading.Lock()
    get = RedisCodebases.get

    def slow_get(self, site_root, company_id):
        value = get(self, site_root, company_id)
        with lock:
            reads[0] += 1
            first = reads[0] == 1
        if not first:
            time.sleep(SLOW_READ)
        return value

    monkeypatch.setattr(RedisCodebases, "get", slow_get)
    return reads


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_customer_export_from_a_fresh_memo_makes_one_company_lookup(sync_ready, app, monkeypatch, concurrency):
    tune_runtime(monkeypatch, app, concurrency=concurrency)
    ids = [make_customer(name=f"Looked Up {i}", account_number=f"LU{i:02d}").id for i in range(3)]
    reads = _slow_memo_reads_after_the_first(monkeypatch)
    counts = []
    for _ in range(RUNS):
        runtime().codebases.forget_all()  # each run's client asks the login host first, as a new worker's does
        reads[0] = 0
        sync_ready.clear_requests()

        done = run("customer_export", {"customer_ids": ids})

        assert done.status == "succeeded", done.message
        counts.append(sum("login/companyinfo" in r["path"] for r in sync_ready.requests()))
    assert counts == [1] * RUNS, counts



def _two_workers_clients():
    """Two clients for the stored connection, as two workers' runs build theirs (each its own single-flight, one
    memo in Redis)."""
    return runtime().client(db.session), runtime().client(db.session)


def test_two_workers_starting_at_once_make_one_company_lookup(sync_ready, app):
    """The lookup is slow (as a login host far away is): the second worker's client needs the address while the
    first's lookup is in flight. It waits for the codebase the first remembers instead of asking too."""
    sync_ready.add_fault(latency_ms=300, path="login/companyinfo")
    for _ in range(3):
        runtime().codebases.forget_all()
        sync_ready.clear_requests()
        first, second = _two_workers_clients()
        start = threading.Barrier(2)

        def read(client, start=start):
            start.wait()
            return client.system_info()

        with first, second, ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(read, (first, second)))

        assert all(a.get("version") for a in answers), answers
        assert first.base_url == second.base_url
        sent = sync_ready.requests()
        assert sum("login/companyinfo" in r["path"] for r in sent) == 1, [(r["path"], r["status"]) for r in sent]


def test_a_lookup_claimed_by_a_worker_that_never_answers_is_waited_for_a_moment_only(sync_ready, app, monkeypatch):
    """A worker that died during its lookup: its claim lasts, but the next client waits the bound only, then asks."""
    monkeypatch.setattr(client_module, "OTHERS_LOOKUP_WAIT_SECONDS", 0.5)
    memo = runtime().codebases
    client = runtime().client(db.session)
    tenant = client.settings.site_root, client.settings.company_id
    assert memo.claim(*tenant, 60) is not None  # taken by the worker that died
    assert memo.claim(*tenant, 60) is None  # (held)
    sync_ready.clear_requests()

    began = time.monotonic()
    with client:
        client.system_info()
    took = time.monotonic() - began

    assert 0.5 <= took < 3, took
    assert sum("login/companyinfo" in r["path"] for r in sync_ready.requests()) == 1
