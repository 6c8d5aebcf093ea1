"""Export now posted from a page shown before the quote was converted: the refusal says the quote became its sales
order and links that order's export, with nothing to fix (it said '“Converted to a sales order” must be fixed')."""

from __future__ import annotations

import re

import pytest
from quote_support import line

from colcw_plugin.models import SyncRun
from helpers import csrf_from
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def test_export_now_for_a_quote_converted_since_points_to_its_sales_order(world, drain_queue, rep_client):
    quote = world.quote([line("OPT-7010")], name="Stale page")
    assert world.export(quote.id).status == "succeeded"
    token = csrf_from(rep_client.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True))
    order = services.convert_quote(quote.id)  # meanwhile, in another tab
    drain_queue()
    runs = db.session.query(SyncRun).count()
    resp = rep_client.post(f"/colcw/documents/{quote.id}/export", data={"csrf_token": token}, follow_redirects=True)
    page = re.sub(r"\s+", " ", resp.get_data(as_text=True))
    assert f"Not exported: {quote.number} became sales order {order.number}" in page
    assert f'<a href="/colcw/documents/{order.id}/export" id="colcw-export-order">export {order.number}</a>' in page
    assert "must be fixed" not in page
    assert db.session.query(SyncRun).count() == runs  # nothing queued
