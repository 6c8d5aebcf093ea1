"""Time `flask --app host_stub seed-demo --customers N` on PostgreSQL (target: 10,000 in under 60 s).

    python bench/bench_seed.py [N]       # PostgreSQL from BENCH_PG_ADMIN_URL, default 127.0.0.1 as postgres
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from results import Row, save
from sqlalchemy import create_engine, text

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = "colcw_bench_seed"


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    env = dict(os.environ, DATABASE_URL=ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}")
    flask = str(Path(sys.executable).parent / "flask")
    subprocess.run([flask, "--app", "host_stub", "upgrade-db"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    out = subprocess.run([flask, "--app", "host_stub", "seed-demo", "--customers", str(n)], env=env, check=True,
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
    print(out.stdout.strip().splitlines()[-1])
    print(f"seed-demo --customers {n} on PostgreSQL: {elapsed:.1f} s wall time (target < 60 s), "
          f"{n / elapsed:,.0f} customers/s")
    save("bench_seed", [Row(f"`seed-demo --customers {n:,}` on PostgreSQL", f"{elapsed:.1f} s", target="< 60 s",
                            met=elapsed < 60, order=900)])
    return 0 if elapsed < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
