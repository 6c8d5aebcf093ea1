"""Benchmark the host pages with colcw against the bare host (not a test).

    python bench/bench_pages.py [--history 1000000] [--rounds 10] [--gets 60]

Needs PostgreSQL (TEST_PG_ADMIN_URL, default postgres@127.0.0.1) and redis-server (it starts its own, so the
conversion it seeds queues its run as beside a real Redis). One database, two apps on it: the
host with colcw and the bare host (no plugins). For the customer page, the quote and sales order
pages and the three lists it prints, side by side: the SQL statements of a GET and the render time
(the fastest of ``--rounds`` rounds of ``--gets`` GETs each, the two apps alternating GET by GET so both see
the same machine load; with 150 GETs a side the fastest still moved by a tenth from run to run on this 2-core
machine, with 600 by a few hundredths); then it adds ``--history`` rows to colcw's sync history (the customer's
and its contacts' among them), vacuumed as a table of that size would be, and times the pages again: their time
must not grow with the history.

colcw's panels and the lists' status cells load after the page is shown (htmx): the page's figure is the
page alone, as the person sees it arrive; what it loads after (the panel, the status cells) is timed too
and printed beside it, with its statements, so nothing colcw does goes unmeasured.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "perf")]

from databases import fresh_database, private_redis  # noqa: E402
from results import Row, count_row, save  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

PAGES = {"customer page": "/customers/{customer}", "quote page": "/documents/{quote}",
         "sales order page": "/documents/{order}", "customers list": "/customers/", "quotes list": "/quotes/",
         "orders list": "/orders/"}




def world(app) -> dict:
    """A rep's day: 60 customers with contacts and quotes; one customer linked with history, its quote
    exported and converted to a sales order (what the pages show)."""
    from budget_support import synced_world

    from host_stub import services
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    with app.app_context():
        seed_reference(db.session)
        db.session.commit()
        for n in range(60):
            other = services.save_customer({"account_number": f"B{n:03d}", "name": f"Bench {n:03d}"},
                                           [{"first_name": "Al", "last_name": f"N{n}"}])
            services.save_document({"customer_id": other.id, "sales_rep_id": 1},
                                   [{"item_number": "L1", "price": 3}, {"item_number": "L2", "price": 4}])
        return synced_world(sales_rep_id=1)


class Page:
    def __init__(self, app, path: str, headers: dict | None = None):
        from helpers import sign_in

        self.app, self.path, self.headers = app, path, headers or {}
        self.ctx = app.app_context()
        self.ctx.push()
        self.client = sign_in(app.test_client(), "riley@demo.example")
        self.ctx.pop()

    def statements(self) -> int:
        from host_stub.extensions import db

        seen = []
        with self.app.app_context():
            listener = lambda *a: seen.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                self.get()
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def get(self) -> str:
        resp = self.client.get(self.path, headers=self.headers)
        assert resp.status_code == 200, (self.path, resp.status_code)
        return resp.get_data(as_text=True)

    def parts(self) -> list[Page]:
        """What the page loads after it is shown (colcw's panel or status cells), as htmx asks for it."""
        from budget_support import loads

        return [Page(self.app, url, {"HX-Request": "true"}) for url in loads(self.get())]

    def timed(self, gets: int) -> float:
        """The fastest of ``gets`` GETs, in seconds (the least disturbed by other work on the machine)."""
        times = []
        for _ in range(gets):
            start = time.perf_counter()
            self.get()
            times.append(time.perf_counter() - start)
        return min(times)


def measure(pairs: dict[str, tuple[Page, Page]], rounds: int, gets: int) -> dict[str, tuple[float, float]]:
    """Per page: (with colcw, bare), each the fastest of ``rounds`` × ``gets`` GETs, the two alternating GET by
    GET (this virtual machine's speed drifts from one second to the next: side by side, both see the same)."""
    best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name in pairs}
    for _ in range(rounds):
        for name, (colcw, bare) in pairs.items():
            for _ in range(gets):
                best[name][0] = min(best[name][0], colcw.timed(1))
                best[name][1] = min(best[name][1], bare.timed(1))
    return {name: (a, b) for name, (a, b) in best.items()}


def add_history(app, rows: int) -> None:
    from host_stub.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO colcw_sync_items (entity, direction, host_id, action, label, message, resolution, at) "
            "SELECT CASE WHEN g % 5 = 0 THEN 'customer' ELSE 'contact' END, 'import', "
            "CASE WHEN g <= :own THEN g % 5 + 61 ELSE g % 40000 + 100 END, 'updated', 'x', '', '', now() "
            "FROM generate_series(1, :rows) AS g"), {"rows": rows, "own": min(rows, 10_000)})
    # As a tenant's table of that size stands on an ordinary day: vacuumed and analysed. Left to autovacuum, its
    # pass over the million rows just written would run beside the timed GETs, a core's load that they measure.
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE) colcw_sync_items"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--gets", type=int, default=60)
    args = parser.parse_args()

    with private_redis() as redis_url:
        return _main(args, redis_url)


def _main(args, redis_url: str) -> int:
    from helpers import make_test_app

    url = fresh_database("colcw_bench_pages")
    app = make_test_app(url, redis_url)  # the world's conversion queues its run, as it does beside a Redis
    bare = make_test_app(url, plugins=[])
    ids = world(app)
    pairs = {name: (Page(app, path.format(**ids)), Page(bare, path.format(**ids))) for name, path in PAGES.items()}
    counts = {name: (colcw.statements(), plain.statements()) for name, (colcw, plain) in pairs.items()}
    parts = {name: colcw.parts() for name, (colcw, _) in pairs.items()}
    part_counts = {name: sum(p.statements() for p in found) for name, found in parts.items()}
    before = measure(pairs, args.rounds, args.gets)
    add_history(app, args.history)
    after = measure(pairs, args.rounds, args.gets)
    loaded = {name: sum(min(p.timed(args.gets) for _ in range(args.rounds)) for p in found)
              for name, found in parts.items()}
    print(f"\n{'page':<18} {'statements':>10} {'bare':>5}  {'render ms':>9} {'bare ms':>8} {'ratio':>6}  "
          f"{'with ' + format(args.history, ',') + ' history rows':>36}  {'loaded after the page':>24}")
    rows: list[Row] = []
    for n, name in enumerate(PAGES):
        (with_colcw, plain), (t0, b0), (t1, b1) = counts[name], before[name], after[name]
        print(f"{name:<18} {with_colcw:>10} {plain:>5}  {t0 * 1000:>9.2f} {b0 * 1000:>8.2f} {t0 / b0:>5.2f}x  "
              f"{t1 * 1000:>9.2f} ms, bare {b1 * 1000:.2f} ms, {t1 / b1:.2f}x  "
              f"{len(parts[name])} part(s), {part_counts[name]} statements, {loaded[name] * 1000:.2f} ms")
        rows.append(count_row(f"{name}: SQL statements of a GET, with colcw (floor: the bare host)", with_colcw,
                              plain + 2, floor=str(plain), ratio=f"+{with_colcw - plain}", order=400 + n * 3))
        ratio = t1 / b1
        rows.append(Row(f"{name}: render time with {args.history:,} sync history rows (floor: the bare host; "
                        f"{t0 * 1000:.2f} ms with none)", f"{t1 * 1000:.2f} ms", f"{b1 * 1000:.2f} ms", f"{ratio:.2f}x",
                        "≤ 1.1x", ratio <= 1.1, 401 + n * 3))
        rows.append(Row(f"… its ConnectWise {'status cells' if 'list' in name else 'panel'}, loaded after the page "
                        f"(htmx): {part_counts[name]} SQL statements, with {args.history:,} history rows",
                        f"{loaded[name] * 1000:.2f} ms", order=402 + n * 3))
    save("bench_pages", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
