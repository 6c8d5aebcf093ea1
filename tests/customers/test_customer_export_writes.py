"""What a bulk customer export writes to the database per customer (issue 14): two statements, each committed as
it is sent (no BEGIN and COMMIT round trips), whatever its contact count, with the same rows as the ORM wrote them."""

from __future__ import annotations

from collections import Counter

from customer_support import CONTACTS, actions, link_of, make_customer, run
from sqlalchemy import event, select

from colcw_plugin.models import CONTACT, CUSTOMER, CreateIntent, Link
from helpers import tune_runtime
from host_stub.extensions import db

THIRD = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.example", "is_default": False}
TABLES = ("colcw_links", "colcw_create_intents", "colcw_record_drift")


def _writes(statement: str) -> tuple[str, ...]:
    """The export's own writes a statement makes (none: a read, a lock, the run's record...)."""
    s = " ".join(statement.split()).lower()
    return tuple(f"{verb} {table}" for verb in ("insert into", "update", "delete from") for table in TABLES
                 for _ in range(s.count(f"{verb} {table}")))


def test_a_new_customer_costs_two_write_statements_committed_as_sent_whatever_its_contacts(sync_ready, app,
                                                                                           monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=4)
    customers = [make_customer(account_number=f"W{i}", name=f"Writes {i}",
                               contacts=CONTACTS + [THIRD] * (i % 2), location_code="HQ" if i % 3 else "")
                 for i in range(6)]
    statements: list[tuple[str, ...]] = []
    in_transaction: list[str] = []

    def keep(conn, cursor, statement, *args):
        writes = _writes(statement)
        if writes:
            statements.append(writes)
            if not conn.connection.dbapi_connection.autocommit:
                in_transaction.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        result = run("customer_export", {"all": True})
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert result.status == "succeeded", result.message
    assert actions(result) == ["created"] * 6
    # Per customer, two statements: before the contacts' POSTs its company's link with its contacts' intents;
    # after them their links, the intents' deletion and the company link's last update. Each commits as it is
    # sent (autocommit): no BEGIN and COMMIT around it.
    n = len(customers)
    assert Counter(statements) == {("insert into colcw_links", "insert into colcw_create_intents"): n,
                                   ("insert into colcw_links", "update colcw_links",
                                    "delete from colcw_create_intents"): n}
    assert in_transaction == []
    # The rows are whole: every link with its ids, values and times, no intent left behind.
    db.session.expire_all()
    assert db.session.execute(select(CreateIntent)).scalars().all() == []
    for customer in customers:
        company = link_of(CUSTOMER, customer.id)
        assert company.cw_id and company.cw_identifier == customer.account_number and company.status == "ok"
        assert company.synced_values["name"] == customer.name and company.linked_at and company.synced_at
        assert company.fingerprint
        for contact in customer.contacts:
            link = link_of(CONTACT, contact.id)
            assert link.cw_id and link.status == "ok" and link.fingerprint and link.linked_at
            assert link.synced_values["first_name"] == contact.first_name
    assert db.session.query(Link).count() == n + sum(len(c.contacts) for c in customers)
