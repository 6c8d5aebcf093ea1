"""``make demo``: Ctrl-C (or closing its terminal) stops everything it started, without a traceback, at any moment."""

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """Every process started (directly or not) by ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()
            and "Z" not in (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[:1] or ["Z"])}


# What the two workers and the scheduler print once they run (their stop handlers installed), then wait.
RUNNING = ("*** Listening on colcw-live, colcw...", "*** Listening on colcw-live...", "colcw scheduler (every")


def _wait_until_running(demo: subprocess.Popen, log: Path, started: set[int]) -> None:
    """Until the workers and the scheduler said they run, collecting the demo's children meanwhile."""
    deadline = time.monotonic() + 60
    while not all(line in log.read_text() for line in RUNNING):
        started |= _children(demo.pid)
        assert demo.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _assert_stopped_quietly(log: Path, started: set[int]) -> None:
    """No traceback, the demo said it stops, and nothing it started is left running."""
    text = log.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text and "Aborted!" not in text, text
    assert "Stopping the demo..." in text
    deadline = time.monotonic() + 10
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(started), f"left running: {_alive(started)}"


@pytest.mark.redis  # the demo starts a redis-server of its own: not for the fast tier
@pytest.mark.skipif(not shutil.which("redis-server") or not sys.platform.startswith("linux"),
                    reason="the demo starts its own redis-server; /proc is read to find its children")
@pytest.mark.parametrize("moment", ["starting", "running"], ids=["ctrl-c-starting", "ctrl-c-running"])
def test_ctrl_c_stops_the_demo_and_everything_it_started_without_a_traceback(tmp_path, moment):
    """A closed terminal (SIGHUP) is the set-up demo's test below: the same children, stopped the same way."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    env.update(HOST_DATA_DIR=str(tmp_path), PORT=str(_free_port()), PYTHONUNBUFFERED="1")
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        # Its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to the whole group.
        demo = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py")], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            started: set[int] = set()
            while time.monotonic() < deadline:
                started |= _children(demo.pid)
                text = log.read_text()
                if moment == "starting" and "Seeded" in text or "colcw demo is running" in text:
                    break
                assert demo.poll() is None, text
                time.sleep(0.2)
            else:
                pytest.fail("the demo did not start:\n" + log.read_text())
            if moment == "running":
                _wait_until_running(demo, log, started)
            started |= _children(demo.pid)
            os.killpg(demo.pid, signal.SIGINT)
            assert demo.wait(timeout=60) == 0
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    _assert_stopped_quietly(log, started)


@pytest.mark.redis
@pytest.mark.skipif(not shutil.which("redis-server") or not sys.platform.startswith("linux"),
                    reason="the demo starts its own redis-server")
def test_the_setup_demo_starts_from_an_empty_tenant_and_no_connection(tmp_path):
    """``make demo-setup``: an admin meets what a first install meets (nothing connected, ConnectWise empty), with
    what to type printed; the keys it prints are the sandbox's. Then its terminal closes (SIGHUP, as the demo's
    process group gets it): everything it started stops, without a traceback."""
    import re

    import requests

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    port = _free_port()
    env.update(HOST_DATA_DIR=str(tmp_path), PORT=str(port), PYTHONUNBUFFERED="1")
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py"), "--setup"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        started: set[int] = set()
        try:
            deadline = time.monotonic() + 120
            while "colcw set-up demo is running" not in log.read_text():
                started |= _children(demo.pid)
                assert demo.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            text = log.read_text()
            site = re.search(r"Site URL\s+(\S+)", text).group(1)
            api = f"{site}/v2025_1/apis/3.0"
            auth, headers = ("sandbox+sandbox-public", "sandbox-private"), {"clientId": "setup"}
            assert requests.get(f"{api}/company/companies", auth=auth, headers=headers, timeout=10).json() == []
            members = requests.get(f"{api}/system/members", auth=auth, headers=headers, timeout=10).json()
            assert "rrep" not in {m["identifier"] for m in members}  # not the demo tenant
            assert (tmp_path / "setup").is_dir()  # its data apart from make demo's
            web = requests.Session()
            page = web.get(f"http://127.0.0.1:{port}/login", timeout=10).text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            web.post(f"http://127.0.0.1:{port}/login", data={"csrf_token": token, "email": "admin@demo.example",
                                                              "password": "demo"}, timeout=10)
            admin = web.get(f"http://127.0.0.1:{port}/admin/integration/connectwise/", timeout=10).text
            assert "not configured" in admin
            _wait_until_running(demo, log, started)
            started |= _children(demo.pid)
            os.killpg(demo.pid, signal.SIGHUP)
            assert demo.wait(timeout=60) == 0
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    _assert_stopped_quietly(log, started)
