"""Benchmark the quote export against a local sandbox (not a test).

    python bench/bench_quotes.py [--documents 40] [--lines 10] [--latency-ms 50] [--concurrency 4]

Needs PostgreSQL (TEST_PG_ADMIN_URL, default postgres@127.0.0.1) for the host database; the
ConnectWise side is an in-process `cw_sandbox` server. Prints, and saves as rows of the README's
Performance table (:mod:`results`):

* SQL statements per document, for documents of 1 and of 20 lines (what one more document adds to
  a run; target: at most 12 whatever the line count);
* a one-line document's export against its floor (the same requests replayed alone; target 1.5x), and
  with ``--latency-ms`` on every request, new and re-exported unchanged, and a new ten-line document (its
  independent reads, and its product lines, go out together, so it can take less than its requests one
  after another);
* ConnectWise requests for one exported document of N lines when every product exists in the
  catalog, when M of them must be created, and for an unchanged re-export (target: 2);
* catalog look-ups of a run of documents sharing their items, ``--concurrency`` at a time (target:
  each item looked up once per run, not once per worker);
* wall time for ``--documents`` documents of ``--lines`` lines with ``--latency-ms`` injected on
  every API request, sequential and ``--concurrency`` at a time (target: within 1.3x of
  requests x latency / concurrency).

The client-side rate limiter is off so the figures show colcw and the sandbox, not the
1,000-a-minute budget used against real tenants.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "quotes")]

import floor  # noqa: E402
from databases import fresh_database, private_redis  # noqa: E402
from results import Row, count_row, ratio_row, save  # noqa: E402
from sqlalchemy import event  # noqa: E402

from colcw_plugin.sync.runtime import ColcwConfig  # noqa: E402
from cw_sandbox.testing import SandboxServer  # noqa: E402
from helpers import runtime  # noqa: E402

# A rep's export of one document runs with the default concurrency: one worker, and that many requests
# in flight at most (what the reads it sends ahead may use).
ONE_DOCUMENT = ColcwConfig.concurrency

SETUP = ("GET sales/opportunities/statuses", "GET sales/opportunities/types", "GET sales/stages")




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

    def run(self, params: dict, concurrency: int = 1) -> tuple[float, int, dict, object]:
        from colcw_plugin.setup.connection import build_client
        from colcw_plugin.sync.jobs.runs import create_run
        from host_stub.extensions import db

        rt = runtime()
        rt.config = dataclasses.replace(rt.config, concurrency=concurrency)  # the runtime's own setting
        run_id = create_run(db.session, rt.kinds, "quote_export", params).id
        db.session.commit()  # (its id taken before: reading it after the commit would reload the run)
        # As a worker builds a run's client (at most its concurrency in flight; sending on the process's kept
        # connections, as every client of the runtime does: Runtime.client), without the rate limit. A client with
        # a connection pool of its own opened new connections on every run, which a worker does not (nor the floor).
        client = build_client(db.session, self.box, rate_limit_per_minute=None, max_in_flight=concurrency,
                              connections=rt.connections)
        client.discover()
        client.stats.reset()
        start = time.perf_counter()
        done = rt.execute(db.session, run_id, client=client)
        elapsed = time.perf_counter() - start
        counts = client.stats.counts
        client.close()
        assert done.status == "succeeded", done.message
        return elapsed, sum(counts.values()), counts, done

    def recorded(self, params: dict) -> tuple[float, int, list]:
        """Run ``params`` as a rep's export of one document runs, its requests recorded for the floor: the
        seconds it took, its requests and what it sent."""
        floor.start_recording(self.server)
        seconds, total, _, _ = self.run(params, ONE_DOCUMENT)
        return seconds, total, floor.recorded(self.server)

    def replayed(self, sent: list) -> float:
        """The floor of what a run sent: the same requests replayed alone (the replay's bodies not recorded)."""
        self.server.set_options(record_bodies=False)
        return floor.replay(self.server, sent)

    def statements(self, params: dict) -> int:
        from host_stub.extensions import db

        seen = []
        listener = lambda *a: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            self.run(params)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)


def statements_per_document(bench: Bench) -> list[Row]:
    print("\n== SQL statements per document (what one more document adds to a run) ==")
    rows = []
    for n, order in ((1, 200), (20, 201)):
        bench.run({"document_id": bench.quotes(1, n)[0]})  # warm the run-wide caches (statuses, types, stages)
        one = bench.statements({"document_id": bench.quotes(1, n)[0]})
        six = bench.statements({"document_ids": bench.quotes(6, n)})
        per = (six - one) / 5
        print(f"{n:>3} line(s): a run of 1 document {one} statements, of 6 documents {six}: {per:g} per document")
        rows.append(count_row(f"quote export: SQL statements per document of {n} line{'s' if n > 1 else ''} "
                              f"(a run of one document: {one})", per, 12, order=order))
    return rows


def one_line_counts(bench: Bench, runs: int = 3) -> None:
    """What a one-line document's export costs on this side, in counts that do not move with the machine's load:
    SQL statements, connections taken from the pool, and Python calls on the run's thread (cProfile: its reads sent
    ahead go out on other threads, and the sandbox answers on its own). The last of ``runs`` exports (the first ones
    compile what the process had not sent yet)."""
    import cProfile
    import pstats

    from colcw_plugin.sync.jobs.runs import create_run
    from host_stub.extensions import db

    rt = runtime()
    for _ in range(runs):
        [doc] = bench.quotes(1, 1)
        run_id = create_run(db.session, rt.kinds, "quote_export", {"document_id": doc}).id
        db.session.commit()
        client = rt.client(db.session)
        seen: list = []
        checkouts: list = []
        statement = lambda *a, seen=seen: seen.append(1)  # noqa: E731
        checkout = lambda *a, checkouts=checkouts: checkouts.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", statement)
        event.listen(db.engine.pool, "checkout", checkout)
        profile = cProfile.Profile()
        try:
            profile.enable()
            done = rt.execute(db.session, run_id, client=client)
            profile.disable()
        finally:
            event.remove(db.engine, "before_cursor_execute", statement)
            event.remove(db.engine.pool, "checkout", checkout)
            client.close()
        assert done.status == "succeeded", done.message
    print(f"\n== a one-line document's export: {len(seen)} SQL statements, {len(checkouts)} connection checkouts, "
          f"{pstats.Stats(profile).total_calls} Python calls on its thread ==")


def _better(best: tuple[float, float, int] | None, seconds: float, base: float, total: int
            ) -> tuple[float, float, int]:
    """Of several tries of one measure (seconds, floor, requests), each side's best so far: the fastest run
    with the least floor of any try, as the other benches pair them. (Keeping the try with the lowest ratio
    instead let one floor slowed by the machine, 118 ms against 3 to 7 ms, report the target as met.)"""
    if best is None:
        return seconds, base, total
    fastest, _, requests = min(best, (seconds, base, total))
    return fastest, min(best[1], base), requests


def one_line_floor(bench: Bench, tries: int = 5) -> Row:
    """A one-line document's first export (a new opportunity) against the same requests replayed alone."""
    print("\n== a one-line document against its floor ==")
    best = None
    for _ in range(tries):
        [doc] = bench.quotes(1, 1)
        seconds, total, sent = bench.recorded({"document_id": doc})
        base = bench.replayed(sent)
        print(f"  {floor.ratio_line(f'{total} requests', seconds, base, 1.5)} [{seconds * 1000:.1f} ms / {base * 1000:.1f} ms]")
        best = _better(best, seconds, base, total)
    seconds, base, total = best
    return ratio_row(f"quote export of a one-line document ({total} requests; best of {tries})", seconds, base, 1.5,
                     unit="ms", scale=1000, digits=1, order=202)


def at_latency(bench: Bench, latency_ms: int, tries: int = 3) -> list[Row]:
    """A new one-line document, its unchanged re-export and a new ten-line document with ``latency_ms`` on every
    request, as against a real tenant, against the same requests replayed one after another: the reads the
    export sends together (its opportunity and its products, or the look-up by name beside the catalog's)
    wait for one round trip, not one each, and so do the product lines it writes side by side."""
    print(f"\n== a one-line and a ten-line document with {latency_ms} ms latency on every request ==")
    bench.server.add_fault(latency_ms=latency_ms, path="apis/3.0/")
    rows = []
    try:
        best: dict[str, tuple[float, float, int]] = {}
        for _ in range(tries):
            [doc] = bench.quotes(1, 1)
            runs = [(what, *bench.recorded({"document_id": doc})) for what in ("new", "unchanged re-export")]
            [ten] = bench.quotes(1, 10)  # its ten product lines go out side by side
            runs.append(("a new 10-line document", *bench.recorded({"document_id": ten})))
            for what, seconds, total, sent in runs:  # replayed once all ran: a replayed POST adds a record
                base = bench.replayed(sent)
                print(f"  {what}: {floor.ratio_line(f'{total} requests', seconds, base)}")
                best[what] = _better(best.get(what), seconds, base, total)
        for n, (what, (seconds, base, total)) in enumerate(best.items()):
            rows.append(Row(f"… {what}, {latency_ms} ms latency on every request ({total} requests; floor: them one "
                            f"after another)", f"{seconds * 1000:.0f} ms", f"{base * 1000:.0f} ms",
                            f"{seconds / base:.2f}x", order=202 + (n + 1) / 10))
    finally:
        bench.server.clear_faults()
    return rows


def report_requests(bench: Bench) -> list[Row]:
    print("\n== ConnectWise requests for one document (every product in the catalog) ==")
    print(f"{'lines N':>8} {'total':>6} {'one-off per run':>16} {'per document':>13} {'target N+3':>11}")
    rows = []
    for n in (1, 5, 10, 20):
        [doc] = bench.quotes(1, n)
        _, total, counts, _ = bench.run({"document_id": doc})
        setup = sum(counts.get(k, 0) for k in SETUP)
        print(f"{n:>8} {total:>6} {setup:>16} {total - setup:>13} {n + 3:>11}")
        _, again, _, _ = bench.run({"document_id": doc})
        if n == 10:
            rows.append(count_row("quote export: requests for an unchanged re-export of a 10-line document", again, 2,
                                  order=203))
            print(f"Re-export of an unchanged 10-line document: {again} requests")
    print("\n== ... when M of 10 lines must be created in the catalog ==")
    print(f"{'M':>4} {'total':>6} {'per document':>13}")
    for m in (1, 5, 10):
        [doc] = bench.quotes(1, 10, new_items=m)
        _, total, counts, _ = bench.run({"document_id": doc})
        setup = sum(counts.get(k, 0) for k in SETUP)
        print(f"{m:>4} {total:>6} {total - setup:>13}   ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})")
    return rows


def rep_requests(bench: Bench, exports: int = 3) -> list[Row]:
    """Reps' unchanged re-exports as the runtime runs them, each run with a client of its own: the first after
    the tenant's codebase was forgotten reads it from ConnectWise, the ones after remember it; and the
    connections they open, sending on the process's kept connections and, side by side, each on its own."""
    from colcw_plugin.sync.jobs.runs import create_run
    from host_stub.extensions import db

    rt = runtime()
    [doc] = bench.quotes(1, 1)
    bench.run({"document_id": doc}, ONE_DOCUMENT)  # (and the runtime's concurrency as a rep's export has it)

    def exports_of(**client) -> tuple[list[int], int]:
        counts = []
        bench.server.clear_requests()
        for _ in range(exports):
            run_id = create_run(db.session, rt.kinds, "quote_export", {"document_id": doc}).id
            db.session.commit()
            done = rt.execute(db.session, run_id, make_client=lambda session, **kw: rt.client(session, **kw, **client))
            assert done.status == "succeeded", done.message
            counts.append(done.api_requests)
        return counts, len({r["connection"] for r in bench.server.requests()})

    rt.connections.close()
    rt.codebases.forget_all()
    counts, kept = exports_of()
    _, own = exports_of(connections=None)
    print(f"\n== {exports} reps' unchanged re-exports one after another, each run with its own client: "
          f"{' / '.join(map(str, counts))} requests (the first after the codebase was forgotten, then the ones that "
          f"remember it); {kept} connection(s) opened on the process's kept ones, {own} with a connection pool each ==")
    return [count_row("quote export: requests for a rep's unchanged re-export as a run sends them (its own client, "
                      f"codebase discovery included; {counts[0]} on the first after the codebase was forgotten)",
                      max(counts[1:]), 2, order=203.5),
            Row(f"… connections {exports} such exports open one after another, on the process's kept connections "
                f"(a connection pool per client: {own})", str(kept), order=203.6)]


def catalog_lookups(bench: Bench, concurrency: int) -> Row:
    ids = bench.quotes(12, 10)
    _, total, counts, _ = bench.run({"document_ids": ids}, concurrency)
    lookups = counts.get("GET procurement/catalog", 0)
    print(f"\n== 12 documents sharing their 10 items, {concurrency} at a time: {lookups} catalog look-up(s), "
          f"{total} requests ==")
    return count_row(f"quote export: catalog look-ups for 12 documents sharing 10 items, {concurrency} workers", lookups,
                     1, order=204)


def report_wall_time(bench: Bench, documents: int, lines: int, latency_ms: int, concurrency: int) -> list[Row]:
    print(f"\n== {documents} documents of {lines} lines, {latency_ms} ms latency on every request ==")
    bench.server.add_fault(latency_ms=latency_ms, path="apis/3.0/")
    rows = []
    try:
        for n, workers in enumerate((1, concurrency)):
            ids = bench.quotes(documents, lines)
            elapsed, total, _, run = bench.run({"document_ids": ids}, workers)
            ideal = total * latency_ms / 1000 / workers
            print(f"concurrency {workers}: {elapsed:7.1f} s, {total} requests ({total / documents:.1f} per document), "
                  f"run {run.status}; target {ideal * 1.3:6.1f} s (1.3 x {ideal:.1f} s) -> "
                  f"{elapsed / ideal:.2f}x of requests x latency / concurrency")
            rows.append(ratio_row(f"quote export of {documents} documents × {lines} lines, {latency_ms} ms latency, "
                                  f"concurrency {workers} (floor: requests × latency / concurrency)",
                                  elapsed, ideal, 1.3, order=205 + n))
    finally:
        bench.server.clear_faults()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=("one-line",), help="run only this part (nothing is saved)")
    parser.add_argument("--tries", type=int, default=5, help="with --only one-line: how many exports to time")
    args = parser.parse_args()

    from helpers import make_test_app

    with private_redis() as redis_url:
        _main(args, make_test_app(fresh_database("colcw_bench_quotes"), redis_url))


def _main(args: argparse.Namespace, app) -> None:
    from helpers import configure_sandbox_connection
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    # No request budget: the figures are colcw's and the sandbox's, not ConnectWise's 1,000 a minute.
    server = SandboxServer(seed="empty", requests_per_minute=None, max_in_flight=None)
    try:
        with app.app_context():
            seed_reference(db.session)
            db.session.commit()
            configure_sandbox_connection(server, runtime().box)
            bench = Bench(app, server, runtime().box)
            if args.only == "one-line":
                bench.run({"document_id": bench.quotes(1, 1)[0]})  # warm the run-wide caches, as the full run does
                one_line_counts(bench)
                one_line_floor(bench, tries=args.tries)
                at_latency(bench, args.latency_ms)
                return
            rows = statements_per_document(bench)
            rows.append(one_line_floor(bench))
            rows += at_latency(bench, args.latency_ms)
            rows += report_requests(bench)
            rows += rep_requests(bench)
            rows.append(catalog_lookups(bench, args.concurrency))
            rows += report_wall_time(bench, args.documents, args.lines, args.latency_ms, args.concurrency)
            save("bench_quotes", rows)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
