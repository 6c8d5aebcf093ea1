"""Shared fixtures: real PostgreSQL and Redis, the host app with colcw, a live server, a browser.

Under CI (``CI=true``) a missing PostgreSQL or Redis fails the run; elsewhere the tests that
need it skip with a message naming the service. Each pytest-xdist worker gets its own
PostgreSQL database and its own private ``redis-server``, so neither workers nor two test runs
on one machine ever see each other's data, and the machine's shared Redis is never flushed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from helpers import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    chromium_answers,
    close_context,
    configure_sandbox_connection,
    left_in_transaction,
    make_test_app,
    reset_to_seed,
    sign_in,
)

pytest_plugins = ["cw_sandbox.pytest_plugin"] if importlib.util.find_spec("cw_sandbox.pytest_plugin") else []

CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL_OVERRIDE = os.environ.get("TEST_REDIS_URL", "")


FAST_TIER = os.environ.get("COLCW_FAST_TIER") == "1"


def _missing(service: str, why: str):
    message = f"{service} is not available ({why})"
    if FAST_TIER:
        pytest.fail(f"{service} was asked for in the fast tier: a test here must need no service", pytrace=False)
    if CI:
        pytest.fail(f"{message}: under CI the tests that need {service} must run, not skip", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session (and xdist worker), dropped at the end.

    The name carries the run's id so two test runs on one machine never share a database.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or str(os.getpid())
    name = f"colcw_test_{_worker()}_{run}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 - any failure means the service is not usable here
        _missing("PostgreSQL", f"{PG_ADMIN_URL.split('@')[-1]}: {type(e).__name__}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import close_all_sessions

    with contextlib.suppress(DBAPIError):  # a session a test leaked, whose connection the app fixture ended
        close_all_sessions()  # (left_in_transaction)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis server of this test session's own (one per xdist worker), stopped at the end.

    Tests never touch the machine's shared Redis: two test runs at once on one machine cannot
    flush each other's queues. ``TEST_REDIS_URL`` points the tests at another Redis instead
    (its database is flushed, so never give it a shared one).
    """
    if REDIS_URL_OVERRIDE:
        yield _check_redis(REDIS_URL_OVERRIDE)
        return
    binary = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)), None)
    if binary is None:
        _missing("Redis", "redis-server is not installed: apt-get install redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    proc = url = None
    for _ in range(5):  # a free port can be taken between the probe and the bind: try another
        port = _free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        if _wait_for_redis(url, proc):
            break
        proc.kill()
        proc.wait()
        proc = None
    if proc is None:
        _missing("Redis", f"{binary} did not start (see {workdir / 'redis.log'})")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_redis(url: str, proc: subprocess.Popen, seconds: float = 10) -> bool:
    import redis

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
            return True
        except redis.RedisError:
            time.sleep(0.05)
    return False


def _check_redis(url: str) -> str:
    import redis

    try:
        conn = redis.Redis.from_url(url)
        conn.ping()
        conn.flushdb()
    except Exception as e:  # noqa: BLE001
        _missing("Redis", f"{url}: {type(e).__name__}")
    return url


@pytest.fixture()
def redis_conn(redis_url):
    import redis

    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture(scope="session")
def pg_app(pg_url, redis_url):
    """The host app with the plugins found through entry points (colcw), on PostgreSQL."""
    return make_test_app(pg_url, redis_url)


@pytest.fixture()
def app(pg_app):
    """The PostgreSQL app with empty tables and the demo reference data (store, users, categories), and
    no tenant's codebase remembered (each test's first client discovers it, as on a fresh install) nor held."""
    from colcw_plugin.sync.runtime import Runtime
    from host_stub.extensions import db

    reset_to_seed(pg_app)
    Runtime.of(pg_app).codebases.forget_all()
    # Nor a Retry-After an earlier test's 429 left held for the sandbox tenant (shared by every client through Redis),
    # nor the part of its budget an earlier test's requests used: the tenant's full burst, as on a fresh install.
    held = list(Runtime.of(pg_app).redis.scan_iter(match="colcw:ratelimit:*"))
    if held:
        Runtime.of(pg_app).redis.delete(*held)
    # Nor jobs an earlier test queued with no worker to run them (their runs are gone with the tables): a queued run's
    # page counts the runs queued before it.
    for queue in Runtime.of(pg_app).queue.queues:
        queue.empty()
    with pg_app.app_context():
        yield pg_app
        db.session.remove()
    leaked = left_in_transaction(pg_app)
    if leaked:
        pytest.fail("This test left a database session inside a transaction (a Session never closed), ended now so "
                    "the next test's TRUNCATE does not wait on its locks: " + " | ".join(leaked), pytrace=False)


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory):
    """A SQLite database file the migrations built (host's and colcw's), made once: each SQLite test gets a copy
    (running every migration again took a second or more of each one's set-up)."""
    from host_stub.extensions import db

    path = tmp_path_factory.mktemp("sqlite-migrated") / "host.db"
    template = make_test_app(f"sqlite:///{path}")
    with template.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request, tmp_path):
    """The app on SQLite and on PostgreSQL: for data-layer tests that must hold on both."""
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("_sqlite_migrated"), tmp_path / "host.db")
        the_app = make_test_app(f"sqlite:///{tmp_path / 'host.db'}")
        with the_app.app_context():
            seed_reference(db.session)
            db.session.commit()
    else:
        the_app = request.getfixturevalue("pg_app")
        reset_to_seed(the_app)
    with the_app.app_context():
        yield the_app
        db.session.remove()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def rep_client(client):
    return sign_in(client, "riley@demo.example")


@pytest.fixture()
def admin_client(client):
    return sign_in(client, "admin@demo.example")


# --- live server and browser -------------------------------------------------------------------


@pytest.fixture()
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


class _Chromium:
    """This worker's Chromium, launched again when the last one was killed (``helpers.chromium_answers``)."""

    def __init__(self, playwright):
        self.playwright, self.browser = playwright, None

    def live(self):
        if self.browser is None or not self.browser.is_connected():
            self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self.browser


@pytest.fixture(scope="session")
def _chromium():
    if not os.path.exists(CHROMIUM):
        _missing("Chromium", f"{CHROMIUM} not found; `make test` installs Debian's chromium")
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as p:
        holder = _Chromium(p)
        yield holder
        if holder.browser is not None:
            with contextlib.suppress(Error), chromium_answers("the browser's close"):
                holder.browser.close()


@pytest.fixture()
def browser(_chromium):
    return _chromium.live()


@pytest.fixture()
def page(browser, request):
    with chromium_answers("a new context"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
    pg.set_default_timeout(10_000)
    # A navigation waits on the server's work (an export click does ConnectWise's requests before it redirects, and a
    # rep's export may wait up to 10 s before it hands over): 30 s, so a loaded machine is not read as a failure.
    pg.set_default_navigation_timeout(30_000)
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        os.makedirs("test-artifacts", exist_ok=True)
        with contextlib.suppress(Exception):  # (a page whose Chromium was killed has no screenshot to give)
            pg.screenshot(path=f"test-artifacts/{request.node.name}.png", full_page=True)
    close_context(context)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# --- colcw against the sandbox -------------------------------------------------------------------


@pytest.fixture()
def box(app):
    from helpers import runtime

    return runtime(app).box


@pytest.fixture()
def connected(app, cw_sandbox, box):
    """The app with colcw's connection pointing at a fresh (empty-seed) sandbox tenant."""
    configure_sandbox_connection(cw_sandbox, box)
    return cw_sandbox


@pytest.fixture()
def connected_demo(app, cw_sandbox_demo, box):
    """The app connected to the sandbox's demo tenant."""
    configure_sandbox_connection(cw_sandbox_demo, box)
    return cw_sandbox_demo


@pytest.fixture()
def cw_client(connected, box):
    """A client for the connected sandbox, built from the stored settings as the sync builds it."""
    from colcw_plugin.setup.connection import build_client
    from host_stub.extensions import db

    client = build_client(db.session, box)
    yield client
    client.close()


# --- colcw jobs on RQ (issue 7) ---------------------------------------------------------------------


def _test_worker(app):
    """An in-process RQ worker for colcw's queue that counts the jobs it ran and can live in a thread."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    from helpers import runtime

    class TestWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty  # SIGALRM works in the main thread only
        jobs_run = 0

        def _install_signal_handlers(self):  # signals belong to the main thread; tests stop it by flag
            pass

        def perform_job(self, job, queue):
            TestWorker.jobs_run += 1
            return super().perform_job(job, queue)

    queue = runtime(app).queue
    return TestWorker(list(queue.queues), connection=queue.connection)  # (the live queue first, as colcw's worker)


@pytest.fixture()
def drain_queue(app, redis_conn):
    """Call ``drain_queue()`` to run every queued colcw job in this process (rq SimpleWorker, burst),
    inside the app, against this worker's test Redis. Returns how many jobs (attempts) it ran."""

    def drain() -> int:
        worker = _test_worker(app)
        with app.app_context():
            worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        return type(worker).jobs_run

    return drain


@pytest.fixture()
def worker_thread(app, redis_conn):
    """An RQ worker running colcw jobs in a background thread (for browser tests); stopped at teardown."""
    import threading

    stop = threading.Event()

    def loop():
        with app.app_context():
            while not stop.is_set():
                _test_worker(app).work(burst=True, with_scheduler=False, logging_level="WARNING")
                stop.wait(0.2)

    thread = threading.Thread(target=loop, name="colcw-test-worker", daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=30)


# --- which real services the run used (CI's output shows they ran, not skipped) -----------------

_SERVICE_FIXTURES = {"postgres": "pg_url", "redis": "redis_url", "browser": "_chromium", "sandbox": "cw_sandbox_server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = [name for name, fixture in _SERVICE_FIXTURES.items() if fixture in item.fixturenames]
        # any_app reaches PostgreSQL (and so Redis) through getfixturevalue for its "postgres" case.
        if getattr(item, "callspec", None) is not None and item.callspec.params.get("any_app") == "postgres":
            used += [name for name in ("postgres", "redis") if name not in used]
        for name in used:
            item.add_marker(name)
        # user_properties travel with the reports from xdist workers to the summary below.
        item.user_properties.append(("services", used))


def pytest_terminal_summary(terminalreporter):
    ran = dict.fromkeys(_SERVICE_FIXTURES, 0)
    skipped = dict.fromkeys(_SERVICE_FIXTURES, 0)
    for key in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(key, []):
            if key != "skipped" and report.when != "call":
                continue
            services = dict(getattr(report, "user_properties", [])).get("services", [])
            for name in services:
                (skipped if key == "skipped" else ran)[name] += 1
    terminalreporter.write_line(
        "real services: " + ", ".join(f"{n} tests ran on {m}" + (f" ({skipped[m]} skipped)" if skipped[m] else "")
                                      for m, n in ran.items()))
