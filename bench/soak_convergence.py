"""Soak: runs converge by themselves under faults and repeated worker kills (issue 11; not a test).

    python bench/soak_convergence.py [--scale 10] [--workers 3] [--kill-every 15] [--timeout 1800]

At ``--scale 10`` it is ten times the CI fault test (``tests/jobs/test_fault_convergence.py``): 600
customers, 1,500 contacts and 400 quotes of 3 lines, exported by ``--workers`` real ``colcw worker``
processes and a ``colcw scheduler`` while about a fifth of the sandbox's answers fail (429, 500, 503,
dropped connections, writes that hang past the read timeout and are applied all the same); every
``--kill-every`` seconds one worker is SIGKILLed with its work horse and a new one started. Nobody
presses Retry or Resume. Prints the time to converge, the ConnectWise requests, duplicates (must be
0), missing records and lines (must be 0) and the runs whose counts do not add up (must be none);
exits 1 when any of those is not so.

Needs PostgreSQL (``TEST_PG_ADMIN_URL``, default postgres@127.0.0.1) and ``redis-server`` (a private one
is started on a free port); the sandbox runs in this process.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "jobs")]

import fault_world  # noqa: E402
from databases import fresh_database  # noqa: E402
from jobs_support import Processes, worker_env  # noqa: E402

from helpers import configure_sandbox_connection, make_test_app, runtime  # noqa: E402

DB_NAME = "colcw_soak_convergence"
ADMIN = {"id": None, "email": "soak@bench.example", "role": "admin"}
SETTINGS = {"COLCW_RETRY_INTERVALS": "2,3,5,5,10,10,15,15,20,20,30,30", "COLCW_RECORD_RETRY_INTERVALS": "1,3",
            "COLCW_UNREACHABLE_AFTER": "4", "COLCW_LIVENESS_SECONDS": "2", "COLCW_INTERRUPTED_AFTER_SECONDS": "4",
            "COLCW_LOST_AFTER_SECONDS": "5", "COLCW_CW_READ_TIMEOUT": "1", "COLCW_CONCURRENCY": "3",
            "COLCW_RATE_LIMIT_PER_MINUTE": "100000", "COLCW_AUTO_RESUMES": "20"}




def private_redis(workdir: str) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()

    from colcw_plugin.models import FINAL_RUN_STATUSES, SyncRun
    from cw_sandbox.testing import SandboxServer
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    workdir = tempfile.mkdtemp(prefix="colcw-soak-")
    redis_proc, redis_url = private_redis(workdir)
    sandbox = SandboxServer(seed="empty", requests_per_minute=None, max_in_flight=None)
    procs = Processes()
    app = make_test_app(fresh_database(DB_NAME), redis_url)
    try:
        with app.app_context():
            seed_reference(db.session)
            db.session.commit()
            configure_sandbox_connection(sandbox, runtime().box)
            world = fault_world.build(sandbox, customers=60 * args.scale, contacts=150 * args.scale,
                                      documents=40 * args.scale)
            print(f"built {len(world.customers)} customers, {sum(len(c) for c in world.contacts.values())} contacts, "
                  f"{len(world.documents)} quotes", flush=True)
            env = worker_env(app, **SETTINGS)
            workers = [procs.start(["colcw", "worker"], env) for _ in range(args.workers)]
            procs.start(["colcw", "scheduler", "--interval", "1"], env)
            fault_world.arm_faults(sandbox)
            sandbox.clear_requests()
            started = time.monotonic()
            kills = 0
            rng = random.Random(11)

            def converge(run_ids: list[int]) -> None:
                nonlocal kills
                last_kill = time.monotonic()
                while True:
                    db.session.expire_all()
                    if all(db.session.get(SyncRun, r).status in FINAL_RUN_STATUSES for r in run_ids):
                        return
                    if time.monotonic() - started > args.timeout:
                        raise SystemExit(f"not converged after {args.timeout:.0f} s")
                    if time.monotonic() - last_kill >= args.kill_every:
                        victim = workers.pop(rng.randrange(len(workers)))
                        procs.kill(victim)
                        workers.append(procs.start(["colcw", "worker"], env))
                        kills += 1
                        last_kill = time.monotonic()
                    time.sleep(0.5)

            ids = sorted(world.customers)
            parts = 2 * args.workers
            customer_runs = [runtime().submit(db.session, "customer_export",
                                              {"customer_ids": ids[k::parts], "selected": True}, actor=ADMIN).run.id
                             for k in range(parts)]
            converge(customer_runs)
            customers_done = time.monotonic() - started
            docs = fault_world.documents_of(world)
            quote_runs = [runtime().submit(db.session, "quote_export",
                                           {"document_ids": docs[k::parts], "selected": True}, actor=ADMIN).run.id
                          for k in range(parts)]
            converge(quote_runs)
            seconds = time.monotonic() - started
            requests = len(sandbox.requests())
            sandbox.clear_faults()
            problems = fault_world.run_problems(customer_runs + quote_runs)
            found = fault_world.audit(sandbox, world)
            db.session.expire_all()
            attempts = sum(db.session.get(SyncRun, r).attempts for r in customer_runs + quote_runs)
    finally:
        procs.stop_all()
        sandbox.stop()
        redis_proc.terminate()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"time to converge: {seconds:.1f} s (customers {customers_done:.1f} s, quotes {seconds - customers_done:.1f} s)")
    print(f"workers killed: {kills}; run attempts: {attempts} for {len(customer_runs) + len(quote_runs)} runs")
    print(f"requests: {requests} (faults included)")
    print(f"duplicates: {found['duplicates']} (must be 0)")
    print(f"missing: {found['missing']} (must be 0)")
    print(f"runs whose counts do not add up or that did not succeed: {len(problems)} (must be 0)")
    for p in problems:
        print("  " + p)
    return 0 if not problems and found["duplicates"] == 0 and found["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
