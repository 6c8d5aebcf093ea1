"""colcw's own database refusing or dropping a connection: a wait, not a failure of the record.

A document exported on a thread of its own opens a database connection of its own. PostgreSQL may refuse it for a
moment (all its connections taken: "sorry, too many clients already"; a restart or a fail-over under way: "the
database system is starting up", the connection refused or dropped). That says nothing about the record, and a
later pass of the run finds the database again: such a record waits for that pass (:class:`DatabaseUnavailable`,
transient like a 503), as a record another export holds does, instead of failing as an unexpected error that asks a
person to report it. What the export sent before the connection went is found again by that pass as after a
worker's death (the opportunity's create intent and its lines' references).

What the database answered about the statement itself (a lock not granted in time, a deadlock, a constraint) is
not this: those keep their own handling.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from ...cw import ConnectWiseError

# SQLSTATEs of a connection the server refused or ended: class 08 (connection exception), too many connections,
# and the server shutting down, crashed, or not taking connections yet.
UNAVAILABLE_STATES = ("53300", "57P01", "57P02", "57P03")


class DatabaseUnavailable(ConnectWiseError):
    """Not an answer of ConnectWise's: colcw's database refused or dropped the record's connection. The record is
    tried again in a later pass of its run. A wait colcw imposes itself (``colcw_waits``): it does not count toward
    ConnectWise being unreachable, and a run that gives up on it says colcw held it back."""

    transient = True
    colcw_waits = True
    why_not_done = "colcw's database did not take a connection"
    default_hint = "it is tried again once the database takes connections"


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing or dropping a connection (not an answer about a statement)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    state = getattr(error.orig, "sqlstate", None)
    # psycopg gives no SQLSTATE to a connection it could not open at all (refused, or a FATAL at its start).
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


def unavailable_error(error: BaseException) -> DatabaseUnavailable:
    """:class:`DatabaseUnavailable` saying what the driver said (its first line: the rest is SQLAlchemy's links); the
    run's message puts it after :attr:`~DatabaseUnavailable.why_not_done`."""
    said = str(getattr(error, "orig", None) or error).strip().splitlines()
    return DatabaseUnavailable(said[0] if said else type(error).__name__)
