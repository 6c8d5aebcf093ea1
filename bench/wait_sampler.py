"""Where a first import's main thread spends its wall time (not a test; issue 14).

    python bench/wait_sampler.py [--companies 10000] [--interval-ms 2] [--rounds 1] [--tree PATH] [--trace]

Runs a first import as bench_customers does (sandbox in its own process, a fresh database of its own run, the rate
limiter off), with a thread sampling the main thread's
stack every ``--interval-ms`` and reading its CPU clock. Each interval's wall time goes to what the main thread was
in at the interval's end: a PostgreSQL statement (by kind and the colcw/host function that sent it), a wait on a
reading thread's queue (the next page), or Python code; the main thread's CPU time in the interval tells whether it
ran or was off its CPU (blocked in a call that releases the GIL, or waiting for the GIL another thread holds).
Read the "off" column: the sampler can only run when the main thread lets go of the GIL, so the CPU of the Python
before a statement is often counted on that statement's row. Also printed: each page's wait for the reader, when
the first page was taken, and the statements sent (COPY streams aside). ``--trace``: the requests, decodes and
pages in time order (ms from the run's start, by thread). ``--tree``: another checkout's code (a ``git worktree``),
to compare with this one's; run one at a time, alternating."""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TREE = Path(__import__("os").environ.get("WAIT_SAMPLER_TREE", str(ROOT)))
sys.path[:0] = [str(_TREE / "bench"), str(_TREE), str(_TREE / "tests")]


def _sql_kind(sql: str) -> str:
    s = " ".join(str(sql).split())[:160].lower()
    for word in ("copy", "insert into", "update", "delete from", "select pg_try_advisory", "select pg_advisory",
                 "analyze", "commit", "begin"):
        if s.startswith(word) or word in s[:40]:
            table = ""
            for t in ("colcw_links", "customers", "contacts", "record_drift", "colcw_sync", "colcw_run"):
                if t in s:
                    table = t
                    break
            return f"{word} {table}".strip()
    if s.startswith("select") or s.startswith("with"):
        m = __import__("re").findall(r" from \(?([a-z_]+)", s)
        frm = m[0] if m else s[:50]
        lock = " for update" if "for update" in s else ""
        return f"select {frm}{lock}"
    return s[:40]


def classify(frame) -> str:
    k = _classify(frame)
    if k.startswith("pg"):
        f = frame
        while f is not None:
            fn = f.f_code.co_filename
            if ("/colcw_plugin/" in fn or "/host_stub/" in fn) and f.f_code.co_name not in (
                    "insert_rows", "among", "_before_statement", "_read_copy_end", "on_postgresql", "by_cw", "by_host"):
                return k + "  @" + f.f_code.co_name
            f = f.f_back
    return k


def _classify(frame) -> str:
    stack = []
    f = frame
    while f is not None:
        stack.append(f)
        f = f.f_back
    names = [(f.f_code.co_filename, f.f_code.co_name) for f in stack]
    # innermost first
    for fn, name in names:
        if "psycopg" in fn:
            # find the statement
            for g in stack:
                loc = g.f_locals if g.f_code.co_name in ("execute", "do_execute", "_execute", "copy") else None
                if loc is None:
                    continue
                for key in ("statement", "query", "statement_"):
                    if key in loc and isinstance(loc[key], (str, bytes)):
                        q = loc[key].decode() if isinstance(loc[key], bytes) else loc[key]
                        return "pg: " + _sql_kind(q)
                if "statement" in loc:
                    return "pg: " + _sql_kind(str(loc["statement"]))
            if any(n == "commit" for _, n in names):
                return "pg: commit"
            if any(n == "rollback" for _, n in names):
                return "pg: rollback"
            return "pg: other (" + "/".join(n for _, n in names[:6]) + ")"
        if fn.endswith("threading.py") or fn.endswith("queue.py"):
            outer = [n for (ffn, n) in names if "prefetch" in ffn or "paging" in ffn or "importer" in ffn]
            return "wait: " + name + " <- " + ("/".join(outer[:2]) or "?")
        if "redis" in fn:
            return "redis"
        if "/http/client.py" in fn or "urllib3" in fn or "requests" in fn:
            return "http (main thread)"
    # Python code: the innermost colcw/host frame
    for fn, name in names:
        if "/colcw_plugin/" in fn or "/host_stub/" in fn:
            return "py: " + fn.split("/")[-1] + ":" + name
    return "py: " + names[0][0].split("/")[-1] + ":" + names[0][1]


def stage(frame) -> str:
    f = frame
    found = []
    while f is not None:
        n = f.f_code.co_name
        if n in ("_read_page", "_save_page", "untouched", "_take_exports", "save_customers", "flush", "commit",
                 "_refresh_statistics", "stop_if_requested", "record", "record_all", "tally", "collect_cycles",
                 "companies_locked", "__next__", "prepare", "finish", "_lock_links", "_snapshots"):
            found.append(n)
        f = f.f_back
    return "/".join(reversed(found[-3:])) if found else "-"


class Sampler:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.main = threading.main_thread().ident
        self.clock = time.pthread_getcpuclockid(self.main)
        self.wall = collections.Counter()
        self.cpu = collections.Counter()
        self.stage_wall = collections.Counter()
        self.stage_cpu = collections.Counter()
        self.n = 0
        self._stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True, name="sampler")

    def start(self):
        self.t.start()

    def stop(self):
        self._stop.set()
        self.t.join()

    def _run(self):
        last_w = time.perf_counter()
        last_c = time.clock_gettime(self.clock)
        while not self._stop.is_set():
            time.sleep(self.interval)
            frame = sys._current_frames().get(self.main)
            w = time.perf_counter()
            c = time.clock_gettime(self.clock)
            dw, dc = w - last_w, c - last_c
            last_w, last_c = w, c
            if frame is None:
                continue
            k = classify(frame)
            s = stage(frame)
            del frame
            self.wall[k] += dw
            self.cpu[k] += min(dc, dw)
            self.stage_wall[s] += dw
            self.stage_cpu[s] += min(dc, dw)
            self.n += 1


def phase(args) -> dict:
    import bench_customers as B

    app = B._app("colcw_bench_customers", fresh=True)
    with app.app_context():
        B._connect(args.sandbox, args.public, args.private)
        from helpers import runtime
        rt = runtime()
        real = rt.execute
        sampler = Sampler(args.interval_ms / 1000)
        out = {}

        def execute(*a, **kw):
            t0, c0 = time.perf_counter(), time.thread_time()
            sampler.start()
            try:
                return real(*a, **kw)
            finally:
                sampler.stop()
                out["wall"] = time.perf_counter() - t0
                out["main_cpu"] = time.thread_time() - c0

        rt.execute = execute
        from colcw_plugin.sync.shared import prefetch
        waits = out.setdefault("next_waits", [])
        real_next = prefetch.Reader.__next__

        def timed_next(self):
            t = time.perf_counter()
            try:
                return real_next(self)
            finally:
                waits.append(round(time.perf_counter() - t, 4))

        prefetch.Reader.__next__ = timed_next
        from colcw_plugin.cw import paging
        trace = out.setdefault("trace", [])
        t_base = [None]

        def mark(what):
            if t_base[0] is not None:
                trace.append((round((time.perf_counter() - t_base[0]) * 1000, 1), threading.current_thread().name, what))

        from colcw_plugin.cw import client as _cl
        real_req = _cl.ConnectWiseClient.request if hasattr(_cl, "ConnectWiseClient") else None

        def req(self, method, path, **kw):
            u = path + str((kw.get("params") or {}).get("page", "")) + str((kw.get("params") or {}).get("pageId", ""))
            mark("http> " + u)
            try:
                return real_req(self, method, path, **kw)
            finally:
                mark("http< " + u)

        if real_req is not None:
            _cl.ConnectWiseClient.request = req
        real_rows = paging._rows

        def rows(resp, path):
            mark("decode> " + path)
            try:
                return real_rows(resp, path)
            finally:
                mark("decode<")

        paging._rows = rows
        from colcw_plugin.sync.customers import importer as imp
        real_page = imp.CompanyImporter._page

        def page(self, *a, **kw):
            mark("page>")
            try:
                return real_page(self, *a, **kw)
            finally:
                mark("page<")

        imp.CompanyImporter._page = page
        real_exec = execute

        def execute2(*a, **kw):
            t_base[0] = time.perf_counter()
            return real_exec(*a, **kw)

        rt.execute = execute2
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        stmts = collections.Counter()

        def count_statement(conn, cursor, statement, parameters, context, executemany):
            if t_base[0] is not None:
                stmts[_sql_kind(statement)] += 1

        event.listen(Engine, "before_cursor_execute", count_statement)
        out["statements"] = stmts
        try:
            r = B._run("customer_import", {"mode": "all"})
        finally:
            rt.execute = real
        r.update(out)
        r["samples"] = sampler.n
        r["by_kind"] = {k: [round(v, 4), round(sampler.cpu[k], 4)] for k, v in sampler.wall.most_common()}
        r["by_stage"] = {k: [round(v, 4), round(sampler.stage_cpu[k], 4)] for k, v in sampler.stage_wall.most_common()}
        return r


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--companies", type=int, default=10000)
    p.add_argument("--interval-ms", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--tree", type=Path, default=ROOT)
    p.add_argument("--phase", action="store_true")
    p.add_argument("--trace", action="store_true")
    p.add_argument("--sandbox"), p.add_argument("--public"), p.add_argument("--private")
    args = p.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return 0
    import bench_customers as B
    sb = B.Sandbox()
    try:
        sb.control("generate", {"companies": args.companies, "contacts_per_company": 2.5, "age_minutes": 1440})
        for _ in range(args.rounds):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", "--sandbox", sb.base_url, "--public",
                   sb.public_key, "--private", sb.private_key, f"--interval-ms={args.interval_ms}"]
            env = dict(__import__("os").environ, WAIT_SAMPLER_TREE=str(args.tree.resolve()))
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=args.tree, env=env)
            if out.returncode:
                print(out.stderr[-3000:])
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"wall {r['wall']:.3f} s  main cpu {r['main_cpu']:.3f} s  colcw cpu {r['cpu_seconds']}  "
                  f"pg cpu {r['postgres_cpu_seconds']}  samples {r['samples']}")
            first = next((t for t, th, w in r["trace"] if w == "page>"), None)
            print("reader waits:", r.get("next_waits"), "first page taken at", first, "ms")
            if args.trace:
                for t in r["trace"]:
                    print(*t)
            print("statements:", sum(r["statements"].values()), dict(sorted(r["statements"].items(), key=lambda kv: -kv[1])))
            print(f"{'wall s':>8} {'cpu s':>7} {'off s':>7}  kind")
            for k, (w, c) in r["by_kind"].items():
                if w >= 0.004:
                    print(f"{w:8.3f} {c:7.3f} {w - c:7.3f}  {k}")
            groups, gc = collections.Counter(), collections.Counter()
            for k, (w, c) in r["by_kind"].items():
                g = k.split(":")[0]
                groups[g] += w
                gc[g] += c
            print("-- by group")
            for g, w in groups.most_common():
                print(f"{w:8.3f} {gc[g]:7.3f} {w - gc[g]:7.3f}  {g}")
            print("-- by stage")
            for k, (w, c) in r["by_stage"].items():
                if w >= 0.004:
                    print(f"{w:8.3f} {c:7.3f} {w - c:7.3f}  {k}")
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
