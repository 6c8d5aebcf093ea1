"""A quote export acting for a sales rep with no ConnectWise member failed with "Q1001 was not exported: Export did not
occur: Dana Default is not mapped …": the run log said twice that nothing was exported (``Reps.member`` passed on the
whole ``UnmappedRep`` text, which leads with Appendix C's "Export did not occur: "). It now says it once, with the
reason as the checklist says it before the export: the run log, its run page and the document's "Last export failed"
read the same sentence."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from htmx_loads import loaded
from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

REASON = "Dana Default is not mapped to a ConnectWise member."
FIX = ("Make sure that the Sales Rep is mapped: Admin → Integration → ConnectWise → Sales rep mapping (map Dana Default "
       "to a ConnectWise member).")


def _text(page: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _unmap_the_default_rep() -> None:
    """Exports act for the store's default rep, Dana Default: their mapping removed."""
    store = db.session.execute(select(StoreSite)).scalar_one()
    db.session.execute(RepMapping.__table__.delete().where(RepMapping.user_id == store.default_rep_id))
    db.session.commit()


def test_the_run_log_says_once_that_the_quote_was_not_exported_and_why(world, admin_client):
    _unmap_the_default_rep()
    doc = world.quote([line("OPT-7010")])

    checklist = _text(admin_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True))
    assert f"{doc.number} cannot be exported yet: {REASON}" in checklist

    run = world.export(doc.id)
    [item] = items(run)
    assert item.action == "failed"
    assert item.message == f"{doc.number} was not exported: {REASON}"
    assert item.resolution == FIX
    assert world.opportunities() == []

    log = _text(admin_client.get(f"/colcw/runs/{run.id}", follow_redirects=True).get_data(as_text=True))
    assert f"{doc.number} was not exported: {REASON}" in log
    assert "did not occur" not in log

    panel = _text(loaded(admin_client, f"/documents/{doc.id}"))
    assert f"Last export failed: {REASON} {FIX}" in panel
    assert "did not occur" not in panel
