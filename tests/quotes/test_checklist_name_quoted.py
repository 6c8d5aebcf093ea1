"""The checklist quotes a name it shows with “…”, as every other page does: an opportunity name holding straight quotes
read `named exactly "Bob's "50%" deal"`, one quote inside another."""

from __future__ import annotations

import pytest
from quote_support import line

from colcw_plugin.sync.quotes.preflight import preflight
from host_stub.extensions import db
from host_stub.snapshots import document_snapshot

pytestmark = [pytest.mark.postgres]


def test_the_opportunity_row_quotes_the_name_with_curly_quotes(world):
    doc = world.quote([line("OPT-7010")], name='Bob\'s "50%" deal')
    [check] = [c for c in preflight(db.session, doc, None, document_snapshot(doc)) if c.label == "Opportunity"]
    assert check.detail == ("Adds the lines to the customer's opportunity named exactly “Bob's \"50%\" deal”, or "
                            "creates it.")
