"""Benchmark the sandbox's own cost (not a test): the floor the other benches compare colcw with.

    python bench/bench_sandbox.py [--companies 40000] [--small 10000] [--contacts-per-company 2.5] [--rounds 3]

For two tenants, of ``--small`` and of ``--companies`` generated companies (with contacts), each in a
sandbox of its own, measured in turns for ``--rounds`` rounds (so that the machine's load, which moves
a figure by a fifth from one minute to the next, falls on both sizes alike and is not read as growth),
prints the best round of each figure:
* small GETs over one session: requests per second, and how many answers closed the connection;
* paging every company at pageSize 1000, forward-only and navigable (with a condition and an
  orderBy): the first page (which may build an index or filter and sort once) and the median of
  the others;
* every company by ``id in (...)`` in chunks of 150 ids, and every contact by ``company/id in (...)``
  (the median request);
* for each figure, large over small: a per-request cost that does not grow with the tenant stays
  near 1, a one-off pass over the table near the size ratio.

The request budget is off (ConnectWise's 1,000 a minute would measure the throttle, not the
sandbox). Runs against older sandboxes too (no budget, no ``examined`` in the log), for before /
after figures.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from results import Row, save  # noqa: E402

from cw_sandbox.testing import SandboxServer  # noqa: E402

CHUNK = 150


def start() -> SandboxServer:
    try:
        return SandboxServer(seed="empty", requests_per_minute=None, max_in_flight=None)
    except TypeError:  # a sandbox from before the request budget
        return SandboxServer(seed="empty")


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def tenant(companies: int, per_company: float) -> SandboxServer:
    """A sandbox of its own holding ``companies`` generated companies and their contacts."""
    server = start()
    server.reset("empty")
    server.generate(companies, contacts_per_company=per_company)
    return server


def measure(server: SandboxServer, companies: int) -> dict[str, float]:
    """One round of every figure on a generated tenant of ``companies`` companies."""
    session = requests.Session()
    kw = {"auth": server.auth, "headers": {"clientId": server.client_id}, "timeout": 600}
    base = server.api_url
    out: dict[str, float] = {}

    n = 500
    seconds, _ = timed(lambda: [session.get(base + "system/info", **kw) for _ in range(n)])
    out["small GETs per second"] = n / seconds
    closing = [session.get(base + "system/info", **kw).headers.get("Connection", "").lower() for _ in range(50)]
    out["responses closing the connection, of 50"] = closing.count("close")

    def get(path: str, params: dict, *, forward: bool = False) -> tuple[float, list]:
        headers = {**kw["headers"], "pagination-type": "forward-only"} if forward else kw["headers"]
        started = time.perf_counter()
        rows = session.get(base + path, params=params, headers=headers, auth=kw["auth"], timeout=600).json()
        return time.perf_counter() - started, rows

    def forward_only() -> list[float]:
        page_id, times = 0, []
        while True:
            t, rows = get("company/companies", {"conditions": "deletedFlag = false", "fields": "id,name",
                                                "pageSize": 1000, "pageId": page_id}, forward=True)
            times.append(t)
            if len(rows) < 1000:
                return times
            page_id = rows[-1]["id"]

    pages = forward_only()
    out["forward-only: first page, ms"] = pages[0] * 1000
    out["forward-only: later pages, median ms"] = statistics.median(pages[1:]) * 1000

    def navigable() -> list[float]:
        times, page = [], 1
        while True:
            t, rows = get("company/companies", {"conditions": "deletedFlag = false", "orderBy": "name asc",
                                                "fields": "id,name", "pageSize": 1000, "page": page})
            times.append(t)
            if len(rows) < 1000:
                return times
            page += 1

    pages = navigable()
    out["navigable + orderBy: first page, ms"] = pages[0] * 1000
    out["navigable + orderBy: later pages, median ms"] = statistics.median(pages[1:]) * 1000

    ids: list[int] = []
    while len(ids) < companies:
        _t, rows = get("company/companies", {"pageSize": 1000, "fields": "id", "pageId": ids[-1] if ids else 0},
                       forward=True)
        ids += [r["id"] for r in rows]
    chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]

    def by_ids(path: str, field: str) -> tuple[int, list[float]]:
        """Every chunk's records: how many were found, and each request's time (a median is compared: a
        tenant four times larger sends four times the requests, and more of them meet a disturbance)."""
        found, times = 0, []
        for chunk in chunks:
            t, rows = get(path, {"conditions": f"{field} in ({', '.join(map(str, chunk))})", "fields": "id",
                                 "pageSize": 1000})
            found += len(rows)
            times.append(t)
        return found, times

    found, times = by_ids("company/companies", "id")
    assert found == companies, found
    out["companies by id in (...), median ms per request"] = statistics.median(times) * 1000
    found, times = by_ids("company/contacts", "company/id")
    out["contacts by company/id in (...), median ms per request"] = statistics.median(times) * 1000
    session.close()
    return out


# Of several rounds, the best: the most small GETs a second, the most answers closing the connection (any is
# a fault), the least time of the others; a first page's time is its first round's (what the sandbox builds
# once for a listing is built then, and a later round's first page only reads it).
BEST = {"small GETs per second": max, "responses closing the connection, of 50": max}


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {name: rounds[0][name] if "first page" in name else BEST.get(name, min)(r[name] for r in rounds)
            for name in rounds[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=40_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--contacts-per-company", type=float, default=2.5)
    parser.add_argument("--rounds", type=int, default=3, help="measure each tenant this many times, in turns")
    args = parser.parse_args()
    servers: list[SandboxServer] = []
    try:
        servers.append(tenant(args.small, args.contacts_per_company))
        servers.append(tenant(args.companies, args.contacts_per_company))
        gc.collect()
        gc.freeze()  # the generated tenants are long-lived: keep the collector from rescanning them per request
        smalls, larges = [], []
        for _ in range(max(1, args.rounds)):
            smalls.append(measure(servers[0], args.small))
            larges.append(measure(servers[1], args.companies))
    finally:
        for server in servers:
            server.stop()
    small, large = best(smalls), best(larges)
    ratio = args.companies / args.small
    print(f"sandbox cost, {args.small:,} and {args.companies:,} companies ({args.contacts_per_company} contacts each); "
          f"size ratio {ratio:g}")
    print(f"{'figure':56} {args.small:>12,} {args.companies:>12,} {'large/small':>12}")
    for name, value in small.items():
        other = large[name]
        growth = other / value if value else float("nan")
        print(f"{name:56} {value:12.2f} {other:12.2f} {growth:12.2f}")
    per_request = [n for n in small if "ms per request" in n or "median" in n]
    save("bench_sandbox", [Row(f"sandbox (the floor): {n} at {args.companies:,} companies (floor: at {args.small:,})",
                               f"{large[n]:.2f}", f"{small[n]:.2f}", f"{large[n] / small[n]:.2f}x",
                               "≤ 1.5x (does not grow)", large[n] / small[n] <= 1.5, 950 + i)
                           for i, n in enumerate(per_request) if small[n]])


if __name__ == "__main__":
    main()
