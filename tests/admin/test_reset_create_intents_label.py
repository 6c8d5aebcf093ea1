"""Reset's confirmation page names what colcw_create_intents holds: since 675be73 a company create whose answer was
lost is written there too (the next pass finds it by Company ID), not contacts only; the row said "ConnectWise contacts
being created", so an admin about to reset while a company's create was unconfirmed read that only contacts were."""

from __future__ import annotations

import re

from admin_support import BASE

from colcw_plugin.models import CreateIntent
from host_stub.extensions import db


def test_the_intents_row_names_companies_too(admin_client, connected_demo):
    # A company POST went unanswered (exporter._export: entity customer, matched by Company ID and run).
    db.session.add(CreateIntent(entity="customer", host_id=1, cw_parent_id=0,
                                match={"identifier": "ACME1", "run": 7}, known_ids=[]))
    db.session.commit()
    html = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    row = re.search(r'<tr[^>]*data-table="colcw_create_intents".*?</tr>', html)
    assert row is not None, html
    assert "companies whose create went unanswered" in row.group(0), row.group(0)
    assert '<td class="num">1</td>' in row.group(0)
