"""A database that refuses a new connection is "busy", not an internal error: a 503 page saying to try again.

PostgreSQL refuses connections beyond ``max_connections`` ("sorry, too many clients already", SQLSTATE 53300;
57P03 while it starts or shuts down), and the pool gives up waiting for a free connection (``pool_timeout``) with
:class:`sqlalchemy.exc.TimeoutError`. Either is momentary, and every page of the app (the host's and its plugins')
shows the same 503 page then, or, to an htmx request, a short fragment the page shows where the answer would have
gone (host.js). Only failures to get a connection count: an :class:`~sqlalchemy.exc.OperationalError` raised while
connecting (marked by :func:`mark_connect_failures`, SQLAlchemy's ``handle_error`` without a connection) or carrying
one of those SQLSTATEs. Any other OperationalError (a statement cancelled, a connection lost mid-request, a
deadlock) stays an error.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

BUSY_SQLSTATES = frozenset({"53300", "57P03"})  # too_many_connections, cannot_connect_now
CONNECT_FAILED = "host_connect_failed"  # the attribute mark_connect_failures sets on the error
MESSAGE = "The database is busy right now and could not take this request. Try again in a moment."
SHORT_MESSAGE = "The database is busy: try again in a moment."
RETRY_AFTER_SECONDS = 5


def mark_connect_failures(engine: Engine) -> None:
    """Mark the errors ``engine`` raises while connecting (SQLAlchemy gives ``handle_error`` no connection then)."""

    def handle_error(context) -> None:
        if context.connection is None and context.sqlalchemy_exception is not None:
            setattr(context.sqlalchemy_exception, CONNECT_FAILED, True)

    event.listen(engine, "handle_error", handle_error)


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says the database could not give this request a connection (see the module doc)."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    return bool(getattr(error, CONNECT_FAILED, False)) or getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES


def _render(template: str, **context) -> str:
    return current_app.jinja_env.get_template(template).render(**context)


def register(app: Flask, engines) -> None:
    """Answer 503 for a busy database on every page of ``app``, and mark ``engines``' connect failures."""
    for engine in engines:
        mark_connect_failures(engine)

    def busy(error: Exception):
        if not is_busy(error):
            raise error  # any other database error: the 500 it always was
        log.warning("database busy: %s %s answered 503 (%s)", request.method, request.path,
                    str(error).splitlines()[0] if str(error) else type(error).__name__)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "X-Database-Busy": "1"}
        # Rendered without the app's context processors (the signed-in user, plugins' menus): nothing here may read
        # the database, which just refused.
        if request.headers.get("HX-Request"):
            return _render("host/busy_fragment.html", message=SHORT_MESSAGE), 503, headers
        return _render("host/busy.html", message=MESSAGE), 503, headers

    app.register_error_handler(OperationalError, busy)
    app.register_error_handler(PoolTimeout, busy)
