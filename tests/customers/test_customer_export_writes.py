"""What a bulk customer export writes to the database per customer (issue 14): a few plain statements and two
commits, whatever its contact count, with the same rows as the ORM wrote them."""

from __future__ import annotations

from collections import Counter

from customer_support import CONTACTS, actions, link_of, make_customer, run
from sqlalchemy import event, select

from colcw_plugin.models import CONTACT, CUSTOMER, CreateIntent, Link
from helpers import tune_runtime
from host_stub.extensions import db

THIRD = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.example", "is_default": False}


def _kind(statement: str) -> str | None:
    """Which of the export's own writes a statement is (None: a read, a lock, the run's record...)."""
    s = " ".join(statement.split()).lower()
    for kind in ("insert into colcw_links", "update colcw_links", "insert into colcw_create_intents",
                 "delete from colcw_create_intents"):
        if s.startswith(kind):
            return kind
    return None


def test_a_new_customer_costs_five_write_statements_and_two_commits_whatever_its_contacts(sync_ready, app,
                                                                                          monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=4)
    customers = [make_customer(account_number=f"W{i}", name=f"Writes {i}",
                               contacts=CONTACTS + [THIRD] * (i % 2), location_code="HQ" if i % 3 else "")
                 for i in range(6)]
    writes: Counter[str] = Counter()
    writers: set[int] = set()
    commits: Counter[int] = Counter()

    def keep(conn, cursor, statement, *args):
        kind = _kind(statement)
        if kind:
            writes[kind] += 1
            writers.add(id(conn))

    def committed(conn):
        commits[id(conn)] += 1

    event.listen(db.engine, "before_cursor_execute", keep)
    event.listen(db.engine, "commit", committed)
    try:
        result = run("customer_export", {"all": True})
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
        event.remove(db.engine, "commit", committed)
    assert result.status == "succeeded", result.message
    assert actions(result) == ["created"] * 6
    # Per customer: its company's link, its contacts' intents (one statement), their links (one statement), the
    # intents' deletion, the company link's last update; committed before the contacts' POSTs and at the end.
    n = len(customers)
    assert writes == {"insert into colcw_links": 2 * n, "insert into colcw_create_intents": n,
                      "delete from colcw_create_intents": n, "update colcw_links": n}
    assert sum(commits[c] for c in writers) == 2 * n
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
