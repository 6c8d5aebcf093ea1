"""colcw's composition root: builds the runtime once per app and wires the plugin into the host.

``init_app`` reads the settings, builds the secret box, the registry of job kinds (each feature
registers its own) and the :class:`~.sync.runtime.Runtime`, keeps it in
``app.extensions["colcw"]``, and registers the blueprints and the ``flask colcw`` commands.
:func:`run_job` is the RQ job function: it binds the app and calls the jobs engine with the runtime.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from flask import Flask, current_app, has_app_context

from host_stub import create_app
from host_stub.extensions import db

from . import models  # noqa: F401 - registers colcw's tables on the host's metadata
from .cli import colcw_cli
from .setup.secrets import SecretBox
from .sync.customers import kinds as customer_kinds
from .sync.inbound import kinds as inbound_kinds
from .sync.jobs.clocks import ClockWatch
from .sync.jobs.kinds import KindRegistry
from .sync.jobs.queue import perform
from .sync.quotes import kinds as quote_kinds
from .sync.runtime import ColcwConfig, Runtime
from .views import admin_bp, rep_bp

log = logging.getLogger(__name__)

FEATURES = (customer_kinds, quote_kinds, inbound_kinds)  # each registers its job kinds


class _UnconfiguredStderr(logging.StreamHandler):
    """colcw's log lines on stderr, with time, level and logger, while the process configured no logging of its own
    (a root handler: ``colcw worker``'s, a server's, pytest's); then it stays silent and the lines go there. Without
    it a plain ``flask run`` (the demo's host) printed colcw's warnings (a refused callback) bare, through Python's
    last resort: no time, level or logger to find them by. The level stays the process's (warnings and up)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s in %(name)s: %(message)s"))

    @property
    def stream(self):  # the stderr of the moment (a test's capture, a redirected one)
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def filter(self, record: logging.LogRecord) -> bool:
        return not logging.getLogger().handlers and super().filter(record)


def _log_to_stderr_unless_configured() -> None:
    colcw = logging.getLogger("colcw_plugin")
    if not any(isinstance(h, _UnconfiguredStderr) for h in colcw.handlers):
        colcw.addHandler(_UnconfiguredStderr())


def init_app(app: Flask) -> Runtime:
    """Set colcw up on ``app`` (the host calls this through its ``host_init_app`` hook)."""
    _log_to_stderr_unless_configured()
    app.config.setdefault("COLCW_ENCRYPTION_KEY", os.environ.get("COLCW_ENCRYPTION_KEY", ""))
    config = ColcwConfig.from_mapping(app.config)
    runtime = Runtime(config, _secret_box(app), build_kinds(app.config), app.extensions["host_stub"]["pm"])
    app.extensions["colcw"] = runtime
    app.register_blueprint(admin_bp)
    app.register_blueprint(rep_bp)
    app.cli.add_command(colcw_cli)
    _measure_clock_on_requests(app, runtime)
    return runtime


def _measure_clock_on_requests(app: Flask, runtime: Runtime) -> None:
    """A web process measures its machine's clock (:mod:`.sync.jobs.clocks`) after a response has gone, at most every
    few minutes: the host's saves it serves are stamped by that clock. One Redis round trip then, no SQL statement."""
    watch = ClockWatch("web")

    @app.after_request
    def _measure_clock(response):
        if watch.due():
            response.call_on_close(lambda: watch.check(runtime.redis))
        return response


def build_kinds(config) -> KindRegistry:
    """The job kinds: each feature's, plus ``COLCW_EXTRA_JOB_MODULES`` (comma-separated modules with a
    ``register(kinds)`` function; tests use it so a worker subprocess knows their kinds)."""
    kinds = KindRegistry()
    for feature in FEATURES:
        feature.register(kinds)
    extra = config.get("COLCW_EXTRA_JOB_MODULES") or os.environ.get("COLCW_EXTRA_JOB_MODULES", "")
    for name in filter(None, (m.strip() for m in extra.split(","))):
        importlib.import_module(name).register(kinds)
    return kinds


def _secret_box(app: Flask) -> SecretBox:
    key = app.config["COLCW_ENCRYPTION_KEY"]
    if key:
        return SecretBox(key)
    if app.config.get("ENV_NAME", "development") != "development":
        raise RuntimeError("COLCW_ENCRYPTION_KEY is not set: colcw will not store ConnectWise credentials "
                           "without an encryption key outside development. See README, Configuration.")
    log.warning("COLCW_ENCRYPTION_KEY is not set; deriving a development key from SECRET_KEY.")
    return SecretBox.derived_from(app.config["SECRET_KEY"])


# --- the RQ job ----------------------------------------------------------------------------------

_process_app: Flask | None = None


def _job_app() -> Flask:
    """The app a job runs in: the worker's (its command runs in an app context, which a forked job
    inherits), or one created once per process."""
    global _process_app
    if has_app_context():
        return current_app._get_current_object()
    if _process_app is None:
        _process_app = create_app()
    return _process_app


def run_job(run_id: int) -> str:
    """The RQ job: run ``run_id`` to its end, in an app context of its own (its own database session)."""
    app = _job_app()
    runtime = Runtime.of(app)
    with app.app_context():
        try:
            return perform(db.session, runtime.queue, run_id, runtime.execute)
        finally:
            db.session.remove()
