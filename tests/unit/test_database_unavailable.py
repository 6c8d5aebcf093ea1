"""Which database errors are the database refusing or dropping a connection (a record waits for a later pass) and
which are answers about a statement (handled as before): colcw_plugin/sync/jobs/database.py."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from colcw_plugin.sync.jobs.database import DatabaseUnavailable, unavailable, unavailable_error
from colcw_plugin.sync.jobs.waits import ColcwWait


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None):
        super().__init__(message)
        self.sqlstate = sqlstate


def _operational(message: str, sqlstate: str | None, **kw) -> OperationalError:
    return OperationalError("SELECT 1", {}, DriverError(message, sqlstate), **kw)


@pytest.mark.parametrize(("message", "sqlstate"), [
    ("connection failed: FATAL:  sorry, too many clients already", None),  # refused at its start: no SQLSTATE
    ("too many connections for database", "53300"),
    ("terminating connection due to administrator command", "57P01"),
    ("the database system is starting up", "57P03"),
    ("server closed the connection unexpectedly", "08006"),
])
def test_a_refused_or_dropped_connection_is_unavailable(message, sqlstate):
    assert unavailable(_operational(message, sqlstate))


@pytest.mark.parametrize(("message", "sqlstate"), [
    ("canceling statement due to lock timeout", "55P03"),
    ("deadlock detected", "40P01"),
    ("canceling statement due to user request", "57014"),
])
def test_an_answer_about_a_statement_is_not(message, sqlstate):
    assert not unavailable(_operational(message, sqlstate))


def test_other_errors_are_not_unless_their_connection_was_invalidated():
    assert not unavailable(IntegrityError("INSERT", {}, DriverError("duplicate key", "23505")))
    assert not unavailable(ValueError("no"))
    assert unavailable(_operational("deadlock detected", "40P01", connection_invalidated=True))


def test_the_error_says_the_drivers_first_line_and_waits_like_a_record_held_elsewhere():
    error = unavailable_error(_operational("connection failed: FATAL:  sorry, too many clients already\nmore", None))
    assert isinstance(error, DatabaseUnavailable) and isinstance(error, ColcwWait) and error.transient
    assert error.message == "connection failed: FATAL:  sorry, too many clients already"
    assert error.why_not_done == "colcw's database did not take a connection"
