"""``make demo``: everything a person needs to try colcw, on embedded defaults.

Starts the ConnectWise sandbox (seeded), prepares the host's SQLite database (schema, demo
data, the connection to the sandbox: the ``flask --app host_stub`` set-up commands, run one after the other in ONE
child process, see ``setup_steps``), then runs the host web server, an RQ worker, a second one for the live
queue alone (live updates and one-record exports: they never wait behind a bulk run) and the
scheduler. ``--setup`` (``make demo-setup``) starts from an EMPTY ConnectWise tenant and no connection, with data
of its own (var/setup): what an admin meets on a first install, to set up as the user guide's §4 says. Ctrl-C stops
all of it, quietly: every child runs in a session of its own, so the
terminal's Ctrl-C reaches only this script, which stops them (SIGTERM, which each of them
handles as a clean stop, then SIGKILL): the host, the workers and the scheduler together, then the sandbox, then
Redis. A second Ctrl-C or ``kill`` while it stops them (an impatient person, a supervisor that signals twice) does
not interrupt that: every child it started is stopped all the same. Secrets for the demo are generated once into
var/demo.env.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = "--setup" in sys.argv[1:]  # an empty tenant, nothing configured: the first install's set-up
VAR = Path(os.environ.get("HOST_DATA_DIR") or ROOT / "var").resolve() / ("setup" if SETUP else "")  # its files
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "host_stub"]
STEPS = "--steps"  # internal: ``demo.py --steps <json>`` is the child that runs the set-up commands (setup_steps)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CHILDREN: list[subprocess.Popen] = []  # every child started, in start order: each one is stopped at the end
SERVICES: list[subprocess.Popen] = []  # of those, what the others use (Redis, the sandbox): stopped after them
_starting = False  # a child is being started and recorded: a stop signal then waits until it is recorded
_stop_asked = False  # a stop signal came while a child was being started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited during start-up (status {proc.returncode}); see the lines above.")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not start listening on port {port} within {timeout:.0f}s.")


def demo_env() -> dict[str, str]:
    """Stable secrets for the demo (a new key each start would make stored credentials unreadable)."""
    VAR.mkdir(parents=True, exist_ok=True)
    env_file = VAR / "demo.env"
    if not env_file.exists():
        from cryptography.fernet import Fernet

        env_file.write_text(f"SECRET_KEY={secrets.token_hex(32)}\nCOLCW_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n")
        env_file.chmod(0o600)
    values = dict(line.split("=", 1) for line in env_file.read_text().split() if "=" in line)
    return values


def redis_url(procs: list) -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("colcw's jobs need Redis. Set REDIS_URL to a Redis server, or install one "
                         "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and rerun make demo.")
    port = free_port()
    proc = start([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 stdout=subprocess.DEVNULL, service=True)
    procs.append(("redis", proc))
    wait_for_port(port, proc, "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def start(args: list[str], *, service: bool = False, **kwargs) -> subprocess.Popen:
    """A child in a session of its own: the terminal's Ctrl-C reaches this script only (see the module doc); recorded
    in CHILDREN (and SERVICES, for a ``service`` the others use) before a stop signal may interrupt this script, so
    that the stop finds it."""
    global _starting
    _starting = True
    try:
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        CHILDREN.append(proc)
        if service:
            SERVICES.append(proc)
    finally:
        _starting = False
    if _stop_asked:
        raise KeyboardInterrupt
    return proc


class SetUp:
    """The set-up commands, each what ``flask --app host_stub <args>`` runs, in ONE child process (``setup_steps``):
    one interpreter and one import of the host and colcw instead of one per command (seconds each). The child runs
    them in order, waiting for the sandbox's port before the first that talks to it, and reports on a pipe; then,
    when asked (``after_host``), runs the command that needs the host listening (Live updates) with its output
    kept back unless it fails. A stop signal meanwhile stops it as any other child (quietly: stop_all)."""

    def __init__(self, env: dict, steps: list[list[str]], *, sandbox_port: int, sandbox_from: int,
                 after_host: list[str] | None = None) -> None:
        status_r, status_w = os.pipe()
        go_r, go_w = os.pipe()
        spec = {"steps": steps, "sandbox_port": sandbox_port, "sandbox_from": sandbox_from,
                "after_host": after_host, "status_fd": status_w, "go_fd": go_r}
        try:
            self.proc = start([sys.executable, str(Path(__file__).resolve()), STEPS, json.dumps(spec)], env=env,
                              pass_fds=(status_w, go_r))
        finally:
            os.close(status_w)
            os.close(go_r)
            self._status = os.fdopen(status_r, "r")
            self._go = os.fdopen(go_w, "w")

    def _report(self) -> dict:
        line = self._status.readline()
        if not line:  # it ended without a word: died, or was stopped
            code = self.proc.wait()
            raise SystemExit(f"the demo's set-up failed (status {code}); see the lines above.")
        return json.loads(line)

    def wait_for_steps(self) -> None:
        """Until every set-up command ran; SystemExit naming the one that failed."""
        report = self._report()
        if report["status"]:
            self.close()
            self.proc.wait()
            raise SystemExit(f"{' '.join([*FLASK[1:], *report['step']])} failed (status {report['status']}); "
                             "see the lines above.")

    def run_after_host(self) -> bool:
        """Run the ``after_host`` command (the host listens now); True when it succeeded (its output was shown
        when it did not)."""
        self._go.write("go\n")
        self._go.flush()
        ok = not self._report()["status"]
        self.close()
        return ok

    def close(self) -> None:
        """Let the child end on its own (its work is done, or it reads the closed pipe and ends); it is one of
        CHILDREN, stopped at the end if it has not ended by then."""
        with contextlib.suppress(OSError):
            self._go.close()
        self._status.close()


def setup_steps(spec: dict) -> int:
    """The set-up child (``demo.py --steps``): every command through Flask's own ``flask`` command line, as the
    ``flask`` program runs it (a new app each, from the factory), but in this one process."""
    from flask.cli import cli

    def flask(args: list[str]) -> int:
        try:
            cli.main(args=[*FLASK[1:], *args], prog_name="flask")
        except SystemExit as exc:  # click's standalone mode always ends with one
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            print(exc.code, file=sys.stderr)  # sys.exit("message"), as the interpreter shows it
            return 1
        return 0

    with os.fdopen(spec["status_fd"], "w") as status, os.fdopen(spec["go_fd"], "r") as go:
        def report(**fields) -> None:
            status.write(json.dumps(fields) + "\n")
            status.flush()

        for n, args in enumerate(spec["steps"]):
            if n == spec["sandbox_from"]:
                _wait_until_listening(spec["sandbox_port"])
            code = flask(args)
            if code:
                report(status=code, step=args)
                return code
        report(status=0)
        if not spec["after_host"] or go.readline() != "go\n":
            return 0
        code, output = _captured(lambda: flask(spec["after_host"]))
        if code:
            sys.stderr.write(output)
            sys.stderr.flush()
        report(status=code)
        return 0


def _wait_until_listening(port: int, timeout: float = 60) -> None:
    """Until something listens on ``port`` (the sandbox: the demo itself says when it failed to start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)


def _captured(call) -> tuple[int, str]:
    """``call()``'s result and everything written to this process's stdout and stderr meanwhile (the file
    descriptors: loggers and click alike), held back from the terminal."""
    import tempfile

    with tempfile.TemporaryFile() as held:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(held.fileno(), 1)
        os.dup2(held.fileno(), 2)
        try:
            result = call()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        held.seek(0)
        return result, held.read().decode("utf-8", "replace")


def stop(*procs: subprocess.Popen) -> None:
    """Ask the children to stop, all at once (SIGTERM: the workers, the scheduler and the sandbox finish cleanly),
    then kill those still running 10 seconds later."""
    for send, grace in (("terminate", 10), ("kill", 5)):
        running = [p for p in procs if p.poll() is None]
        if not running:
            return
        for proc in running:
            getattr(proc, send)()
        deadline = time.monotonic() + grace
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))


def _interrupt(signum, frame):
    """The first stop signal: from now on any other is ignored (it must not interrupt the stop), then the stop starts
    (KeyboardInterrupt), once the child being started, if any, is recorded."""
    global _stop_asked
    _stopping()
    if _starting:
        _stop_asked = True
        return
    raise KeyboardInterrupt


def _already_stopping(signum, frame):
    """A stop signal while the demo stops: ignored, the stop goes on (not SIG_IGN, which a child would inherit)."""


def _stopping() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _already_stopping)


def stop_all() -> None:
    """Stop every child still running: the host, the workers and the scheduler (and the set-up, if running) together,
    then the services they use, in reverse start order (the sandbox, then Redis: each after the workers and the
    scheduler have let go of it, so a Ctrl-C leaves no connection-refused tracebacks); no further signal interrupts
    it."""
    while True:
        try:
            _stopping()
            stop(*[p for p in CHILDREN if p not in SERVICES])  # together: none of them waits for another
            for proc in reversed(SERVICES):
                stop(proc)
            return
        except KeyboardInterrupt:  # the first signal, come just as the stop started: again (the stopped are skipped)
            continue


def main() -> int:
    # Ctrl-C, a plain `kill` and a closed terminal all stop everything (a shell may start us with SIGINT ignored);
    # SIGHUP: the terminal closed, and its children are in sessions of their own.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    port = int(os.environ.get("PORT", "5000"))
    sandbox_port, moved = sandbox_port_of_this_demo()
    procs: list[tuple[str, subprocess.Popen]] = []
    env = dict(os.environ)
    env.update(demo_env())
    env["HOST_DATA_DIR"] = str(VAR)
    env.pop("DATABASE_URL", None)  # the demo runs on the embedded SQLite default
    env.setdefault("COLCW_ALLOW_HTTP", "1")  # the local sandbox speaks plain http (never allowed in production)
    try:
        env["REDIS_URL"] = redis_url(procs)
        sandbox = start([str(BIN / "cw-sandbox"), "serve", "--port", str(sandbox_port),
                         "--seed", "empty" if SETUP else "demo",
                                    "--db", str(VAR / "sandbox.db")], env=env, service=True)
        procs.append(("sandbox", sandbox))
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        # The host's data meanwhile (seed-demo needs no sandbox); the connection once the sandbox listens.
        setup = SetUp(env, [["seed-demo"], *([] if SETUP else setup_connection(sandbox_url, moved=moved))],
                      sandbox_port=sandbox_port, sandbox_from=1,
                      after_host=None if SETUP else live_updates_command(port))
        wait_for_port(sandbox_port, sandbox, "the ConnectWise sandbox")
        setup.wait_for_steps()

        for name, args in background_commands():
            procs.append((name, start([*FLASK, *args], env=env)))
        host = start([*FLASK, "run", "--port", str(port), "--no-reload"], env=env)
        procs.append(("host", host))
        wait_for_port(port, host, "the host")
        if SETUP:
            print(setup_banner(port, sandbox_url), flush=True)
            return wait_for_any(procs)
        live = "" if setup.run_after_host() else "\n   (Live updates could not be switched on; see the messages above.)"
        print(f"""
==============================================================================
 colcw demo is running:  http://127.0.0.1:{port}
   sales rep:  riley@demo.example / demo      admin:  admin@demo.example / demo
   ConnectWise sandbox:  {sandbox_url}  (company sandbox)

 Watch live updates (a change in ConnectWise shows here within 5 seconds):{live}
   1. Export quote Q1013 as the README's "Your first export" shows (Quotes → Q1013 →
      Export to ConnectWise), and stay on the quote's page.
   2. In another tab open the sandbox's page  {sandbox_url}/__sandbox__/ui
      and set "Backup project 2026" to Lost (what a sales manager does in ConnectWise).
      Or through its control API, with the opportunity id the quote page links to:
        curl -X POST {sandbox_url}/__sandbox__/person/opportunities/<id>/status \\
             -H 'Content-Type: application/json' -d '{{"status": "Lost"}}'
   3. Without a reload, the quote's ConnectWise panel shows "Lost in ConnectWise on ... by
      Sandbox Admin"; Quotes lists it too. Edit the company in the sandbox and the customer follows
      (ConnectWise is the demo's master for customer data).
   Press Ctrl-C to stop everything.
==============================================================================
""", flush=True)
        return wait_for_any(procs)
    except KeyboardInterrupt:
        print("\nStopping the demo...", flush=True)
        return 0
    finally:
        stop_all()


def wait_for_any(procs: list[tuple[str, subprocess.Popen]]) -> int:
    """Until a child exits (1) or Ctrl-C (KeyboardInterrupt)."""
    while all(p.poll() is None for _, p in procs):
        time.sleep(0.5)
    dead = [n for n, p in procs if p.poll() is not None]
    print(f"Stopping: {', '.join(dead)} exited.", file=sys.stderr)
    return 1


def setup_banner(port: int, sandbox_url: str) -> str:
    """What an admin needs to set colcw up against the empty sandbox tenant, as against their own ConnectWise."""
    return f"""
==============================================================================
 colcw set-up demo is running:  http://127.0.0.1:{port}
   admin:  admin@demo.example / demo      sales rep:  riley@demo.example / demo
 ConnectWise is an EMPTY sandbox tenant and colcw is not connected: set it up as an admin.
   1. Admin → Integration → ConnectWise: enter the connection and Save.
        Site URL     {sandbox_url}   (tick "Allow http": the local sandbox speaks plain http)
        Company ID   sandbox
        Public key   sandbox-public        Private key   sandbox-private
        Client ID    any text (ConnectWise issues one per integration)
   2. Auto-map, then the mapping pages and the Pre-flight check: each line says what is left and
      how to fix it. What ConnectWise lacks (members, categories, manufacturers, provinces) is
      added in the sandbox as a ConnectWise admin would, through its API with the keys above:
        curl -u sandbox+sandbox-public:sandbox-private -H 'clientId: setup' \\
             {sandbox_url}/v2025_1/apis/3.0/system/members
   3. Export customers (All Customers) and quotes; schedule jobs on the Synchronization Jobs page.
      The workers (one for live updates and one-record exports) and the scheduler are running.
   Its data is kept in {VAR} (delete it to start over). Press Ctrl-C to stop everything.
==============================================================================
"""


def sandbox_port_of_this_demo() -> tuple[int, bool]:
    """The sandbox's port: the one this demo used before (kept in var/sandbox.port, so the stored
    connection still points at it), or a new one when that is taken; True when it moved."""
    if os.environ.get("SANDBOX_PORT"):
        return int(os.environ["SANDBOX_PORT"]), True
    VAR.mkdir(parents=True, exist_ok=True)
    kept = VAR / "sandbox.port"
    if kept.exists() and kept.read_text().strip().isdigit():
        port = int(kept.read_text())
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port, False
            except OSError:
                pass
    port = free_port()
    kept.write_text(f"{port}\n")
    return port, True


def setup_connection(sandbox_url: str, *, moved: bool) -> list[list[str]]:
    """The commands that point colcw at the sandbox and map what can be mapped automatically (idempotent: a demo
    restarted after an admin changed something keeps the admin's choices, unless the sandbox had to
    move to another port)."""
    return [["colcw", "configure", "--site", sandbox_url, "--company-id", "sandbox",
             "--public-key", "sandbox-public", "--private-key", "sandbox-private",
             "--client-id", "colcw-demo", "--allow-http", *([] if moved else ["--if-unset"])],
            # The demo quotes carry their opportunity name in the "Opportunity Name" header field (guide §4.2).
            ["colcw", "options", "--opportunity-field", "Opportunity Name", "--if-unset"],
            ["colcw", "automap"]]


def live_updates_command(port: int) -> list[str]:
    """Switch Live updates on: ConnectWise's callbacks to this host, ConnectWise the master for customer
    data (idempotent: a restart reuses the callbacks). Run once the host listens; its output is shown only
    when it fails, and the banner then says so."""
    return ["colcw", "live-updates", "--on", "--public-url", f"http://127.0.0.1:{port}", "--master", "connectwise"]


def background_commands() -> list[tuple[str, list[str]]]:
    # A worker of its own for live updates and one-record exports: the quote's page shows ConnectWise's Won within
    # seconds even while the other worker runs a bulk export.
    return [("worker", ["colcw", "worker"]), ("live worker", ["colcw", "worker", "--queues", "live"]),
            ("scheduler", ["colcw", "scheduler"])]


if __name__ == "__main__":
    if sys.argv[1:2] == [STEPS]:
        sys.exit(setup_steps(json.loads(sys.argv[2])))
    sys.exit(main())
