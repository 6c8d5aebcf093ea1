"""The PostgreSQL databases the benches run on (one per bench, made fresh for each run), and a Redis of a
bench's own."""

from __future__ import annotations

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


def database_url(name: str) -> str:
    """The URL of database ``name`` on the bench's PostgreSQL server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def fresh_database(name: str) -> str:
    """Drop database ``name`` if it exists, create it empty, and return its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url(name)


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
