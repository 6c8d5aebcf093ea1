"""Benchmark the quote export against a local sandbox (not a test).

    python bench/bench_quotes.py [--documents 200] [--lines 10] [--latency-ms 50] [--concurrency 4]

Needs PostgreSQL (TEST_PG_ADMIN_URL, default postgres@127.0.0.1) for the host database; the
ConnectWise side is an in-process `cw_sandbox` server. Reports:

* ConnectWise requests for one exported document of N lines when every product exists in the
  catalog (the run's one-off look-ups of statuses / types / stages shown apart), and when M of
  them must be created; and for an unchanged re-export;
* wall time for ``--documents`` documents of ``--lines`` lines with ``--latency-ms`` injected on
  every API request, sequential and with ``--concurrency`` documents at a time, against the
  target: within 1.3x of requests x latency / concurrency.

The client-side rate limiter is off so the figures show colcw and the sandbox, not the
1,000-a-minute budget used against real tenants.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "quotes")]

from sqlalchemy import create_engine, text  # noqa: E402

from cw_sandbox.testing import SandboxServer  # noqa: E402
from helpers import runtime  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fresh_database(name: str = "colcw_bench_quotes") -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


class Bench:
    def __init__(self, app, server: SandboxServer, box) -> None:
        from quote_support import make_world

        self.app, self.server, self.box = app, server, box
        self.catalog = [f"BENCH-{n:03d}" for n in range(40)]
        self.world = make_world(server, box, catalog=tuple(self.catalog))
        self.serial = 0

    def quotes(self, count: int, lines: int, *, new_items: int = 0) -> list[int]:
        from quote_support import line

        ids = []
        for _ in range(count):
            self.serial += 1
            rows = [line(self.catalog[i % len(self.catalog)]) for i in range(lines - new_items)]
            rows += [line(f"NEW-{self.serial}-{i}", manufacturer="Lenovo") for i in range(new_items)]
            ids.append(self.world.quote(rows, name=f"Bench deal {self.serial}").id)
        return ids

    def run(self, params: dict, concurrency: int) -> tuple[float, int, dict, object]:
        from colcw_plugin.setup.connection import build_client
        from colcw_plugin.sync.jobs.runs import create_run
        from host_stub.extensions import db

        self.app.config["COLCW_CONCURRENCY"] = concurrency
        run = create_run(db.session, runtime().kinds, "quote_export", params)
        db.session.commit()
        client = build_client(db.session, self.box, rate_limit_per_minute=None, pool_size=max(10, concurrency * 2))
        client.discover()
        client.stats.reset()
        start = time.perf_counter()
        done = runtime().execute(db.session, run.id, client=client)
        elapsed = time.perf_counter() - start
        counts = client.stats.counts
        client.close()
        return elapsed, sum(counts.values()), counts, done


SETUP = ("GET sales/opportunities/statuses", "GET sales/opportunities/types", "GET sales/stages")


def report_requests(bench: Bench) -> None:
    print("\n== ConnectWise requests for one document (every product in the catalog) ==")
    print(f"{'lines N':>8} {'total':>6} {'one-off per run':>16} {'per document':>13} {'target N+3':>11}")
    for n in (1, 5, 10, 20):
        [doc] = bench.quotes(1, n)
        _, total, counts, run = bench.run({"document_id": doc}, 1)
        assert run.status == "succeeded", run.message
        setup = sum(counts.get(k, 0) for k in SETUP)
        print(f"{n:>8} {total:>6} {setup:>16} {total - setup:>13} {n + 3:>11}")
        _, again, _, _ = bench.run({"document_id": doc}, 1)
        if n == 10:
            unchanged = again
    print(f"Re-export of an unchanged 10-line document: {unchanged} requests")
    print("\n== ... when M of 10 lines must be created in the catalog ==")
    print(f"{'M':>4} {'total':>6} {'per document':>13}")
    for m in (1, 5, 10):
        [doc] = bench.quotes(1, 10, new_items=m)
        _, total, counts, run = bench.run({"document_id": doc}, 1)
        assert run.status == "succeeded", run.message
        setup = sum(counts.get(k, 0) for k in SETUP)
        print(f"{m:>4} {total:>6} {total - setup:>13}   ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})")


def report_wall_time(bench: Bench, documents: int, lines: int, latency_ms: int, concurrency: int) -> None:
    print(f"\n== {documents} documents of {lines} lines, {latency_ms} ms latency on every request ==")
    bench.server.add_fault(latency_ms=latency_ms, path="apis/3.0/")
    try:
        for workers in (1, concurrency):
            ids = bench.quotes(documents, lines)
            elapsed, total, _, run = bench.run({"document_ids": ids}, workers)
            ideal = total * latency_ms / 1000 / workers
            print(f"concurrency {workers}: {elapsed:7.1f} s, {total} requests ({total / documents:.1f} per document), "
                  f"run {run.status}; target {ideal * 1.3:6.1f} s (1.3 x {ideal:.1f} s) -> "
                  f"{elapsed / ideal:.2f}x of requests x latency / concurrency")
    finally:
        bench.server.clear_faults()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from helpers import configure_sandbox_connection, make_test_app
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    app = make_test_app(fresh_database(), COLCW_CONCURRENCY=args.concurrency)
    # No request budget: the figures are colcw's and the sandbox's, not ConnectWise's 1,000 a minute.
    server = SandboxServer(seed="empty", requests_per_minute=None, max_in_flight=None)
    try:
        with app.app_context():

            seed_reference(db.session)
            db.session.commit()
            configure_sandbox_connection(server, runtime().box)
            bench = Bench(app, server, runtime().box)
            report_requests(bench)
            report_wall_time(bench, args.documents, args.lines, args.latency_ms, args.concurrency)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
