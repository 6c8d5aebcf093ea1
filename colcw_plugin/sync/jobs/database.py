"""colcw's own database refusing or dropping a connection: a wait, not a failure.

PostgreSQL may refuse a connection for a moment (all its connections taken: "sorry, too many clients already"; a
restart or a fail-over under way: "the database system is starting up") or drop one. That says nothing about the
records a run works on, and a later try finds the database again. So it is a wait (:class:`DatabaseUnavailable`,
transient like a 503 but colcw's own), never an unexpected error that asks a person to report it:

* a document a quote export works on, on a thread of its own, waits for the run's next pass (:mod:`..quotes.job`);
* anywhere else in an attempt (the run's own session, a customer export's thread, the run's recorder, the attempt's
  start), the run waits as a whole for its next attempt, or, in the foreground, ends "not done" saying so
  (:mod:`.runs`); a write of the recorder's that the database refused keeps its results for the next write, which
  first looks whether it landed after all (its answer lost, not its COMMIT: :mod:`.recorder`).

What the export sent before the connection went is found again as after a worker's death (an opportunity's create
intent, its lines' references, a customer's links and contacts' create intents).

What the database answered about the statement itself (a lock not granted in time, a deadlock, a constraint) is
not this: those keep their own handling.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from .waits import ColcwWait

# SQLSTATEs of a connection the server refused or ended: class 08 (connection exception), too many connections,
# and the server shutting down, crashed, or not taking connections yet.
UNAVAILABLE_STATES = ("53300", "57P01", "57P02", "57P03")


class DatabaseUnavailable(ColcwWait):
    """Not an answer of ConnectWise's: colcw's database refused or dropped a connection. The record (or the run) is
    tried again in a later pass (or attempt): a wait of colcw's own (:mod:`.waits`)."""

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
