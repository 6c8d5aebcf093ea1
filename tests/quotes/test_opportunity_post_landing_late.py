"""An opportunity POST whose client gave up (a read timeout) and that ConnectWise carries out only later, after the next
pass looked it up by name and found none, is not sent a second time: the create intent's token (in the opportunity's
notes) makes that pass wait for it and take it. ConnectWise ends with one opportunity for the document, with its
lines, and the run says it created it."""

from __future__ import annotations

from quote_support import line

from colcw_plugin.models import CreateIntent
from helpers import tune_runtime
from host_stub.extensions import db


def _posts(world) -> list[dict]:
    return [r for r in world.sandbox.requests() if r["method"] == "POST" and r["path"].endswith("sales/opportunities")]


def test_a_timed_out_opportunity_post_that_lands_after_the_next_look_up_is_taken_not_made_twice(
        world, app, monkeypatch):
    # The client waits 1 s; ConnectWise sleeps 5 s before it creates the opportunity (a plain hang: the write lands
    # late). The run's next passes come 1 s and 8 s after a failure: the first looks before it landed.
    tune_runtime(monkeypatch, app, cw_read_timeout=1.0, record_retry_intervals=(1, 8))
    doc = world.quote([line("OPT-7010"), line("LAT-5440")], name="Late landing deal")
    world.sandbox.add_fault(status="hang", seconds=5, method="POST", path=r"sales/opportunities$", count=1)
    run = world.export(doc.id)
    assert len(_posts(world)) == 1, _posts(world)  # sent once
    [opp] = world.opportunities()
    assert opp["name"] == "Late landing deal"
    assert sorted((p["catalogItem"]["identifier"], p["integrationXRef"]) for p in world.products(opp["id"])) == sorted(
        (ln.item_number, f"colcw:{doc.id}:{ln.id}") for ln in doc.lines)
    assert run.status == "succeeded", run.message
    assert f"created opportunity {opp['id']}" in run.message, run.message
    assert db.session.query(CreateIntent).count() == 0  # settled with the link
