"""A database that refuses a new connection gives a 503 "busy, try again" page, on the host's pages and colcw's.

PostgreSQL at ``max_connections`` refuses a connection (psycopg's OperationalError while connecting: "sorry, too many
clients already", SQLSTATE 53300), and a pool with none free gives up after ``pool_timeout`` (SQLAlchemy's
TimeoutError). The refusal is made at the one edge that gives it, the engine's connect (a ``do_connect`` hook raising
the driver's own error); the pool timeout is real (an app whose pool holds one connection, held by the test).
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from helpers import csrf_from, make_test_app, sign_in

pytestmark = [pytest.mark.postgres]

BUSY = "The database is busy right now and could not take this request. Try again in a moment."
SHORT = "The database is busy: try again in a moment."

# As psycopg raises them while connecting: the server's FATAL in a plain OperationalError (no SQLSTATE), and the
# class PostgreSQL's 53300 maps to.
REFUSALS = {
    "connect-failed": lambda: psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  sorry, too many clients '
        "already"),
    "53300": lambda: psycopg.errors.TooManyConnections("FATAL:  sorry, too many clients already"),
}


@pytest.fixture()
def refuse(app):
    """Call ``refuse(error)`` and every new connection of the app's engine fails with ``error``, as a PostgreSQL
    at its connection limit refuses it (the pool emptied first, so that each request must connect)."""
    from host_stub.extensions import db

    engine = db.engine
    state: dict = {"error": None}

    def do_connect(dialect, conn_rec, cargs, cparams):
        if state["error"] is not None:
            raise state["error"]

    event.listen(engine, "do_connect", do_connect)

    def start(error: Exception) -> None:
        db.session.remove()
        engine.dispose()
        state["error"] = error

    yield start
    state["error"] = None
    event.remove(engine, "do_connect", do_connect)


def _records():
    from host_stub import services

    customer = services.save_customer({"account_number": "BUSY1", "name": "Busy Co", "state": "ID",
                                       "contacts": [{"first_name": "Bo", "last_name": "Busy", "email": "bo@busy.example"}]})
    doc = services.save_document({"customer_id": customer.id}, [{"item_number": "I1", "price": 5}])
    return customer.id, doc.id


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_a_refused_connection_is_a_busy_page_on_host_and_colcw_pages(app, rep_client, refuse, refusal):
    customer_id, doc_id = _records()
    token = csrf_from(rep_client.get(f"/customers/{customer_id}").get_data(as_text=True))
    refuse(REFUSALS[refusal]())

    for method, url in (("GET", f"/customers/{customer_id}"), ("POST", f"/colcw/customers/{customer_id}/export"),
                        ("POST", f"/colcw/documents/{doc_id}/export")):
        resp = rep_client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 503, (url, resp.status_code, body[:300])
        assert BUSY in body and "<h1>Database busy</h1>" in body, url
        assert resp.headers["Retry-After"] == "5"

    resp = rep_client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    assert resp.status_code == 503 and resp.headers["X-Database-Busy"] == "1"
    assert resp.get_data(as_text=True).strip() == f'<p class="flash error" role="alert">{SHORT}</p>'


def test_a_pool_with_no_free_connection_is_a_busy_page(app, pg_url, redis_url):
    """The real pool timeout: one connection in the pool, held elsewhere, and a request waiting 0.2 s for it."""
    from host_stub.extensions import db

    customer_id, _ = _records()
    small = make_test_app(pg_url, redis_url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2, "pool_pre_ping": False})
    client = sign_in(small.test_client(), "riley@demo.example")
    with small.app_context():
        engine = db.engine
    held = engine.connect()
    try:
        resp = client.get(f"/customers/{customer_id}")
    finally:
        held.close()
        engine.dispose()
    assert resp.status_code == 503 and BUSY in resp.get_data(as_text=True)


def test_an_error_of_a_statement_is_no_busy_database(app):
    """Only a connection refused counts: a statement's OperationalError (here a cancelled one) is an error still."""
    from host_stub.db_busy import is_busy
    from host_stub.extensions import db

    with pytest.raises(OperationalError) as caught:
        db.session.execute(text("SET LOCAL statement_timeout = 1"))
        db.session.execute(text("SELECT pg_sleep(1)"))
    db.session.rollback()
    assert not is_busy(caught.value)
