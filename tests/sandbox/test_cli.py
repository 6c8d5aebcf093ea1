"""``cw-sandbox serve``: prints where it is and how to sign in, serves, and stops at once on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.processes  # each test starts `cw-sandbox serve`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_site_and_credentials_serves_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    exe = Path(sys.executable).parent / "cw-sandbox"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--seed", "demo", "--db", str(tmp_path / "s.db")],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text
        assert "sandbox-public" in text and "sandbox-private" in text and "integrator / sandbox-password" in text
        for _ in range(50):
            try:
                info = requests.get(f"http://127.0.0.1:{port}/login/companyinfo/sandbox", timeout=2).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert info["Codebase"] == "v2025_1/"
        # A kept-alive connection (as the host's workers hold) must not delay shutdown.
        session = requests.Session()
        resp = session.get(f"http://127.0.0.1:{port}/v2025_1/apis/3.0/company/companies", timeout=5,
                           auth=("sandbox+sandbox-public", "sandbox-private"), headers={"clientId": "t"})
        assert resp.status_code == 200 and resp.json()
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=5)
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "s.db").exists()


def test_serve_takes_the_request_budget_from_its_flags():
    port = _free_port()
    exe = Path(sys.executable).parent / "cw-sandbox"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--requests-per-minute", "2",
                             "--max-in-flight", "0"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert "budget: 2/min, no limit in flight" in "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                requests.get(f"{base}/login/companyinfo/sandbox", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        kw = {"auth": ("sandbox+sandbox-public", "sandbox-private"), "headers": {"clientId": "t"}, "timeout": 5}
        statuses = [requests.get(f"{base}/v2025_1/apis/3.0/system/info", **kw).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert requests.get(f"{base}/__sandbox__/throttle", timeout=5).json() == {
            "per_minute": 2, "in_flight": None, "window_seconds": 60}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_ctrl_c_stops_serve_even_when_it_was_started_with_sigint_ignored():
    """A shell's background job (or CI's runner) may start it with SIGINT ignored; Ctrl-C still stops it."""
    port = _free_port()
    exe = Path(sys.executable).parent / "cw-sandbox"

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                            preexec_fn=ignore_sigint)
    try:
        [proc.stdout.readline() for _ in range(5)]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
