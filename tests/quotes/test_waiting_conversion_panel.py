"""A sales order whose conversion export failed transiently, while its run waits to retry by itself, says so on its
page (the run, when it tries again, nothing to do) instead of asking the rep to try again in a few minutes."""

from __future__ import annotations

import re

import pytest
from htmx_loads import loaded
from quote_support import fresh, line
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from helpers import tune_runtime
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def test_a_sales_order_whose_export_waits_to_retry_says_it_retries_by_itself(world, connected, app, monkeypatch,
                                                                            drain_queue, rep_client):
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(60,))
    quote = world.quote([line("OPT-7010")], name="Patient deal")
    assert world.export(quote.id).status == "succeeded"
    connected.add_fault(status=503, method="PATCH", path=r"sales/opportunities/\d+$")
    connected.add_fault(status=503, method="PUT", path=r"sales/opportunities/\d+$")
    order = services.convert_quote(quote.id)
    drain_queue()
    run = db.session.execute(select(SyncRun).where(SyncRun.trigger == "event")).scalar_one()
    waiting = fresh(run.id)
    assert waiting.status == "waiting" and waiting.next_try_at is not None
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", loaded(rep_client, f"/documents/{order.id}")))
    at = waiting.next_try_at.strftime("%H:%M:%S")
    assert (f"Waiting to retry by itself: run #{run.id} tries {order.number} again at {at} UTC, nothing to do."
            in page), page
    assert "HTTP 503" in page  # why its last try failed
    assert "try again in a few minutes" not in page and "not exported yet" not in page
