"""What the page budget tests share: counting the SQL statements of a page, and planning a statement as PostgreSQL
runs it, with and without its values, to count the rows it reads."""

from __future__ import annotations

import html as html_lib
import re

import psycopg.sql
from htmx_loads import LOAD
from sqlalchemy import text

from colcw_plugin.models import DocumentExport, RunStatus, SyncItem, SyncRun, set_link
from helpers import recorded_statements, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import utcnow

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\b", re.I)


def statements(app, path: str, headers: dict | None = None) -> tuple[list[str], str]:
    """The SQL statements of one GET of ``path`` by a signed-in rep, and the page."""
    with app.app_context():  # a context of its own: Flask-WTF keeps the CSRF token in g
        client = sign_in(app.test_client(), "riley@demo.example")
        with recorded_statements(db.engine) as seen:
            resp = client.get(path, headers=headers or {})
        assert resp.status_code == 200, resp.status_code
        return seen, resp.get_data(as_text=True)


def plans(conn, statement: str, parameters: dict) -> list[dict]:
    """``statement``'s plans as run (EXPLAIN ANALYZE): planned with its values, and prepared, planned without them
    (PostgreSQL may keep such a generic plan for a statement psycopg prepared on a connection, at its sixth run)."""
    custom = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()[0]["Plan"]
    order: list[str] = []

    def numbered(m: re.Match) -> str:
        if m.group(1) not in order:
            order.append(m.group(1))
        return f"${order.index(m.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    raw = conn.connection.dbapi_connection
    values = ", ".join(psycopg.sql.Literal(parameters[name]).as_string(raw) for name in order)
    conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE colcw_budget_probe AS {prepared}")
    try:
        generic = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE colcw_budget_probe"
                                       f"{f'({values})' if order else ''}").scalar()[0]["Plan"]
    finally:
        conn.exec_driver_sql("DEALLOCATE colcw_budget_probe")
        conn.exec_driver_sql("RESET plan_cache_mode")
    return [custom, generic]


def rows_read(plan: dict, tables: tuple[str, ...]) -> tuple[int, list[str]]:
    """The rows a plan (as run) read from ``tables``, filtered out ones included, and its nodes on them."""
    rows, nodes, stack = 0, [], [plan]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", []))
        if node.get("Relation Name") in tables:
            nodes.append(f"{node['Node Type']} on {node['Relation Name']} {node.get('Index Name', '')}".strip())
            rows += node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
    return rows, nodes


def loads(html: str) -> list[str]:
    """The URLs a page loads after it is shown (colcw's panels and status cells, ``hx-trigger="load"``)."""
    return [html_lib.unescape(m.group(2)) for m in LOAD.finditer(html)]


def synced_world(**header) -> dict:
    """A customer with four contacts, linked, with some history; an exported quote (``header`` added to
    its header) and its sales order. Ids by "customer", "quote" and "order"."""
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
    quote = services.save_document({"customer_id": customer.id, **header},
                                   [{"item_number": f"I{n}", "price": 5} for n in range(6)])
    db.session.add(DocumentExport(document_id=quote.id, status="exported", exported_at=utcnow(), opportunity_id=77,
                                  opportunity_name="Bikes"))
    set_link(db.session, "document", quote.id, 77, cw_identifier="Bikes")
    db.session.commit()
    order = services.convert_quote(quote.id)
    return {"customer": customer.id, "quote": quote.id, "order": order.id}


def short_history() -> dict:
    """A customer import that partly failed (1,000 results, 10 of them failed) and the earlier run it retried; and a
    customer export of 1,000 customers (the exports of the last days). The import's run id ("run") and the earlier
    one's ("earlier")."""
    earlier = SyncRun(kind="customer_import", params={"mode": "all"}, status=RunStatus.FAILED, counts={})
    exported = SyncRun(kind="customer_export", params={"all": True}, status=RunStatus.SUCCEEDED,
                       counts={"created": 1000}, total=1000, done=1000)
    db.session.add_all([earlier, exported])
    db.session.flush()
    run = SyncRun(kind="customer_import", params={"mode": "all"}, status=RunStatus.PARTIAL, retry_of_id=earlier.id,
                  counts={"created": 990, "failed": 10}, total=1000, done=1000)
    db.session.add(run)
    db.session.flush()
    db.session.add_all(SyncItem(run_id=run.id, entity="customer", direction="import", cw_id=n + 1, label=f"C{n}",
                                action="failed" if n % 100 == 0 else "created", message="m") for n in range(1000))
    db.session.add_all(SyncItem(run_id=exported.id, entity="customer", direction="export", host_id=n + 1,
                                label=f"C{n}", action="created", message="m") for n in range(1000))
    db.session.commit()
    return {"run": run.id, "earlier": earlier.id}


def grow_history(conn, run_id: int, *, results: int, runs: int, history: int) -> None:
    """On ``conn``: ``results`` more results of the import ``run_id`` (none failed), and ``runs`` more imports with
    ``history`` results between them, all of today."""
    conn.execute(text(
        "INSERT INTO colcw_sync_items (run_id, at, entity, direction, cw_id, action, label, message, resolution) "
        "SELECT :run, now(), 'customer', 'import', g, 'created', 'x', '', '' FROM generate_series(1001, :n + 1000) AS g"),
        {"run": run_id, "n": results})
    low = min(conn.execute(text(
        "INSERT INTO colcw_sync_runs (kind, params, description, status, trigger, requested_by, rq_job_id, created_at, "
        "total, done, counts, entity_counts, api_requests, message, attempts, interruptions, selection, waiting_reason) "
        "SELECT 'customer_import', '{}', 'x', 'succeeded', 'schedule', 'x', '', now() - (g || ' minutes')::interval, "
        "1, 1, '{}', '{}', 0, '', 1, 0, '{}', '' FROM generate_series(1, :runs) AS g RETURNING id"),
        {"runs": runs}).scalars())
    conn.execute(text(
        "INSERT INTO colcw_sync_items (run_id, at, entity, direction, host_id, action, label, message, resolution) "
        "SELECT :low + g % :runs, now(), CASE WHEN g % 3 = 0 THEN 'customer' ELSE 'contact' END, 'import', g, "
        "CASE WHEN g % 500 = 0 THEN 'failed' ELSE 'updated' END, 'x', '', '' FROM generate_series(1, :n) AS g"),
        {"low": low, "runs": runs, "n": history})
