"""Opportunity, product-line and catalog-item creates ConnectWise carried out but never acknowledged
are found (by exact name, by ``integrationXRef``, by identifier), never sent a second time."""

from __future__ import annotations

import pytest
from quote_support import line

from colcw_plugin.models import DocumentLineExport
from helpers import tune_runtime
from host_stub.extensions import db


def _products(world, opp_id: int) -> list[tuple[str, str]]:
    return sorted((p["catalogItem"]["identifier"], p["integrationXRef"]) for p in world.products(opp_id))


@pytest.mark.parametrize("fault", [{"status": "drop"}, {"status": "hang", "seconds": 3}, {"status": 503}],
                         ids=["dropped", "hung", "503"])
def test_an_opportunity_create_whose_answer_was_lost_is_found_by_name(world, app, monkeypatch, fault):
    tune_runtime(monkeypatch, app, cw_read_timeout=1.0)
    doc = world.quote([line("OPT-7010"), line("LAT-5440")], name="Lost answer deal")
    world.sandbox.add_fault(applied=True, method="POST", path=r"sales/opportunities$", count=1, **fault)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["name"] == "Lost answer deal"
    assert _products(world, opp["id"]) == sorted([("OPT-7010", f"colcw:{doc.id}:{doc.lines[0].id}"),
                                                  ("LAT-5440", f"colcw:{doc.id}:{doc.lines[1].id}")])


@pytest.mark.parametrize("fault", [{"status": "drop"}, {"status": "hang", "seconds": 3}],
                         ids=["dropped", "hung"])
def test_product_line_creates_whose_answers_were_lost_are_found_by_their_marker(world, app, monkeypatch, fault):
    tune_runtime(monkeypatch, app, cw_read_timeout=1.0, concurrency=1)
    doc = world.quote([line("OPT-7010"), line("LAT-5440"), line("PWR-R550")])
    world.sandbox.add_fault(applied=True, method="POST", path=r"procurement/products$", nth=1, **fault)
    world.sandbox.add_fault(applied=True, method="POST", path=r"procurement/products$", nth=3, **fault)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    expected = sorted((ln.item_number, f"colcw:{doc.id}:{ln.id}") for ln in doc.lines)
    assert _products(world, opp["id"]) == expected  # each line once
    saved = {r.line_id: r.cw_product_id for r in db.session.query(DocumentLineExport).filter_by(document_id=doc.id)}
    assert sorted(saved.values()) == sorted(p["id"] for p in world.products(opp["id"]))
    # Re-exporting changes nothing: no line was left to add.
    assert world.export(doc.id).status == "succeeded"
    assert _products(world, opp["id"]) == expected


def test_a_line_whose_create_is_not_found_yet_is_not_sent_again_in_that_run_and_the_rerun_completes(
        world, app, monkeypatch):
    """A lost answer and nothing found: the line fails (transient) rather than being POSTed blindly; the
    next export adds it once."""
    tune_runtime(monkeypatch, app, record_retry_intervals=())  # no second pass inside the run
    doc = world.quote([line("OPT-7010"), line("LAT-5440")])
    world.sandbox.add_fault(status="drop", method="POST", path=r"procurement/products$", nth=2)  # not applied
    run = world.export(doc.id)
    assert run.status == "failed"
    [opp] = world.opportunities()
    posts = [r for r in world.sandbox.requests() if r["method"] == "POST" and r["path"].endswith("procurement/products")]
    assert len(posts) == 2  # the dropped one was never repeated blindly
    assert len(world.products(opp["id"])) == 1
    assert world.export(doc.id).status == "succeeded"
    assert _products(world, opp["id"]) == sorted((ln.item_number, f"colcw:{doc.id}:{ln.id}") for ln in doc.lines)


def test_a_catalog_item_create_whose_connection_dropped_is_found_by_identifier(world):
    doc = world.quote([line("NEW-9000", description="Brand new desktop", manufacturer="Lenovo", price=500, cost=400)])
    world.sandbox.add_fault(status="drop", applied=True, method="POST", path=r"procurement/catalog$", count=1)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert len(world.api("procurement/catalog", conditions='identifier="NEW-9000"')) == 1
    [opp] = world.opportunities()
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["NEW-9000"]
