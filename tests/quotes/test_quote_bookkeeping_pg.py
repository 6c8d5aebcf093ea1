"""The export's own rows written by reused statements, on PostgreSQL (see tests/unit/test_quote_bookkeeping.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from host_stub.extensions import db

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_quote_bookkeeping import check_state_and_link_writes  # noqa: E402


def test_state_and_link_writes_keep_their_own_values_on_postgresql(app):
    assert db.engine.dialect.name == "postgresql"
    check_state_and_link_writes(db.session)
