"""A new opportunity whose lines failed transiently, finished by a later pass of the same run, is reported as
created — not as an update of an opportunity the rep never had."""

from __future__ import annotations

from quote_support import items, line

from helpers import tune_runtime


def test_a_new_opportunity_finished_on_a_later_pass_is_reported_created(world, connected, app, monkeypatch):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0.1,) * 6)
    doc = world.quote([line("OPT-7010"), line("LAT-5440")], name="Granite rollout 2027")
    # The opportunity is created; every attempt of the client's at its first line gets a 503 (it gives up), so
    # the document waits for the run's next pass, which finds its own opportunity through its link.
    connected.add_fault(status=429, method="POST", path="sales/opportunities", count=2)
    connected.add_fault(status=503, method="POST", path="procurement/products", count=4)
    run = world.export(doc.id)
    connected.clear_faults()
    assert run.status == "succeeded", (run.status, run.message)
    (item,) = items(run)
    assert item.action == "created", item.message
    assert item.message.startswith(f"{doc.number}: created opportunity "), item.message
    assert "with 2 lines" in item.message
    assert run.counts == {"created": 1}, run.counts
    (opp,) = world.opportunities()
    assert opp["name"] == "Granite rollout 2027"
    assert len(world.api("procurement/products", conditions=f"opportunity/id = {opp['id']}")) == 2
