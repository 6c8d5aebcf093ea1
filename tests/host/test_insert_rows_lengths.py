"""``host_stub.bulk.insert_rows`` tells a complete row by its length (not a set made per row): a row that names
something other than a column, beside leaving a column out, still gets that column's default."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from colcw_plugin.models import Link
from host_stub.bulk import insert_rows
from host_stub.extensions import db


def test_a_row_naming_another_key_and_leaving_a_column_out_gets_its_default(any_app):
    full = {"entity": "customer", "host_id": 1, "cw_id": 11, "status": "missing_in_cw", "cw_identifier": "A",
            "fingerprint": "f", "cw_last_updated": "", "synced_values": None}
    # As many keys as the columns written (the first row's and the defaults'), one of them no column: its status is
    # left out.
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    odd = {"entity": "customer", "host_id": 2, "cw_id": 12, "cw_identifier": "B", "fingerprint": "g",
           "cw_last_updated": "", "synced_values": None, "linked_at": now, "synced_at": now, "not_a_column": 1}
    ids = insert_rows(db.session, Link.__table__, [full, odd])
    db.session.commit()
    got = dict(db.session.execute(select(Link.id, Link.status)).all())
    assert [got[i] for i in ids] == ["missing_in_cw", "ok"]
