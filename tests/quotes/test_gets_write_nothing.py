"""The export page and the opportunity picker ask ConnectWise on a GET, but never write to the database:
the opportunity statuses, types and stages they read are kept for the next caller only by an export."""

from __future__ import annotations

from quote_support import line
from sqlalchemy import event, func, select

from colcw_plugin.models import ReferenceCache
from host_stub.extensions import db

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")


def test_the_export_page_and_the_picker_write_nothing_on_a_get(world, admin_client):
    doc = world.quote([line("OPT-7010")], name="Budget refresh")
    writes: list[str] = []

    def keep(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(WRITE_VERBS):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        for path in (f"/colcw/documents/{doc.id}/export", f"/colcw/documents/{doc.id}/opportunities"):
            resp = admin_client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert writes == []
    assert db.session.execute(select(func.count()).select_from(ReferenceCache)).scalar() == 0
    world.export(doc.id)  # an export keeps the lists for the next caller
    assert db.session.execute(select(func.count()).select_from(ReferenceCache)).scalar() > 0
