"""The PostgreSQL databases the benches run on (one per bench, made fresh for each run), and a Redis of a
bench's own.

A bench's databases are named for its run: the name given with the run's token after it (the process id of the
bench's first process, handed to the processes it starts in ``COLCW_BENCH_RUN``). Two benches at once, the same one
or two sharing a name, each drop and make only their own; the first process drops its run's databases as it exits."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

_SCRIPTS = str(Path(__file__).resolve().parent.parent / "scripts")  # the demo's helpers (a free port, a wait)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


RUN_ENV = "COLCW_BENCH_RUN"


def _run_token() -> str:
    """This bench run's token (see the module doc): its first process's id, made and handed down by that process."""
    token = os.environ.get(RUN_ENV)
    if not token:
        token = os.environ[RUN_ENV] = str(os.getpid())
        atexit.register(_drop_run, token)
    return token


def run_database(name: str) -> str:
    """The name of this run's database ``name``."""
    return f"{name}_{_run_token()}"


def database_url(name: str) -> str:
    """The URL of this run's database ``name`` on the bench's PostgreSQL server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{run_database(name)}"


def fresh_database(name: str) -> str:
    """Drop this run's database ``name`` if it exists, create it empty, and return its URL."""
    own = run_database(name)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own}"'))
    admin.dispose()
    return database_url(name)


def _drop_run(token: str) -> None:
    """Drop the databases of the run ``token`` (at its first process's exit; a server gone by then keeps them)."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                                 {"pattern": f"colcw\\_bench\\_%\\_{token}"}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    except Exception as e:  # noqa: BLE001 - a bench's exit says so and goes on
        print(f"(the bench's databases of run {token} were not dropped: {e})", file=sys.stderr)


# Made as the bench's first process imports this module, before it starts any other: they inherit it.
_run_token()


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A Redis server of the bench's own on a free port (never the machine's shared one): its URL, for
    as long as the block runs."""
    from demo import free_port, wait_for_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="colcw-bench-redis-") as workdir:
        proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc, "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
