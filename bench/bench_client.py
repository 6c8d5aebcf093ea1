"""Benchmark the ConnectWise client against a local sandbox (not a test).

    python bench/bench_client.py [--companies 10000] [--gets 500] [--latency-ms 50]

Starts a `cw_sandbox.testing.SandboxServer`, generates companies, then reports:
* requests per second for simple GETs (one company by id), sequential;
* total time and request count to page every company with pageSize 1000,
  navigable and forward-only;
* the same with the given latency injected on every API request.

The client-side rate limiter and the sandbox's own request budget are both off, so the figures
show the client and sandbox, not the 1,000-a-minute budget used against real tenants.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from colcw_plugin.cw import ClientSettings, ConnectWiseClient  # noqa: E402
from cw_sandbox.testing import SandboxServer  # noqa: E402


def make_client(server: SandboxServer) -> ConnectWiseClient:
    """A client for the sandbox with no rate limit."""
    return ConnectWiseClient(
        ClientSettings(
            site_url=server.base_url,
            company_id=server.company_id,
            client_id=server.client_id,
            public_key=server.public_key,
            private_key=server.private_key,
            allow_http=True,
            rate_limit_per_minute=None,
        )
    )


def bench_gets(client: ConnectWiseClient, company_id: int, n: int) -> tuple[float, int]:
    """Seconds and requests for ``n`` GETs of one company."""
    client.stats.reset()
    start = time.perf_counter()
    for _ in range(n):
        client.companies.get(company_id, fields=["id", "name"])
    return time.perf_counter() - start, client.stats.total


def bench_paging(client: ConnectWiseClient, forward_only: bool) -> tuple[float, int, int]:
    """Seconds, requests and rows to page every company (pageSize 1000)."""
    client.stats.reset()
    start = time.perf_counter()
    rows = sum(
        1
        for _ in client.companies.iterate(
            page_size=1000, order_by=None if forward_only else "id asc", forward_only=forward_only
        )
    )
    return time.perf_counter() - start, client.stats.total, rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str, str]] = []
    with SandboxServer(seed="empty", requests_per_minute=None, max_in_flight=None) as server:
        t0 = time.perf_counter()
        server.generate(args.companies, contacts_per_company=0)
        print(f"generated {args.companies} companies in {time.perf_counter() - t0:.1f}s", flush=True)
        client = make_client(server)
        client.discover()
        first = client.companies.list(fields=["id"], page_size=1, order_by="id asc")[0]["id"]
        total = client.companies.count()

        for label, latency in (("no added latency", 0), (f"+{args.latency_ms} ms latency", args.latency_ms)):
            server.clear_faults()
            if latency:
                server.add_fault(latency_ms=latency)
            gets = max(1, args.gets // 10) if latency else args.gets
            secs, count = bench_gets(client, first, gets)
            rows.append((f"GET by id ({label})", f"{secs:.2f}", str(count), f"{count / secs:.0f} req/s"))
            for mode, forward in (("navigable", False), ("forward-only", True)):
                secs, count, seen = bench_paging(client, forward)
                assert seen == total, f"{mode} paging saw {seen} of {total}"
                rows.append((f"page {seen} companies, {mode} ({label})", f"{secs:.2f}", str(count), ""))
        server.clear_faults()
        client.close()

    header = ("scenario", "seconds", "requests", "rate")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
