"""Host pages with colcw installed cost at most 2 SQL statements more than the bare host, and no GET
writes to the database (issue 14's page budgets).

colcw's panels and the lists' status cells load after the page is shown (htmx, ``hx-trigger="load"``):
the page itself runs no statement of colcw's, and each part it loads reads at most 2 statements beyond
the record's own reads that the bare host's page runs too."""

from __future__ import annotations

import pytest
from budget_support import WRITES, loads, plans, rows_read, statements
from budget_support import synced_world as build_synced_world
from htmx_loads import loaded
from sqlalchemy import event, text

from helpers import make_test_app, sign_in
from host_stub.extensions import db


@pytest.fixture()
def synced_world(app):
    """A customer with four contacts, linked, with some history; an exported quote and its sales order."""
    return build_synced_world()


PAGES = {"customer": "/customers/{customer}", "quote": "/documents/{quote}", "order": "/documents/{order}",
         "customers": "/customers/", "quotes": "/quotes/", "orders": "/orders/"}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_host_page_costs_at_most_two_statements_more_with_colcw_and_writes_nothing(
        app, pg_url, redis_url, synced_world, page):
    path = PAGES[page].format(**synced_world)
    bare = make_test_app(pg_url, redis_url, plugins=[])
    with_colcw, html = statements(app, path)
    without, _ = statements(bare, path)
    assert "ConnectWise" in html
    assert not [s for s in with_colcw if WRITES.match(s)], "a GET wrote to the database"
    assert len(with_colcw) - len(without) <= 2, (len(with_colcw), len(without), with_colcw[len(without):])


@pytest.mark.parametrize("page", sorted(PAGES))
def test_what_each_page_loads_after_it_is_shown_costs_at_most_two_statements_and_writes_nothing(
        app, pg_url, redis_url, synced_world, page):
    """The panel (or the list's status cells) reads the record again, as the page did, and at most 2 statements
    of its own; without JavaScript the page links to it."""
    path = PAGES[page].format(**synced_world)
    bare = make_test_app(pg_url, redis_url, plugins=[])
    _, html = statements(app, path)
    without, _ = statements(bare, path)
    parts = loads(html)
    assert len(parts) == 1, parts
    assert f'href="{parts[0]}"'.replace("&", "&amp;") in html  # the link without JavaScript
    seen, fragment = statements(app, parts[0], {"HX-Request": "true"})
    assert "<html" not in fragment and fragment.strip()
    assert not [s for s in seen if WRITES.match(s)], "a GET wrote to the database"
    own = [s for s in seen if s not in without]
    assert len(own) <= 2, own


def _history_reads(app, path: str) -> tuple[int, list[str]]:
    """Rows the page's statements, and those of what it loads after it is shown, read from the sync history
    (EXPLAIN ANALYZE of each, planned with its values and as psycopg's prepared statement may be planned without
    them: the more of the two), and their plans' nodes."""
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        seen: list[tuple[str, dict]] = []

        def keep(conn, cursor, statement, parameters, *args):
            if "colcw_sync_items" in statement:
                seen.append((statement, dict(parameters or {})))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            assert "ConnectWise" in loaded(client, path)
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        rows, nodes = 0, []
        with db.engine.connect() as conn:
            for statement, parameters in seen:
                reads = [rows_read(plan, ("colcw_sync_items",)) for plan in plans(conn, statement, parameters)]
                rows += max(r for r, _ in reads)
                nodes += [n for _, found in reads for n in found]
        assert seen, f"{path} read no sync history"
        return rows, nodes


def test_a_million_history_rows_do_not_make_the_pages_read_more(app, synced_world):
    """The pages reach a record's latest result through the (entity, host_id, id) index: the rows they read
    from the sync history are no more with a million history rows (10,000 of them this customer's and its
    contacts') than with a handful, whether a statement is planned with its values or, prepared, without them.
    (The customer page and the customers list on one million rows, written once for both.)"""
    paths = [PAGES[page].format(**synced_world) for page in ("customer", "customers")]
    before = {path: _history_reads(app, path)[0] for path in paths}
    with app.app_context(), db.engine.begin() as conn:  # PostgreSQL (the app fixture's database)
        conn.execute(text(
            "INSERT INTO colcw_sync_items (entity, direction, host_id, action, label, message, resolution, at) "
            "SELECT CASE WHEN g % 5 = 0 THEN 'customer' ELSE 'contact' END, 'import', "
            "CASE WHEN g <= 10000 THEN g % 5 + 1 ELSE g % 40000 + 10 END, 'updated', 'x', '', '', now() "
            "FROM generate_series(1, 1000000) AS g"))
        assert conn.execute(text("SELECT count(*) FROM colcw_sync_items")).scalar() > 1_000_000
        conn.execute(text("ANALYZE colcw_sync_items"))
    for path in paths:
        after, nodes = _history_reads(app, path)
        assert not [n for n in nodes if n.startswith("Seq Scan")], (path, nodes)
        assert after <= before[path], (path, before[path], after, nodes)  # small tables may be scanned whole; big ones never
