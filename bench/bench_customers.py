"""Benchmark the customer import and export against a local sandbox (not a test).

    python bench/bench_customers.py [--companies 10000] [--contacts-per-company 2.5] [--customers 2000]
                                    [--sweep 2500,10000,40000] [--rounds 3] [--first-only]

Needs PostgreSQL (TEST_PG_ADMIN_URL, default postgres@127.0.0.1) for the host database. The
sandbox runs in its own process (``cw-sandbox serve``) so that its memory is not counted, and
each measured run happens in a fresh child process. Reports, for:

* importing every company with its contacts, at a quarter of ``--companies`` and at the full
  count: ConnectWise requests (target: pages of 1,000 and contacts in bulk, never a request per
  record), wall time, records per second, and the growth of the process's peak memory during
  the run (target: the same at every size: memory that does not grow with the records);
* exporting ``--customers`` demo customers (2-4 contacts each) to an empty tenant: requests,
  wall time and peak memory growth.

Each figure is printed beside its floor: the same ConnectWise requests replayed alone on one kept-alive
connection (:mod:`floor`), so the ratio is what colcw adds. The import is also run again unchanged (its
writes to the host and the link table counted: the target is none), and at each ``--sweep`` size
for linearity and memory, from 2,500 to 40,000 companies as the issue names them (the import of
40,000 adds about a minute to ``make bench`` on this 2-core machine).
A run of 2,500 companies (three pages) holds all it reads at its start: the page it saves and the next one (the
import reads no further ahead), and the contacts' pages asked for side by side; the largest run's memory is compared
with it. Each import and the export is measured ``--rounds`` times (the first import into an empty
database each time, the export to new tenants) and the best of each side is compared: this 2-core
machine's load moves a single figure, and its floor, by a fifth from one run to the next. The rows are
saved for the README's Performance table (:mod:`results`).

Beside each run's figures: the processor time of the three processes it keeps busy (colcw, with its main
thread's share; PostgreSQL; the sandbox: :mod:`cpu`), and the least wall time that allows on this machine's cores
however well colcw overlapped them. For the imports it is a row of the table too: a ratio below it cannot be had on
this machine without less work.

The client-side rate limiter is off so the figures show colcw, PostgreSQL and the sandbox, not
the 1,000-a-minute budget used against real tenants (at which 10,000 companies cost ~60
requests, well under a minute of budget).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import cpu  # noqa: E402
import floor  # noqa: E402
import requests  # noqa: E402
from databases import database_url, fresh_database  # noqa: E402
from results import Row, count_row, ratio_row, save  # noqa: E402

from helpers import row_versions, rows_written, runtime  # noqa: E402

DATA_TABLES = ("customers", "contacts", "colcw_links")  # what an import writes (not the run's own record)
CANADA = [("AB", "Alberta"), ("BC", "British Columbia"), ("MB", "Manitoba"), ("NB", "New Brunswick"),
          ("NL", "Newfoundland and Labrador"), ("NT", "Northwest Territories"), ("NS", "Nova Scotia"),
          ("NU", "Nunavut"), ("ON", "Ontario"), ("PE", "Prince Edward Island"), ("QC", "Quebec"),
          ("SK", "Saskatchewan"), ("YT", "Yukon")]


def _status_mb(field: str) -> float | None:
    """A memory figure of this process's /proc status (VmRSS: now; VmHWM: the highest since its last reset), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def rss_mb() -> float:
    """The process's resident memory now, in MB (Linux /proc)."""
    now = _status_mb("VmRSS")
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """The highest resident memory while a run goes on (``peak``), from the kernel's own high-water mark: reset when
    the run starts (``/proc/self/clear_refs``), read when it ends. Nothing runs in the measured process meanwhile (a
    thread reading /proc every 20 ms took about 2 % of the runs' interpreter time, counted in colcw's figure, and
    could miss a peak between two reads); where the mark cannot be reset, that sampling thread is the fallback."""

    def __init__(self) -> None:
        self.start = rss_mb()
        self.peak = self.start
        self._thread: threading.Thread | None = None
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak resident set size to the current one
            self._kernel = _status_mb("VmHWM") is not None
        except OSError:
            self._kernel = False
        if not self._kernel:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self.peak = max(self.peak, rss_mb(), (_status_mb("VmHWM") or 0) if self._kernel else 0)


class Sandbox:
    """``cw-sandbox serve`` in a child process."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        # No request budget: the figures are colcw's and the sandbox's, not ConnectWise's 1,000 a minute.
        self.proc = subprocess.Popen([sys.executable, "-m", "cw_sandbox.cli", "serve", "--port", str(self.port),
                                      "--requests-per-minute", "0", "--max-in-flight", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox did not start:\n" + "".join(lines))
            lines.append(line)
            m = re.search(r"public (\S+)\s+private (\S+)", line)
            if m:
                self.public_key, self.private_key = m.groups()
            if "control API" in line:
                break
        for _ in range(50):
            try:
                requests.get(self.base_url + "/login/companyinfo/sandbox", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)

    def control(self, path: str, body: dict) -> dict:
        resp = requests.post(f"{self.base_url}/__sandbox__/{path}", json=body, timeout=600)
        resp.raise_for_status()
        return resp.json() if resp.content else {}

    # What :mod:`floor` needs of a sandbox.
    client_id = "bench"

    @property
    def auth(self) -> tuple[str, str]:
        return (f"sandbox+{self.public_key}", self.private_key)

    def set_options(self, **options) -> dict:
        return self.control("options", options)

    def clear_requests(self) -> None:
        requests.delete(f"{self.base_url}/__sandbox__/requests", timeout=60).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.base_url}/__sandbox__/faults", timeout=60).raise_for_status()

    def requests(self) -> list[dict]:
        resp = requests.get(f"{self.base_url}/__sandbox__/requests", timeout=600)
        resp.raise_for_status()
        return resp.json()

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.base_url}/v2025_1/apis/3.0/{path}",
                                auth=(f"sandbox+{self.public_key}", self.private_key),
                                headers={"clientId": "bench"}, timeout=60, **kw)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# --- child phases (each in a fresh process) -------------------------------------------------------


def _app(db_name: str, fresh: bool = True):
    from helpers import make_test_app

    url = fresh_database(db_name) if fresh else database_url(db_name)
    return make_test_app(url)


def _connect(sandbox_url: str, public: str, private: str) -> None:
    from colcw_plugin.setup.connection import ConnectionInput, save_connection
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    seed_reference(db.session)
    data = ConnectionInput(site_url=sandbox_url, company_id="sandbox", auth_mode="api_keys", user=public,
                           secret=private, client_id="bench", allow_http=True)
    save_connection(db.session, runtime().box, data, actor="bench", http_allowed_by_config=True)
    db.session.commit()


def _run(kind: str, params: dict) -> dict:
    from colcw_plugin.setup.connection import build_client
    from colcw_plugin.sync.jobs.runs import create_run
    from host_stub.extensions import db

    run = create_run(db.session, runtime().kinds, kind, params, trigger="cli")
    db.session.commit()
    client = build_client(db.session, runtime().box, rate_limit_per_minute=None)
    client.discover()
    client.stats.reset()
    before = row_versions(db.session, DATA_TABLES)
    memory = PeakMemory()
    postgres_start = cpu.postgres_seconds()
    start, cpu_start, thread_start = time.perf_counter(), time.process_time(), time.thread_time()
    done = runtime().execute(db.session, run.id, client=client)
    elapsed, own = time.perf_counter() - start, time.process_time() - cpu_start
    main_thread = time.thread_time() - thread_start
    postgres_end = cpu.postgres_seconds()
    memory.stop()
    writes = rows_written(before, row_versions(db.session, DATA_TABLES))
    by_path: dict[str, int] = {}
    for key, n in client.stats.counts.items():
        label = " ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        by_path[label] = by_path.get(label, 0) + n
    client.close()
    return {"status": done.status, "counts": done.counts, "requests": client.stats.total, "by_path": by_path,
            "seconds": round(elapsed, 3), "cpu_seconds": round(own, 3), "main_thread_cpu_seconds": round(main_thread, 3),
            "postgres_cpu_seconds": (None if postgres_start is None or postgres_end is None
                                     else round(postgres_end - postgres_start, 3)),
            "writes": writes, "rss_before_mb": round(memory.start, 1),
            "rss_peak_mb": round(memory.peak, 1), "rss_growth_mb": round(memory.peak - memory.start, 1)}


def phase_import(args) -> dict:
    app = _app("colcw_bench_customers", fresh=not args.again)
    with app.app_context():
        if not args.again:
            _connect(args.sandbox, args.public, args.private)
        return _run("customer_import", {"mode": "all"})


def phase_export(args) -> dict:
    from colcw_plugin.cw import conditions as C
    from colcw_plugin.models import RepMapping
    from colcw_plugin.setup.connection import build_client
    from host_stub.extensions import db
    from host_stub.models import StoreSite
    from host_stub.seed import seed_demo

    # A database of its own: the import's phases (and whoever runs them at the same time) keep theirs.
    app = _app("colcw_bench_customer_export")
    with app.app_context():
        _connect(args.sandbox, args.public, args.private)
        seed_demo(db.session, customers=args.customers, quotes=0)
        with build_client(db.session, runtime().box) as client:
            member = client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
        store = db.session.query(StoreSite).first()
        db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
        db.session.commit()
        return _run("customer_export", {"all": True})


# --- the parent -----------------------------------------------------------------------------------


def child(phase: str, sandbox: Sandbox, *, tree: Path = ROOT, **extra) -> dict:
    """``phase`` run in a fresh process with the code of ``tree`` (this checkout, or another one's: --against)."""
    script = Path(__file__).resolve() if tree == ROOT else tree / "bench" / "bench_customers.py"
    cmd = [sys.executable, str(script), "--phase", phase, "--sandbox", sandbox.base_url, "--public",
           sandbox.public_key, "--private", sandbox.private_key] + [f"--{k.replace('_', '-')}={v}"
                                                                   for k, v in extra.items()]
    sandbox_start = cpu.process_seconds(sandbox.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tree)
    sandbox_end = cpu.process_seconds(sandbox.proc.pid)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # The sandbox's processor time over the child's whole life: its run's requests and the few of its set-up.
    result["sandbox_cpu_seconds"] = (None if sandbox_start is None or sandbox_end is None
                                     else round(sandbox_end - sandbox_start, 3))
    return result


def best(rounds: list[dict]) -> dict:
    """Of several rounds of one measure, the fastest (its other figures with it), with the least floor of all
    rounds: each side's best, as the machine's load allowed it (the load moves both by a fifth from run to run)."""
    fastest = dict(min(rounds, key=lambda r: r["seconds"]))
    fastest["floor"] = min(r["floor"] for r in rounds)
    fastest["rounds"] = [(r["seconds"], r["floor"]) for r in rounds]
    fastest["most_writes"] = max(sum(r.get("writes", {}).values()) for r in rounds)  # of any round
    return fastest


def bench_import(companies: int, per_company: float, *, again: bool = False, rounds: int = 1,
                 latency_ms: int = 0, against: Path | None = None) -> dict:
    """Import ``companies`` (and, with ``again``, import them again unchanged), each with its floor; each
    measure ``rounds`` times (:func:`best`: the first import into an empty database each time). With
    ``again`` and ``latency_ms``, a first import and the unchanged one once more each with that latency on every
    request, as against a real tenant (its companies' and contacts' pages are read side by side). With ``against``
    (another checkout, say a ``git worktree`` of the revision before a change), each round of the first import is
    also run with that checkout's code, beside this one's on the same sandbox, each side first every other round:
    the two alternate, so the machine's load moves both alike (``result["against"]``)."""
    sandbox = Sandbox()
    try:
        # Records last changed a day ago, as a nightly import meets most of a tenant (a record changed in the
        # two minutes before an import is compared field by field on the next one: see company_import.SETTLED).
        made = sandbox.control("generate", {"companies": companies, "contacts_per_company": per_company,
                                            "age_minutes": 1440})
        firsts, theirs = [], []
        for n in range(rounds):
            sides = [(ROOT, firsts), *(((against, theirs),) if against is not None else ())]
            for tree, into in (sides if n % 2 == 0 else sides[::-1]):  # each side first every other round
                floor.start_recording(sandbox)
                first = child("import", sandbox, tree=tree)
                first["floor"] = floor.replay(sandbox, floor.recorded(sandbox))
                into.append(first)
        result = {**made, **best(firsts)}
        if theirs:
            result["against"] = best(theirs)
        if again and latency_ms:
            # A first import against a tenant that answers in latency_ms, into an empty database again (it leaves
            # the database as the first imports above do, so the unchanged imports below find the same data).
            result["first_slow"] = _with_latency(sandbox, latency_ms, "import")
        if again:
            agains = []
            for _ in range(rounds):
                floor.start_recording(sandbox)
                second = child("import", sandbox, again=1)
                second["floor"] = floor.replay(sandbox, floor.recorded(sandbox))
                agains.append(second)
            result["again"] = best(agains)
            if latency_ms:
                result["again_slow"] = _with_latency(sandbox, latency_ms, "import", again=1)
        return result
    finally:
        sandbox.stop()


def _with_latency(sandbox: Sandbox, latency_ms: int, phase: str, **extra) -> dict:
    """``phase`` run once with ``latency_ms`` on every API request, as against a real tenant; its floor is the same
    requests replayed one after another, each with that latency too."""
    sandbox.control("faults", {"latency_ms": latency_ms, "path": "apis/3.0/"})
    try:
        floor.start_recording(sandbox)
        slow = child(phase, sandbox, **extra)
        slow["floor"] = floor.replay(sandbox, floor.recorded(sandbox))
    finally:
        sandbox.clear_faults()
    return slow


def _states(sandbox: Sandbox) -> None:
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    for code, name in CANADA:  # user guide §4.1 step 7
        sandbox.api("POST", "company/states", json={"identifier": code, "name": name, "country": {"id": canada["id"]}})


def bench_export(customers: int, rounds: int = 1) -> dict:
    """Export to an empty tenant; the floor replays its requests on another empty tenant, set up alike. Each
    round on new tenants and a new host database (:func:`best`)."""
    return best([_export_round(customers) for _ in range(rounds)])


def _export_round(customers: int) -> dict:
    sandbox = Sandbox()
    try:
        _states(sandbox)
        floor.start_recording(sandbox)
        result = child("export", sandbox, customers=customers)
        sent = floor.recorded(sandbox)
    finally:
        sandbox.stop()
    twin = Sandbox()
    try:
        _states(twin)
        # A fresh tenant set up alike gives the same ids, which the recorded paths and bodies name.
        result["floor"] = floor.replay(twin, sent)
        statuses = [e["status"] for e in twin.requests() if floor.API in e["path"]]
        result["floor_failures"] = sum(1 for st in statuses if st >= 400)
        return result
    finally:
        twin.stop()


def report(title: str, r: dict) -> None:
    print(f"\n{title}")
    records = sum(v for k, v in (r.get("counts") or {}).items())
    print(f"  status {r['status']}, results {r['counts']}")
    print(f"  ConnectWise requests: {r['requests']}  ({', '.join(f'{k}: {v}' for k, v in r['by_path'].items())})")
    print(f"  {floor.ratio_line('wall time', r['seconds'], r['floor'])} ({records / max(r['seconds'], 0.001):.0f} "
          "records/s)")
    if len(r.get("rounds", ())) > 1:
        print("  rounds (wall s / floor s): " + ", ".join(f"{a:.2f} / {b:.2f}" for a, b in r["rounds"])
              + "; the best of each is compared")
    print("  " + cpu_line(r))
    print(f"  writes to the host and the links: {sum(r['writes'].values())} {r['writes']}")
    print(f"  peak memory {r['rss_peak_mb']} MB; growth during the run {r['rss_growth_mb']} MB "
          f"(process at {r['rss_before_mb']} MB before)")


def cpu_line(r: dict) -> str:
    """The processor time of the run's three processes, and the least wall time it allows on this machine."""
    def seconds(key: str) -> str:
        return "unknown" if r.get(key) is None else f"{r[key]:.2f} s"

    line = (f"CPU during the run: colcw {seconds('cpu_seconds')} (its main thread {seconds('main_thread_cpu_seconds')}), "
            f"PostgreSQL {seconds('postgres_cpu_seconds')}, the sandbox {seconds('sandbox_cpu_seconds')} (with the "
            f"run's set-up requests)")
    least = _least_wall(r)
    if least is not None:
        line += (f"; on {cpu.cores()} cores at least {least:.2f} s of wall time, {least / r['floor']:.2f}x the floor; "
                 f"the main thread alone {r['main_thread_cpu_seconds'] / r['floor']:.2f}x")
    return line


def _least_wall(r: dict) -> float | None:
    """The least wall time the processor time of the run's three processes allows on this machine's cores."""
    return cpu.least_wall(r.get("cpu_seconds"), r.get("postgres_cpu_seconds"), r.get("sandbox_cpu_seconds"))


def least_wall_row(r: dict, order: float) -> Row | None:
    """That least wall time as a row of the table (none: not known here)."""
    least = _least_wall(r)
    if least is None:
        return None
    return Row(f"… the least wall time its processor time allows on this machine's {cpu.cores()} cores (colcw "
               f"{r['cpu_seconds']:.2f} s, its main thread {r['main_thread_cpu_seconds']:.2f} s of it; PostgreSQL "
               f"{r['postgres_cpu_seconds']:.2f} s; the sandbox {r['sandbox_cpu_seconds']:.2f} s)", f"{least:.2f} s",
               f"{r['floor']:.2f} s", f"{least / r['floor']:.2f}x", order=order)


def reads(r: dict) -> int:
    return sum(n for k, n in r["by_path"].items() if k.startswith("GET"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--contacts-per-company", type=float, default=2.5)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--sweep", default="2500,10000,40000")
    parser.add_argument("--rounds", type=int, default=3, help="measure each import and the export this many times")
    parser.add_argument("--latency-ms", type=int, default=50,
                        help="latency on every request for one more first and unchanged import each (0: none)")
    parser.add_argument("--first-only", action="store_true",
                        help="only the first import of --companies companies (--rounds times, the best of each side "
                             "compared), reported and not saved: to measure a change to it without the whole bench")
    parser.add_argument("--against", type=Path,
                        help="with --first-only: another checkout (a git worktree of the revision before a change) "
                             "whose code imports too, alternating with this one's round by round, reported beside it")
    parser.add_argument("--phase", choices=["import", "export"])
    parser.add_argument("--again", type=int, default=0)
    parser.add_argument("--sandbox")
    parser.add_argument("--public")
    parser.add_argument("--private")
    args = parser.parse_args()
    if args.phase:
        result = phase_import(args) if args.phase == "import" else phase_export(args)
        print(json.dumps(result))
        return 0
    if args.first_only:
        against = args.against.resolve() if args.against else None
        r = bench_import(args.companies, args.contacts_per_company, rounds=args.rounds, against=against)
        report(f"Import {r['companies']} companies with {r['contacts']} contacts", r)
        if "against" in r:
            theirs = r["against"]
            report(f"The same with the code of {against} (alternating with this checkout's)", theirs)
            print(f"\nThis checkout against {against}: best wall {r['seconds']:.2f} s vs {theirs['seconds']:.2f} s "
                  f"({r['seconds'] / theirs['seconds']:.2f}x); colcw CPU {r['cpu_seconds']:.2f} s vs "
                  f"{theirs['cpu_seconds']:.2f} s; rounds (wall s, this / that): "
                  + ", ".join(f"{a[0]:.2f} / {b[0]:.2f}" for a, b in zip(r["rounds"], theirs["rounds"], strict=True)))
        return 0
    rows: list[Row] = []
    sweep = sorted({int(n) for n in args.sweep.split(",") if n} | {args.companies})
    runs = {}
    for n in sweep:
        runs[n] = bench_import(n, args.contacts_per_company, again=n == args.companies, rounds=args.rounds,
                               latency_ms=args.latency_ms)
        r = runs[n]
        report(f"Import {r['companies']} companies with {r['contacts']} contacts", r)
    full, small = runs[args.companies], runs[sweep[0]]
    again = full["again"]
    report(f"Import the same {full['companies']} companies again, unchanged", again)
    label = f"{full['companies']:,} companies + {full['contacts']:,} contacts"
    rows.append(ratio_row(f"customer import of {label} (floor: its requests replayed alone)", full["seconds"],
                          full["floor"], 3, order=100))
    rows.append(count_row(f"customer import of {label}: ConnectWise requests", full["requests"], 40, order=101))
    rows.append(ratio_row(f"customer import of {label} again, unchanged", again["seconds"], again["floor"], 2,
                          order=102))
    rows.append(count_row("… rows it writes to host records and links", again["most_writes"], 0, order=103))
    for r, order in ((full, 100.2), (again, 102.2)):
        if (row := least_wall_row(r, order)) is not None:
            rows.append(row)
    for key, what, order in (("first_slow", "into an empty database", 100.5), ("again_slow", "again, unchanged", 103.5)):
        if key not in full:
            continue
        slow = full[key]
        report(f"Import them {what}, {args.latency_ms} ms latency on every request", slow)
        rows.append(Row(f"… with {args.latency_ms} ms latency on every request, as against a real tenant (floor: its "
                        f"{slow['requests']} requests one after another)", f"{slow['seconds']:.2f} s",
                        f"{slow['floor']:.2f} s", f"{slow['seconds'] / slow['floor']:.2f}x", order=order))
    large = runs[sweep[-1]]
    print("\nMemory growth: " + ", ".join(f"{n:,}: {runs[n]['rss_growth_mb']} MB" for n in sweep))
    growth = (large["rss_growth_mb"], small["rss_growth_mb"])
    rows.append(Row(f"customer import: memory growth during the run at {sweep[-1]:,} vs {sweep[0]:,} companies",
                    f"{growth[0]} MB", f"{growth[1]} MB", f"{growth[0] / max(growth[1], 1):.2f}x",
                    "flat: ≤ 1.5x", growth[0] <= 1.5 * max(growth[1], 1), 104))
    if len(sweep) > 2:  # the largest against the next smaller one: both past the reading ahead's filling up
        mid = runs[sweep[-2]]["rss_growth_mb"]
        rows.append(Row(f"… at {sweep[-1]:,} vs {sweep[-2]:,} companies (both past the reading ahead's "
                        f"filling up)", f"{growth[0]} MB", f"{mid} MB",
                        f"{growth[0] / max(mid, 1):.2f}x", order=104.5))
    per = {n: runs[n]["seconds"] / runs[n]["companies"] for n in sweep}
    print("\nLinearity: " + ", ".join(f"{n:,}: {per[n] * 1000:.2f} ms per company" for n in sweep))
    worst = max(per.values()) / per[sweep[0]]
    rows.append(Row(f"customer import: time per company from {sweep[0]:,} to {sweep[-1]:,} companies (linear)",
                    f"{max(per.values()) * 1000:.2f} ms", f"{per[sweep[0]] * 1000:.2f} ms", f"{worst:.2f}x",
                    "≤ 1.25x", worst <= 1.25, 105))
    r_export = bench_export(args.customers, rounds=args.rounds)
    report(f"Export {args.customers} customers with their contacts to an empty tenant", r_export)
    if r_export["floor_failures"]:
        print(f"  (the floor's replay had {r_export['floor_failures']} failed requests)")
    rows.append(ratio_row(f"customer export of {args.customers:,} customers with their contacts to an empty tenant "
                          f"({r_export['requests']:,} requests)", r_export["seconds"], r_export["floor"], 1.3,
                          order=110))
    rows.append(count_row("… its reads (GET requests)", reads(r_export), 3, order=111))
    save("bench_customers", rows)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
