"""Sync status on All Customers, Quotes and Sales Orders: each row's ConnectWise state with the reason
on hover, a filter by it, bulk selection, and at most one SQL statement more than the bare host."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from htmx_loads import loaded
from sqlalchemy import event, select

from colcw_plugin.models import DocumentExport, SyncItem, SyncRun, set_link
from helpers import csrf_from, list_states, make_test_app, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer, utcnow

pytestmark = pytest.mark.postgres

HOUR = dt.timedelta(hours=1)


def _customer(number: str, name: str) -> Customer:
    return services.save_customer({"account_number": number, "name": name},
                                  [{"first_name": "Pat", "last_name": name.split()[0], "is_default": True}])


@pytest.fixture()
def four_customers(app):
    """One customer in each state: never exported, synced, edited since, and failed."""
    fresh = _customer("NEW01", "Newcomer Books")
    synced = _customer("SYN01", "Synced Supplies")
    changed = _customer("CHG01", "Changed Cafe")
    failed = _customer("FAIL01", "Failing Farms")
    set_link(db.session, "customer", synced.id, 501, cw_identifier="SYN01")
    link = set_link(db.session, "customer", changed.id, 502, cw_identifier="CHG01")
    link.linked_at = link.synced_at = utcnow() - HOUR  # exported an hour ago, edited now
    changed.updated_at = utcnow()
    run = SyncRun(kind="customer_export", status="partial")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", host_id=failed.id, action="failed",
                            label="FAIL01", message="FAIL01: ConnectWise refused the state “Nova Scotia”.",
                            resolution="Add the state in ConnectWise (Setup Tables → State), then export again."))
    db.session.commit()
    return {"not_linked": fresh, "synced": synced, "changed": changed, "failed": failed}


_rows = list_states


def test_all_customers_shows_each_rows_state_with_the_reason_on_hover(rep_client, four_customers):
    rows = _rows(loaded(rep_client, "/customers/"))
    assert rows["NEW01"] == ("Not linked", "Not linked: Export to ConnectWise links the company whose Company ID is "
                                           "NEW01, or creates it.")
    assert rows["SYN01"] == ("Synced", "Linked to ConnectWise company SYN01.")
    assert rows["CHG01"] == ("Changed since export", "Edited since it was last synced with company CHG01: export "
                                                     "it again to update it.")
    assert rows["FAIL01"][0] == "Failed"
    assert rows["FAIL01"][1] == ("FAIL01: ConnectWise refused the state “Nova Scotia”. Add the state in ConnectWise "
                                 "(Setup Tables → State), then export again.")


@pytest.mark.parametrize("state,expected", [("not_linked", {"NEW01"}), ("synced", {"SYN01"}),
                                            ("changed", {"CHG01"}), ("failed", {"FAIL01"})])
def test_all_customers_filters_by_state(rep_client, four_customers, state, expected):
    html = loaded(rep_client, f"/customers/?cw={state}")
    assert set(_rows(html)) == expected
    assert f'<option value="{state}" selected>' in html


def test_a_contact_edited_after_the_export_marks_the_customer_changed(rep_client, four_customers):
    synced = four_customers["synced"]
    contact = synced.contacts[0]
    contact.updated_at = utcnow() + HOUR
    db.session.commit()
    assert _rows(loaded(rep_client, "/customers/"))["SYN01"][0] == "Changed since export"
    assert "SYN01" in _rows(loaded(rep_client, "/customers/?cw=changed"))


def test_an_unknown_filter_value_shows_every_row(rep_client, four_customers):
    assert len(_rows(loaded(rep_client, "/customers/?cw=bogus"))) == 4


@pytest.fixture()
def documents(app, four_customers):
    """Quotes in each state (export rows as the export writes them)."""
    cust = four_customers["synced"]
    made = {}
    for key in ("never", "exported", "changed", "failed"):
        made[key] = services.save_document({"customer_id": cust.id}, [{"item_number": "X1", "price": 10}])
    now = utcnow()
    db.session.add_all([
        DocumentExport(document_id=made["exported"].id, status="exported", exported_at=now, opportunity_id=77,
                       opportunity_name="Refresh"),
        DocumentExport(document_id=made["changed"].id, status="exported", exported_at=now, opportunity_id=78,
                       opportunity_name="Backup", changed_since_export=True),
        DocumentExport(document_id=made["failed"].id, status="failed", message="Q1004 was not exported: line 2's "
                       "manufacturer Acme Widgets is not in ConnectWise.", resolution="Add an alias on Product "
                       "integration mapping."),
    ])
    db.session.commit()
    return made


def _doc_rows(html: str) -> dict[str, tuple[str, str]]:
    out = {}
    for row in re.findall(r'<tr data-row="\d+">(.*?)</tr>', html, re.S):
        number = re.search(r'">(Q\d+)</a>', row).group(1)
        cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="([^"]*)">([^<]*)</span>', row)
        out[number] = (html_lib.unescape(cell.group(2)), html_lib.unescape(cell.group(1)))
    return out


def test_quotes_show_and_filter_their_export_state(rep_client, documents):
    rows = _doc_rows(loaded(rep_client, "/quotes/"))
    by_state = {key: rows[doc.number] for key, doc in documents.items()}
    assert by_state["never"] == ("Not exported", "Not exported to ConnectWise yet.")
    assert by_state["exported"] == ("Exported", "Exported to opportunity 77 “Refresh”.")
    assert by_state["changed"] == ("Changed since export", "Edited since it was exported to opportunity 78 “Backup”: "
                                                           "export it again.")
    assert by_state["failed"] == ("Failed", "Q1004 was not exported: line 2's manufacturer Acme Widgets is not in "
                                            "ConnectWise. Add an alias on Product integration mapping.")
    for state, key in (("not_linked", "never"), ("synced", "exported"), ("changed", "changed"), ("failed", "failed")):
        shown = _doc_rows(loaded(rep_client, f"/quotes/?cw={state}"))
        assert set(shown) == {documents[key].number}, state


def _bulk_form(client, path: str) -> tuple[str, str]:
    html = client.get(path).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', html).group(1)
    return action.replace("&amp;", "&"), csrf_from(html)


def test_bulk_export_of_ticked_rows_makes_one_run_of_those_customers(rep_client, four_customers, redis_conn):
    action, token = _bulk_form(rep_client, "/customers/")
    ids = [four_customers[k].id for k in ("not_linked", "changed", "failed")]
    resp = rep_client.post(action, data={"csrf_token": token, "action": "colcw-export", "ids": [str(i) for i in ids]})
    assert resp.status_code == 302
    run = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")
                             .order_by(SyncRun.id.desc())).scalars().first()
    assert sorted(run.params["customer_ids"]) == sorted(ids) and run.params["selected"] is True
    assert run.description == "Export 3 customers selected on All Customers to ConnectWise"
    assert resp.headers["Location"] == f"/customers/?colcw_run={run.id}"
    page = rep_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Exporting 3 customers to ConnectWise as run #{run.id}." in page
    assert f'href="/colcw/runs/{run.id}"' in page and 'id="colcw-progress-' in page


def test_bulk_all_matching_takes_every_row_of_the_search_and_filter(rep_client, four_customers, redis_conn):
    action, token = _bulk_form(rep_client, "/customers/?cw=not_linked")
    assert "cw=not_linked" in action
    resp = rep_client.post(action, data={"csrf_token": token, "action": "colcw-export", "all_matching": "1"})
    run = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()
    assert run.params["customer_ids"] == [four_customers["not_linked"].id]
    assert resp.headers["Location"] == f"/customers/?cw=not_linked&colcw_run={run.id}"


def test_bulk_with_nothing_ticked_says_what_to_do(rep_client, four_customers):
    action, token = _bulk_form(rep_client, "/customers/")
    runs = db.session.execute(select(SyncRun.id)).scalars().all()
    resp = rep_client.post(action, data={"csrf_token": token, "action": "colcw-export"}, follow_redirects=True)
    assert "Select at least one row (or “all matching this search”), then choose the action." in \
        resp.get_data(as_text=True)
    assert db.session.execute(select(SyncRun.id)).scalars().all() == runs


def test_a_rep_cannot_follow_another_reps_run(client, app, four_customers, redis_conn):
    sign_in(client, "riley@demo.example")
    action, token = _bulk_form(client, "/customers/")
    client.post(action, data={"csrf_token": token, "action": "colcw-export", "ids": [str(four_customers["synced"].id)]})
    run = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()
    assert run.requested_by == "riley@demo.example"
    with app.app_context():  # a context of its own: Flask-WTF keeps the CSRF token in g
        other = sign_in(app.test_client(), "sam@demo.example")
        assert other.get(f"/colcw/runs/{run.id}").status_code == 404
        assert f"run #{run.id}" not in other.get(f"/customers/?colcw_run={run.id}").get_data(as_text=True).lower()
    assert client.get(f"/colcw/runs/{run.id}").status_code == 200


# --- the query budget -------------------------------------------------------------------------------


def _statements(app, path: str) -> tuple[int, str]:
    """The SQL statements of one GET of ``path`` by a signed-in rep, and the page."""
    with app.app_context():  # a context of its own: Flask-WTF keeps the CSRF token in g
        client = sign_in(app.test_client(), "riley@demo.example")
        engine = db.engine
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            resp = client.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert resp.status_code == 200
        return len(seen), resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/customers/", "/customers/?cw=synced", "/quotes/", "/quotes/?cw=failed",
                                  "/orders/"])
def test_list_pages_cost_at_most_one_statement_more_than_the_bare_host(app, pg_url, redis_url, documents, path):
    for doc in list(documents.values())[:2]:
        services.convert_quote(doc.id)  # some sales orders too
    bare = make_test_app(pg_url, redis_url, plugins=[])
    with_colcw, page = _statements(app, path)
    without, bare_page = _statements(bare, path)
    assert 'data-column="colcw"' in page and 'name="ids"' in page  # the status column and bulk selection
    assert 'data-column="colcw"' not in bare_page
    assert with_colcw - without <= 1, (with_colcw, without)
