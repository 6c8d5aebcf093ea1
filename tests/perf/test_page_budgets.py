"""Host pages with colcw installed cost at most 2 SQL statements more than the bare host, and no GET
writes to the database (issue 14's page budgets)."""

from __future__ import annotations

import pytest
from budget_support import WRITES, statements
from sqlalchemy import event, text

from colcw_plugin.models import DocumentExport, SyncItem, SyncRun, set_link
from helpers import make_test_app, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import utcnow


@pytest.fixture()
def synced_world(app):
    """A customer with four contacts, linked, with some history; an exported quote and its sales order."""
    customer = services.save_customer({"account_number": "BUD01", "name": "Budget Bikes"},
                                      [{"first_name": f"P{n}", "last_name": "Lee", "is_default": n == 0}
                                       for n in range(4)])
    set_link(db.session, "customer", customer.id, 901, cw_identifier="BUD01")
    for contact in customer.contacts:
        set_link(db.session, "contact", contact.id, 1000 + contact.id)
    run = SyncRun(kind="customer_export", status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add_all([SyncItem(run_id=run.id, entity=e, direction="export", host_id=h, action="updated", label="x")
                        for e, h in [("customer", customer.id), *(("contact", c.id) for c in customer.contacts)]])
    quote = services.save_document({"customer_id": customer.id}, [{"item_number": f"I{n}", "price": 5}
                                                                   for n in range(6)])
    db.session.add(DocumentExport(document_id=quote.id, status="exported", exported_at=utcnow(), opportunity_id=77,
                                  opportunity_name="Bikes"))
    set_link(db.session, "document", quote.id, 77, cw_identifier="Bikes")
    db.session.commit()
    order = services.convert_quote(quote.id)
    return {"customer": customer.id, "quote": quote.id, "order": order.id}


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


def _history_reads(app, path: str) -> tuple[int, list[str]]:
    """Rows the page's statements read from the sync history (EXPLAIN ANALYZE of each), and its plan nodes."""
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        seen: list[tuple[str, object]] = []

        def keep(conn, cursor, statement, parameters, *args):
            if "colcw_sync_items" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        rows, nodes = 0, []
        with db.engine.connect() as conn:
            for statement, parameters in seen:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()
                stack = [plan[0]["Plan"]]
                while stack:
                    node = stack.pop()
                    stack.extend(node.get("Plans", []))
                    if node.get("Relation Name") == "colcw_sync_items":
                        nodes.append(f"{node['Node Type']} {node.get('Index Name', '')}")
                        rows += node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
        assert seen, f"{path} read no sync history"
        return rows, nodes


@pytest.mark.parametrize("page", ["customer", "customers"])
def test_a_million_history_rows_do_not_make_the_pages_read_more(app, synced_world, page):
    """The pages reach a record's latest result through the (entity, host_id, id) index: the rows they read
    from the sync history are no more with a million history rows (10,000 of them this customer's and its
    contacts') than with a handful."""
    path = PAGES[page].format(**synced_world)
    before, _ = _history_reads(app, path)
    with app.app_context(), db.engine.begin() as conn:  # PostgreSQL (the app fixture's database)
        conn.execute(text(
            "INSERT INTO colcw_sync_items (entity, direction, host_id, action, label, message, resolution, at) "
            "SELECT CASE WHEN g % 5 = 0 THEN 'customer' ELSE 'contact' END, 'import', "
            "CASE WHEN g <= 10000 THEN g % 5 + 1 ELSE g % 40000 + 10 END, 'updated', 'x', '', '', now() "
            "FROM generate_series(1, 1000000) AS g"))
        assert conn.execute(text("SELECT count(*) FROM colcw_sync_items")).scalar() > 1_000_000
        conn.execute(text("ANALYZE colcw_sync_items"))
    after, nodes = _history_reads(app, path)
    assert not [n for n in nodes if n.startswith("Seq Scan")], nodes
    assert after <= before, (before, after, nodes)  # small tables may be scanned whole; big ones never
