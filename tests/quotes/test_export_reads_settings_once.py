"""A rep's export page and Export now read colcw's settings once a request (views/support.request_settings): every
later read in the request returned the session's same row, a statement for nothing (up to four in one click or one
checklist). Counted on the database's statements; the click still queues the export and ConnectWise gets it."""

from __future__ import annotations

import contextlib

import pytest
from quote_support import line
from sqlalchemy import event

from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


@contextlib.contextmanager
def _settings_reads():
    seen: list[str] = []

    def statement(conn, cursor, sql, *args):
        if "FROM colcw_settings" in sql:
            seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)


def test_the_checklist_and_export_now_read_the_settings_once_each(world, connected, rep_client, drain_queue):
    doc = world.quote([line("OPT-7010")], name="Read once")
    with _settings_reads() as page_reads:
        page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)  # (asks ConnectWise at once)
    assert "Its line can be exported." in page
    assert len(page_reads) == 1, page_reads

    with _settings_reads() as click_reads:
        resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "run=" in resp.location
    assert len(click_reads) == 1, click_reads
    assert drain_queue() == 1
    [opp] = world.opportunities()
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]
