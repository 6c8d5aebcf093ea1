"""Benchmark the admin's pages over the sync history as it grows (not a test).

    python bench/bench_admin_pages.py [--results 100000] [--history 1000000] [--runs 20000] [--gets 40] [--rounds 5]

Needs PostgreSQL (TEST_PG_ADMIN_URL, default postgres@127.0.0.1). Ops open a run's page (its status log and Retry)
and the Connection page (the exports of the last seven days) on a tenant that keeps 90 days of runs. The bench
times them, fastest of ``--rounds`` × ``--gets`` GETs, on a short history first (the floor: a customer import of
1,000 results, 10 failed, the run it retried, an export of 1,000 customers), then after the import has
``--results`` more results, and ``--runs`` more imports hold ``--history`` results between them (analysed, as
autovacuum leaves tables of that size). Each GET runs many times on the same connections, so psycopg prepares its
statements (at their sixth run) as in a long-lived web process.

Rows: a run's page showing its failed only, and the Connection page, must not grow (target 1.5x, as the sandbox's
rows); a run's whole log is printed beside them without a target: its pager counts the run's results, a count that
grows with the run (an index-only count, a few milliseconds per 100,000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "perf")]

from databases import fresh_database, private_redis  # noqa: E402
from results import Row, save  # noqa: E402
from sqlalchemy import text  # noqa: E402

ADMIN = "/admin/integration/connectwise"


def world(app) -> int:
    """The short history (``budget_support.short_history``, as the test of these pages); the import's run id."""
    from budget_support import short_history

    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    with app.app_context():
        seed_reference(db.session)
        return short_history()["run"]


def grow(app, run_id: int, results: int, runs: int, history: int) -> None:
    from budget_support import grow_history

    from host_stub.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            grow_history(conn, run_id, results=results, runs=runs, history=history)
        with db.engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.execute(text("VACUUM (ANALYZE) colcw_sync_items"))
            auto.execute(text("VACUUM (ANALYZE) colcw_sync_runs"))


def timed(app, client, path: str, gets: int, rounds: int) -> tuple[float, int]:
    """The fastest of the GETs of ``path``, in seconds, and the statements of one."""
    from helpers import recorded_statements
    from host_stub.extensions import db

    best = float("inf")
    for _ in range(rounds):
        for _ in range(gets):
            start = time.perf_counter()
            resp = client.get(path)
            best = min(best, time.perf_counter() - start)
            assert resp.status_code == 200, (path, resp.status_code)
    with app.app_context(), recorded_statements(db.engine) as seen:
        client.get(path)
    return best, len(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--gets", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with private_redis() as redis_url:
        return _main(args, redis_url)


def _main(args: argparse.Namespace, redis_url: str) -> int:
    from helpers import make_test_app, sign_in

    app = make_test_app(fresh_database("colcw_bench_admin_pages"), redis_url)
    run_id = world(app)
    client = sign_in(app.test_client(), "admin@demo.example")
    pages = {"a run's page showing its failed only": f"{ADMIN}/jobs/runs/{run_id}?action=failed",
             "the Connection page (the exports of the last seven days)": f"{ADMIN}/",
             "a run's page, its whole log": f"{ADMIN}/jobs/runs/{run_id}"}
    before = {name: timed(app, client, path, args.gets, args.rounds) for name, path in pages.items()}
    grow(app, run_id, args.results, args.runs, args.history)
    after = {name: timed(app, client, path, args.gets, args.rounds) for name, path in pages.items()}
    grown = (f"its run {args.results + 1000:,} results, the history {args.results + args.history + 2000:,} results of "
             f"{args.runs + 3:,} runs")
    print(f"\n{'page':<58} {'short history':>14} {'grown':>10} {'ratio':>6}  statements  ({grown})")
    rows = []
    for n, name in enumerate(pages):
        (t0, s0), (t1, s1) = before[name], after[name]
        ratio = t1 / t0
        print(f"{name:<58} {t0 * 1000:>11.2f} ms {t1 * 1000:>7.2f} ms {ratio:>5.2f}x  {s0} / {s1}")
        whole = "whole log" in name
        rows.append(Row(f"admin: {name}, {grown} (floor: a run of 1,000 results, 3 runs; {s1} SQL statements"
                        + ("; its pager counts the run's results" if whole else "") + ")",
                        f"{t1 * 1000:.2f} ms", f"{t0 * 1000:.2f} ms", f"{ratio:.2f}x",
                        "" if whole else "≤ 1.5x (does not grow)", None if whole else ratio <= 1.5, 470 + n))
    save("bench_admin_pages", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
