"""Within one run, once ConnectWise refused a new opportunity because the tenant makes its type mandatory (left to
ConnectWise's default), the run's later documents that need a new opportunity fail at once with the same reason and
fix, naming themselves and the refusal they follow, without sending their opportunity; a document going into an
existing opportunity is exported. The next run asks ConnectWise again (an admin may have changed it meanwhile)."""

from __future__ import annotations

import pytest
from quote_support import items, line

from colcw_plugin.setup.connection import get_settings
from helpers import tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

PAGE = "Admin → Integration → ConnectWise → New opportunities"
FIX = f"Choose the type new opportunities get under {PAGE}, then export again."
REASON = ("this tenant requires an opportunity type on every opportunity, and none is chosen for the opportunities "
          "colcw creates (left to ConnectWise's default).")


def _opportunity_posts(world) -> int:
    return sum(1 for r in world.sandbox.requests()
               if r["method"] == "POST" and r["path"].rstrip("/").endswith("sales/opportunities"))


def test_later_new_opportunities_of_the_run_are_refused_without_asking(world, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=1)
    before = world.quote([line("PWR-R550")], name="Existing deal")
    assert world.export(before.id).status == "succeeded"
    world.sandbox.set_options(required_fields={"opportunities": ["type"]})
    first = world.quote([line("OPT-7010")], name="Deal A")
    second = world.quote([line("NEW-9000")], name="Deal B")  # an item not in the catalog yet
    into_existing = world.quote([line("OPT-7010")], name="Existing deal")
    third = world.quote([line("PWR-R550")], name="Deal C")
    get_settings(db.session).allow_empty_opportunity_name = True  # (named by its number: found under the lock)
    db.session.commit()
    unnamed = world.quote([line("LAT-5440")], name="")
    world.sandbox.clear_requests()

    run = world.export({"document_ids": [first.id, second.id, into_existing.id, third.id, unnamed.id]})

    assert _opportunity_posts(world) == 1  # only the first new opportunity was sent
    outcomes = {i.host_id: i for i in items(run)}
    assert outcomes[first.id].message == (
        f"{first.number} was not exported: ConnectWise refused to create the opportunity “Deal A”: this tenant "
        "requires an opportunity type on every opportunity, and none is chosen for the opportunities colcw creates "
        "(left to ConnectWise's default).")
    for doc, name in ((second, "Deal B"), (third, "Deal C"), (unnamed, unnamed.number)):
        item = outcomes[doc.id]
        assert item.action == "failed"
        assert item.message == (f"{doc.number} was not exported: {REASON[:-1]}. ConnectWise refused to create the "
                                f"opportunity “Deal A” of {first.number} for it earlier in this run, so the "
                                f"opportunity “{name}” was not sent.")
        assert item.resolution == FIX
    assert outcomes[into_existing.id].action == "updated", outcomes[into_existing.id].message
    assert sorted(o["name"] for o in world.opportunities()) == ["Existing deal"]
    # Refused before anything was written for it: its item was not created in the catalog either.
    assert world.api("procurement/catalog", conditions='identifier="NEW-9000"') == []

    # The next run asks ConnectWise again: the tenant no longer requires a type, and the export goes through.
    world.sandbox.set_options(required_fields={})
    again = world.export({"document_ids": [second.id]})
    assert again.status == "succeeded", again.message
    assert sorted(o["name"] for o in world.opportunities()) == ["Deal B", "Existing deal"]
