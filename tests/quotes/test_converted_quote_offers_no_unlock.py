"""A converted quote's panel offers no Unlock: the quote is not exported again (its sales order is), so editing it
would change nothing in ConnectWise. The panel says it stays locked and why; the quote's own not converted panel,
and its sales order's, still offer Unlock."""

from __future__ import annotations

import re

import pytest
from quote_support import line

from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _panel(client, doc_id: int) -> str:
    return re.sub(r"\s+", " ", client.get(f"/colcw/documents/{doc_id}/panel",
                                          headers={"HX-Request": "true"}).get_data(as_text=True))


def test_a_converted_quote_stays_locked_and_says_why(world, drain_queue, rep_client):
    quote = world.quote([line("OPT-7010")], name="Converted, locked")
    assert world.export(quote.id).status == "succeeded"
    assert 'id="colcw-unlock"' in _panel(rep_client, quote.id)
    order = services.convert_quote(quote.id)
    drain_queue()
    db.session.expire_all()
    assert db.session.get(Document, quote.id).locked
    panel = _panel(rep_client, quote.id)
    assert 'id="colcw-unlock"' not in panel
    assert (f"{quote.number} itself is not exported again, so it stays locked: editing it would change nothing in "
            "ConnectWise.") in panel, panel
    assert "Unlock it to edit" not in panel
    assert db.session.get(Document, order.id).locked  # its order, exported on conversion, is what a rep unlocks
    assert 'id="colcw-unlock"' in _panel(rep_client, order.id)


def test_a_converted_quote_locked_elsewhere_is_not_told_to_unlock(world, drain_queue, rep_client):
    quote = world.quote([line("OPT-7010")], name="Locked elsewhere")
    uow = services.unit_of_work()
    uow.set_locked(quote.id, True)  # not by colcw's export
    uow.commit()
    assert "Unlock it to edit; export it again to link it." in _panel(rep_client, quote.id)
    services.convert_quote(quote.id)
    drain_queue()
    panel = _panel(rep_client, quote.id)
    assert 'id="colcw-unlock"' not in panel and "Unlock it to edit" not in panel
    assert f"{quote.number} itself is not exported, so it stays locked: editing it would change nothing" in panel, panel
