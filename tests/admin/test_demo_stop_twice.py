"""``make demo`` stopped by a signal sent twice (``kill -TERM -- -<pgid>`` repeated, Ctrl-C pressed again while it says
"Stopping the demo..."): the second signal does not interrupt the stop, and every process the demo started (the
host, the worker, the scheduler, the sandbox, its redis-server) is gone, none left running under PID 1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.processes, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (state, ppid, ...; field 22, the start time, is
    [19]); None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started directly (from /proc), with their start times (a pid reused later is not it)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and int(stat[1]) == pid:
            found[int(entry.name)] = stat[19]
    return found


def _alive(started: dict[int, str]) -> set[int]:
    return {pid for pid, since in started.items()
            if (stat := _stat(pid)) is not None and stat[19] == since and stat[0] != "Z"}


@pytest.mark.skipif(not shutil.which("redis-server") or not sys.platform.startswith("linux"),
                    reason="the demo starts its own redis-server; /proc is read to find its children")
def test_a_second_sigterm_while_the_demo_stops_leaves_no_child_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "SANDBOX_PORT")}
    # (a data directory whose parents do not exist yet: the demo makes them, as `mkdir -p` would)
    env.update(HOST_DATA_DIR=str(tmp_path / "not" / "yet"), PORT=str(_free_port()), PYTHONUNBUFFERED="1")
    log = tmp_path / "demo.log"
    started: dict[int, str] = {}
    with log.open("w") as out:
        # Its own process group, as `make demo` run from a shell: kill -TERM -- -<pgid> reaches all of it.
        demo = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py")], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while "colcw demo is running" not in log.read_text():
                assert demo.poll() is None and time.monotonic() < deadline, log.read_text()
                started |= _children(demo.pid)
                time.sleep(0.2)
            time.sleep(2)  # the worker and the scheduler are up
            started |= _children(demo.pid)
            names = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in _alive(started)}
            for part in ("redis-server", "cw-sandbox", "colcw worker", "colcw scheduler", " run --port"):
                assert any(part in n for n in names), (part, names)

            os.killpg(demo.pid, signal.SIGTERM)
            time.sleep(0.3)  # "Stopping the demo...": it is stopping its children
            os.killpg(demo.pid, signal.SIGTERM)
            time.sleep(0.3)
            os.killpg(demo.pid, signal.SIGTERM)  # and a third
            assert demo.wait(timeout=90) == 0, log.read_text()
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _alive(started) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = _alive(started)
            for pid in left:  # (a failure leaves nothing behind either)
                os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert not left, f"left running: {left}\n{text}"
    assert "Stopping the demo..." in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
