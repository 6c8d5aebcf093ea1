"""While no quote header field is chosen to hold the opportunity name (Options), every export is refused: the checklist
and the export said "the document has no opportunity name. Enter it in the opportunity name field", to a rep whose
quote shows its name. They now say an admin's choice is missing, and where it is made."""

from __future__ import annotations

import pytest
from quote_support import items, line

from colcw_plugin.setup.connection import get_settings
from colcw_plugin.sync.quotes.preflight import preflight
from host_stub.extensions import db
from host_stub.snapshots import document_snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

SAID = ("no quote header field is chosen to hold the opportunity name, so no document has one yet. An admin chooses "
        "it under Admin → Integration → ConnectWise → Options (“Opportunity name comes from the quote header field”), "
        "or allows empty opportunity names there to use the document number.")


def test_no_name_field_chosen_is_said_as_an_admins_choice(world):
    doc = world.quote([line("OPT-7010")], name="Annual licensing 2026")
    get_settings(db.session).opportunity_field_id = None
    db.session.commit()
    [check] = [c for c in preflight(db.session, doc, None, document_snapshot(doc)) if c.label == "Opportunity"]
    assert not check.ok and check.detail == SAID[0].upper() + SAID[1:]
    [item] = [i for i in items(world.export(doc.id)) if i.entity == "document"]
    assert item.action == "failed" and f"{item.message} {item.resolution}".endswith(SAID)
