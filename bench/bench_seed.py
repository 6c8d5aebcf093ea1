"""Time `flask --app host_stub seed-demo --customers N` on PostgreSQL (target: 10,000 in under 60 s).

    python bench/bench_seed.py [N]       # PostgreSQL from TEST_PG_ADMIN_URL, default 127.0.0.1 as postgres
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from databases import database_url, fresh_database
from results import Row, save


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    fresh_database("colcw_bench_seed")  # (dropped as the bench exits)
    env = dict(os.environ, DATABASE_URL=database_url("colcw_bench_seed"))
    flask = str(Path(sys.executable).parent / "flask")
    subprocess.run([flask, "--app", "host_stub", "upgrade-db"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    out = subprocess.run([flask, "--app", "host_stub", "seed-demo", "--customers", str(n)], env=env, check=True,
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    print(out.stdout.strip().splitlines()[-1])
    print(f"seed-demo --customers {n} on PostgreSQL: {elapsed:.1f} s wall time (target < 60 s), "
          f"{n / elapsed:,.0f} customers/s")
    save("bench_seed", [Row(f"`seed-demo --customers {n:,}` on PostgreSQL", f"{elapsed:.1f} s", target="< 60 s",
                            met=elapsed < 60, order=900)])
    return 0 if elapsed < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
