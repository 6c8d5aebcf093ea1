"""Helpers shared by the tests (importable as ``helpers``; pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urljoin

import requests
from sqlalchemy import event, select, text
from werkzeug.serving import make_server

# Debian's Chromium as the browser tests and the benches drive it (Playwright cannot download a browser here).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _chromium_pids() -> list[int]:
    """This process's Chromium processes (Playwright's driver starts them: descendants, never another run's)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"chrom" in f.read().split(b"\0")[0]:
                        found.append(pid)
            except OSError:
                pass
    return found


@contextmanager
def chromium_answers(what: str, seconds: float = 60) -> Iterator[None]:
    """Bound a Playwright call that has no timeout of its own (a context's close or creation). Chromium very rarely
    stops answering one (a context's close waited out CI's 15-minute test timeout once, under load): after ``seconds``
    every thread's stack goes to stderr and this process's Chromium is killed, so the call ends with Playwright's
    TargetClosedError instead of hanging, a warning names it in the run's summary, and the ``browser`` fixture
    launches another Chromium for the next test."""
    fired = threading.Event()

    def stuck():
        fired.set()
        sys.stderr.write(f"\nChromium did not answer {what} within {seconds:.0f} s; killing it. Every thread:\n")
        with contextlib.suppress(Exception):
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        for pid in _chromium_pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(seconds, stuck)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if fired.is_set():
            warnings.warn(f"Chromium did not answer {what} within {seconds:.0f} s and was killed "
                          "(a new one serves the next test)", stacklevel=3)


def close_context(context, seconds: float = 60) -> None:
    """Close a browser context (its pages), never waiting on a Chromium that stopped answering (``chromium_answers``):
    the test's assertions have run; a killed browser's close ends in TargetClosedError, which is its answer here."""
    from playwright.sync_api import Error

    with chromium_answers("a context's close", seconds), contextlib.suppress(Error):
        context.close()


# The requests a minute the test app's rate limit allows and the sandbox's tenant takes (configure_sandbox_connection).
TEST_RATE_PER_MINUTE = 60_000


def make_test_app(db_url: str, redis_url: str = "redis://127.0.0.1:1/0", plugins=None, **extra):
    """A host app on ``db_url``; without a test Redis it points at port 1, where nothing listens, so it
    can never touch the machine's shared Redis."""
    from host_stub import create_app
    from host_stub.migrate import upgrade

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REDIS_URL": redis_url,
        "COLCW_ENCRYPTION_KEY": "n1PEgd5eXIn8NARF47vH1pH59Ufaj8LxeMJVLqMh2Cs=",
        "SERVER_NAME": None,
        "COLCW_ALLOW_HTTP": True,
        # A create an earlier attempt left unaccounted for is waited for seconds, not production's minutes.
        "COLCW_CREATE_SETTLE_SECONDS": 5,
        # The client's back-off between two tries of a failed request from 50 ms, not 0.5 s: a request ConnectWise
        # keeps failing gives up after 0.4-0.75 s, not 4-7.5 s. Its third try's pause and later are still told to the
        # run (Transport._worth_telling); a test that reads the note while the pause lasts sets a longer one.
        "COLCW_CW_BACKOFF_SECONDS": 0.05,
        # The demo users are made for every test and signed in through the form: a cheap hash, not scrypt's 0.1 s.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The tenant-wide rate limit still paces every request through Redis, one a millisecond after a burst of
        # 1,000, not production's one each 60 ms after 16: tests/quotes slept 31 s in it on its main thread alone.
        # configure_sandbox_connection gives the sandbox's tenant the same budget (colcw keeps within what its
        # ConnectWise allows); a test about pacing itself sets production's (tune_runtime, set_throttle).
        "COLCW_RATE_LIMIT_PER_MINUTE": TEST_RATE_PER_MINUTE,
    }
    config.update(extra)
    app = create_app(config, plugins=plugins)
    upgrade(app)
    return app


# A table at least this large on disk (with its indexes) is emptied by TRUNCATE, a smaller one by DELETE: a TRUNCATE
# of the 32 tables took 0.2 s of every test's set-up, the DELETEs take 25 ms; a table a test filled (a million
# history rows, a generated tenant) is truncated, which also gives its disk space back.
TRUNCATE_FROM_BYTES = 1 << 20


def left_in_transaction(app, grace: float = 3.0, *, end: bool = True) -> list[str]:
    """The sessions of the test's own PostgreSQL database that a test left inside a transaction (idle in transaction for
    ``grace`` seconds: a worker thread or process still at work finishes within it), each as its last statement; with
    ``end``, ended (pg_terminate_backend) so the next test's TRUNCATE never waits on their locks forever. Such a session
    is a leak (a Session never closed, kept alive by something): in a worker it would hold its locks for good."""
    import time

    from host_stub.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return []
        deadline = time.monotonic() + grace
        while True:
            with db.engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT pid, left(query, 300) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction'")).all()
                if not rows or time.monotonic() >= deadline:
                    if rows and end:
                        for pid, _ in rows:
                            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                    return [q for _, q in rows]
            time.sleep(0.1)


def truncate_all(app, keep: Iterable[str] = (), sequences_at: dict[str, int] | None = None) -> None:
    """Empty every table (keeping the migration version tables) and restart every sequence, as a fresh database has
    them (ids from 1). Tables in ``keep`` keep their rows; a sequence in ``sequences_at`` is set to that value
    (as if it had last given it) instead of restarted."""
    from host_stub.extensions import db

    left_in_transaction(app, grace=0)  # (one an earlier test left: its teardown said so; never wait on it here)
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in keep]
        with db.engine.begin() as conn:
            if conn.dialect.name != "postgresql":
                for t in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{t}"'))
                return
            sizes = dict(conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:t)"),
                {"t": tables}).all())
            big = [t for t in tables if sizes.get(t, 0) >= TRUNCATE_FROM_BYTES]
            if big:  # (CASCADE: and every table referring to them)
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in big) + " CASCADE"))
            conn.execute(text("; ".join(f'DELETE FROM "{t}"' for t in reversed(tables) if t not in big)))
            sequences = conn.execute(text(
                "SELECT c.relname FROM pg_class c WHERE c.relkind = 'S' "
                "AND c.relnamespace = current_schema()::regnamespace")).scalars().all()
            at = sequences_at or {}
            if sequences:
                conn.execute(text("; ".join(f"SELECT setval('\"{name}\"', {int(at[name])})" if name in at
                                            else f'ALTER SEQUENCE "{name}" RESTART' for name in sequences)))


# The rows seed_reference wrote in this process's database and the sequences' values after it, per database URL:
# (each table's (id, xmin) pairs, {sequence: last value}).
_SEEDED: dict[str, tuple[dict[str, set[tuple]], dict[str, int]]] = {}


def _seed_versions(conn, tables: Iterable[str]) -> dict[str, set[tuple]]:
    tables = list(tables)
    rows = conn.execute(text(" UNION ALL ".join(
        f"SELECT '{t}', id, xmin::text FROM \"{t}\"" for t in tables))).all()  # noqa: S608 - our table names
    out: dict[str, set[tuple]] = {t: set() for t in tables}
    for table, row_id, version in rows:
        out[table].add((row_id, version))
    return out


def reset_to_seed(app) -> None:
    """The database as :func:`truncate_all` and then ``seed_reference`` leave it (each test's start), its ids and
    sequences included. The seed's rows are written once and kept while no test changed them: a row's version
    (PostgreSQL's xmin) changes with any INSERT, UPDATE or DELETE, so a test that added, changed or removed one of
    them gets the tables emptied and seeded afresh, as before. The seed's 63 statements were most of every test's
    set-up (0.3 s of a loaded machine's 0.45 s)."""
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    key = app.config["SQLALCHEMY_DATABASE_URI"]
    seeded = _SEEDED.get(key)
    if seeded is not None:
        versions, sequences = seeded
        with app.app_context(), db.engine.connect() as conn:
            same = _seed_versions(conn, versions) == versions
            conn.rollback()
        if same:
            truncate_all(app, keep=versions, sequences_at=sequences)
            return
    _SEEDED.pop(key, None)
    truncate_all(app)
    with app.app_context():
        seed_reference(db.session)
        db.session.commit()
        db.session.remove()
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect() as conn:
            filled = [t.name for t in db.metadata.sorted_tables
                      if conn.execute(text(f'SELECT EXISTS (SELECT FROM "{t.name}")')).scalar()]  # noqa: S608
            sequences = dict(conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).all())
            _SEEDED[key] = (_seed_versions(conn, filled), sequences)
            conn.rollback()


# --- helpers for page tests ------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def sign_in(client, email: str, password: str = "demo"):
    """Sign in through the real form (CSRF included)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, f"sign-in as {email} failed"
    return client


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # Its loop looks for stop() every 50 ms (serve_forever's default, 0.5 s, was a quarter second of every
        # browser test's teardown on average).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        # Bounded, as every teardown that waits on another thread: a test run never hangs on one stuck server.
        stopper = threading.Thread(target=self.server.shutdown, daemon=True)
        stopper.start()
        stopper.join(30)
        if stopper.is_alive():
            warnings.warn("the live server's loop did not stop within 30 s; left to the process's exit", stacklevel=2)


# --- many clicks at once, over real HTTP -----------------------------------------------------------


Jar = requests.cookies.RequestsCookieJar


def http_sign_in(base: str, page: str, email: str = "riley@demo.example") -> tuple[Jar, str]:
    """Sign in as a rep over HTTP; the session cookies and a CSRF token taken from ``page``."""
    http = requests.Session()
    token = CSRF_RE.search(http.get(f"{base}/login", timeout=30).text).group(1)
    resp = http.post(f"{base}/login", data={"email": email, "password": "demo", "csrf_token": token},
                     allow_redirects=False, timeout=30)
    assert resp.status_code == 302
    token = CSRF_RE.search(http.get(f"{base}{page}", timeout=30).text).group(1)
    return http.cookies, token


def post_at_once(clicks: int, url: str, cookies: Jar, data: dict, headers: dict | None = None) -> list[requests.Response]:
    """``clicks`` POSTs of ``data`` to ``url`` from as many threads, released together; each answer is the page
    the click lands on (a redirect or htmx's ``HX-Redirect`` followed, so its flash shows)."""
    start = threading.Barrier(clicks)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def click():
        with requests.Session() as http:
            http.cookies = cookies.copy()
            start.wait(30)
            try:
                resp = http.post(url, data=data, headers=headers or {}, allow_redirects=False, timeout=120)
                target = resp.headers.get("Location") if resp.status_code == 302 else resp.headers.get("HX-Redirect")
                if target:  # the page the click lands on, with its flash
                    resp = http.get(urljoin(url, target), timeout=60)
            except requests.RequestException as e:  # counted: every click must be answered
                resp = e
            with lock:
                answers.append(resp)

    threads = [threading.Thread(target=click) for _ in range(clicks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert [a for a in answers if not isinstance(a, requests.Response)] == []
    assert len(answers) == clicks
    return answers


def browser_sign_in(page, base_url: str, email: str, password: str = "demo"):
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/customers/.*"))


def configure_sandbox_connection(sandbox, box, *, integrator: bool = False) -> None:
    """Store a connection to ``sandbox`` in colcw's settings (committed), as an admin would."""
    from colcw_plugin.setup.connection import ConnectionInput, save_connection
    from host_stub.extensions import db

    data = ConnectionInput(site_url=sandbox.base_url, company_id=sandbox.company_id,
                           auth_mode="integrator" if integrator else "api_keys",
                           user=sandbox.username if integrator else sandbox.public_key,
                           secret=sandbox.password if integrator else sandbox.private_key,
                           client_id="colcw-tests", allow_http=True)
    save_connection(db.session, box, data, actor="tests", http_allowed_by_config=True)
    db.session.commit()
    # The tenant takes what the test app's rate limit sends (TEST_RATE_PER_MINUTE), as ConnectWise takes production's
    # 1,000 a minute; in flight, ten at once as before. (The sandbox's reset brings its own budget back.)
    sandbox.set_throttle(per_minute=TEST_RATE_PER_MINUTE)


def connection_unreachable() -> None:
    """Point the stored connection at a local port nothing listens on (committed): ConnectWise "cannot be reached"."""
    import socket

    from colcw_plugin.setup.connection import get_settings
    from host_stub.extensions import db

    settings = get_settings(db.session)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.site_url = f"http://127.0.0.1:{s.getsockname()[1]}"
    db.session.commit()


# --- colcw's runtime in tests --------------------------------------------------------------------


def map_for_export(sandbox) -> tuple[dict[str, int], int, int]:
    """Map the store's default rep to the sandbox's admin1, the host's product types to ConnectWise's,
    and pick the Opportunity Name field, as an admin would (uncommitted). Returns ConnectWise's type ids
    by name, admin1's member id and the Opportunity Name field's id."""
    from colcw_plugin.models import ProductTypeMapping, RepMapping
    from colcw_plugin.setup.connection import get_settings
    from host_stub.extensions import db
    from host_stub.models import CustomField, StoreSite

    member = next(m for m in sandbox.api("GET", "system/members").json() if m["identifier"] == "admin1")
    store = db.session.execute(select(StoreSite)).scalar_one()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1",
                              location_id=member["defaultLocation"]["id"],
                              department_id=member["defaultDepartment"]["id"]))
    types = {t["name"]: t["id"] for t in sandbox.api("GET", "procurement/types").json()}
    for host, cw in (("Product", "Hardware"), ("Service", "Service"), ("Labor", "Service")):
        db.session.add(ProductTypeMapping(host_type=host, cw_type_id=types[cw], cw_type_name=cw))
    field = db.session.execute(select(CustomField).where(CustomField.name == "Opportunity Name")).scalar_one()
    get_settings(db.session).opportunity_field_id = field.id
    return types, member["id"], field.id


def runtime(app=None):
    """The colcw runtime of ``app`` (default: the current app)."""
    from flask import current_app

    from colcw_plugin.sync.runtime import Runtime

    return Runtime.of(app or current_app)


def tune_runtime(monkeypatch, app, **settings):
    """Change the runtime's settings for one test: ``ColcwConfig`` fields (``allow_http``,
    ``concurrency``, ...) and ``QueueSettings`` fields (``retry_intervals``, ``lost_after_seconds``, ...)."""
    import dataclasses

    rt = runtime(app)
    top = {f.name for f in dataclasses.fields(rt.config)}
    queue = dataclasses.replace(rt.config.queue, **{k: v for k, v in settings.items() if k not in top})
    config = dataclasses.replace(rt.config, queue=queue, **{k: v for k, v in settings.items() if k in top})
    monkeypatch.setattr(rt, "config", config)
    monkeypatch.setattr(rt.queue, "settings", queue)
    return rt


def run_scheduler_once(app=None, **kwargs) -> int:
    """One scheduler tick with its housekeeping, as ``flask colcw scheduler --once`` runs it."""
    from sqlalchemy.orm import Session

    from colcw_plugin.sync.jobs.scheduler import run_scheduler
    from host_stub.extensions import db

    rt = runtime(app)
    return run_scheduler(lambda: Session(bind=db.engine), rt.queue, rt.kinds, history_days=rt.config.history_days,
                         once=True, **kwargs)


def redis_down(monkeypatch, app=None):
    """Make the app's Redis unreachable for one test (nothing listens on port 1); returns a function
    that brings it back."""
    import redis

    from colcw_plugin.sync.jobs.queue import JobQueue

    rt = runtime(app)
    live_redis, live_queue = rt.redis, rt.queue
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    monkeypatch.setattr(rt, "redis", dead)
    monkeypatch.setattr(rt, "queue", JobQueue(dead, rt.config.queue))

    def back():
        monkeypatch.setattr(rt, "redis", live_redis)
        monkeypatch.setattr(rt, "queue", live_queue)

    return back


def row_versions(session, tables: Iterable[str]) -> dict[str, set[tuple]]:
    """Each table's rows with their PostgreSQL row version (xmin): an INSERT, UPDATE or DELETE of a row,
    by a statement or a COPY, changes the set (a rewrite of unchanged values too)."""
    return {t: set(session.execute(text(f"SELECT id, xmin::text FROM {t}")).all())  # noqa: S608 - our names
            for t in tables}


def rows_written(before: dict[str, set[tuple]], after: dict[str, set[tuple]]) -> dict[str, int]:
    """How many rows of each table were inserted, updated or deleted between two :func:`row_versions`."""
    out = {t: len({row_id for row_id, _ in before[t] ^ after[t]}) for t in before}
    return {t: n for t, n in out.items() if n}


@contextmanager
def recorded_statements(engine) -> Iterator[list[str]]:
    """The SQL statements sent on any of ``engine``'s connections while the block runs (COPY streams,
    sent through the driver, are not among them)."""
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


class ConnectionDropped:
    """Within the block, PostgreSQL ends the backend of one of ``engine``'s connections for real
    (``pg_terminate_backend``, as a restart or an admin would) just before the first statement ``matches(statement)``
    accepts, on whichever thread sends it (``times``: the first so many); every other statement goes through.
    ``dropped``: the statements it took."""

    def __init__(self, engine, matches, *, times: int = 1):
        self.engine = engine
        self.matches = matches
        self.times = times
        self.dropped: list[str] = []
        self.lock = threading.Lock()
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        import psycopg

        with self.lock:
            if len(self.dropped) >= self.times or not self.matches(statement):
                return
            self.dropped.append(statement)
        pid = conn.connection.driver_connection.info.backend_pid
        with psycopg.connect(self.url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]

    def __enter__(self) -> ConnectionDropped:
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


def map_default_rep(cw_client, member_identifier: str = "admin1"):
    """Map the store's default rep (dana) to a ConnectWise member, as the rep mapping page would."""
    from colcw_plugin.cw import conditions as C
    from colcw_plugin.models import RepMapping
    from host_stub.extensions import db
    from host_stub.models import StoreSite

    member = cw_client.members.list(conditions=C.eq("identifier", member_identifier), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    mapping = RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier=member_identifier)
    db.session.add(mapping)
    db.session.commit()
    return mapping


def list_states(page: str) -> dict[str, tuple[str, str]]:
    """All Customers' ConnectWise column: account number → (state label, hover text) of each row ("", "" without)."""
    from html import unescape

    out = {}
    for row in re.findall(r'<tr data-row="\d+">(.*?)</tr>', page, re.S):
        number = re.search(r"<td>([A-Z0-9]+)</td>", row).group(1)
        cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="([^"]*)">([^<]*)</span>', row)
        out[number] = (unescape(cell.group(2)), unescape(cell.group(1))) if cell else ("", "")
    return out
