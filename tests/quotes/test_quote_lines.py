"""Products (Appendix D) and the re-export contract, against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from quote_support import items, line, lines_of
from sqlalchemy import select

from colcw_plugin.models import (
    CategoryMapping,
    DocumentLineExport,
    ManufacturerAlias,
    RecordState,
)
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes.catalog import ITEM_MAX
from colcw_plugin.sync.quotes.list_status import row_states
from helpers import runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import Document


def _opp(world) -> dict:
    [opp] = world.opportunities()
    return opp


def _lines(world, opp_id) -> list[tuple]:
    return [(p["catalogItem"]["identifier"], p["quantity"], p["price"], p["cost"]) for p in world.products(opp_id)]


def test_catalog_lookup_is_batched_not_one_request_per_line(world, connected):
    doc = world.quote([line("OPT-7010"), line("LAT-5440"), line("PWR-R550")])
    connected.clear_requests()
    world.export(doc.id)
    catalog_gets = [r for r in connected.requests() if r["method"] == "GET" and r["path"].endswith("procurement/catalog")]
    assert len(catalog_gets) == 1
    assert "OPT-7010" in catalog_gets[0]["query"] and "PWR-R550" in catalog_gets[0]["query"]


def test_missing_item_is_created_from_category_manufacturer_and_type(world):
    doc = world.quote([line("NEW-9000", description="Brand new desktop", manufacturer="Lenovo", price=500, cost=400)])
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="NEW-9000"')
    assert item["description"] == "Brand new desktop"
    assert item["subcategory"]["name"] == "Desktops" and item["category"]["name"] == "Hardware"
    assert item["manufacturer"]["name"] == "Lenovo" and item["type"]["name"] == "Hardware"
    assert _lines(world, _opp(world)["id"]) == [("NEW-9000", 1.0, 500.0, 400.0)]


def test_unknown_manufacturer_reports_the_line_and_writes_nothing(world):
    doc = world.quote([line("OPT-7010"), line("AW-DOCK-1", manufacturer="Acme Widgets")])
    run = world.export(doc.id)
    assert run.status == "failed"
    [line_item] = items(run, "line")
    assert 'manufacturer "Acme Widgets" does not exist' in line_item.message
    assert "Product integration mapping → Manufacturers" in line_item.resolution
    assert "Line 2 (AW-DOCK-1)" in line_item.label
    assert world.opportunities() == []
    assert world.api("procurement/catalog", conditions='identifier="AW-DOCK-1"') == []


def test_manufacturer_alias_lets_the_item_be_created(world):
    db.session.add(ManufacturerAlias(host_name="Dell Technologies", cw_manufacturer_name="Dell"))
    db.session.commit()
    doc = world.quote([line("ALIAS-1", manufacturer="Dell Technologies")])
    assert world.export(doc.id).status == "succeeded"
    [item] = world.api("procurement/catalog", conditions='identifier="ALIAS-1"')
    assert item["manufacturer"]["name"] == "Dell"


def test_an_alias_wins_over_a_same_named_manufacturer_and_a_bad_alias_is_reported(world):
    # "Lenovo" exists in ConnectWise, but the admin says the host's Lenovo is ConnectWise's "Dell".
    db.session.add(ManufacturerAlias(host_name="Lenovo", cw_manufacturer_name="Dell"))
    db.session.add(ManufacturerAlias(host_name="Samsung", cw_manufacturer_name="Samsung Electronics Co"))
    db.session.commit()
    doc = world.quote([line("ALIAS-2", manufacturer="Lenovo")])
    assert world.export(doc.id).status == "succeeded"
    [item] = world.api("procurement/catalog", conditions='identifier="ALIAS-2"')
    assert item["manufacturer"]["name"] == "Dell"
    bad = world.quote([line("ALIAS-3", manufacturer="Samsung")])
    run = world.export(bad.id)
    assert run.status == "failed"
    [problem] = items(run, "line")
    assert 'points to "Samsung Electronics Co", which does not exist in ConnectWise' in problem.message
    assert "Product integration mapping → Manufacturers" in problem.resolution


def test_manufacturer_name_must_match_exactly(world):
    doc = world.quote([line("CASE-1", manufacturer="DELL")])
    run = world.export(doc.id)
    assert run.status == "failed"
    assert "does not exist in ConnectWise" in items(run, "line")[0].message


def test_unmapped_product_type_and_missing_category_are_reported_per_line(world):
    get_settings(db.session).category_mode = "mapping"
    db.session.add(CategoryMapping(host_category="Hardware", host_subcategory="Desktops",
                                   cw_category_name="Hardware", cw_subcategory_name="Servers"))
    db.session.commit()
    from colcw_plugin.models import ProductTypeMapping

    db.session.execute(ProductTypeMapping.__table__.delete().where(ProductTypeMapping.host_type == "Labor"))
    db.session.commit()
    doc = world.quote([line("MAPPED-1"), line("LAB-1", product_type="Labor"),
                       line("NOCAT-1", category="Power", subcategory="UPS")])
    run = world.export(doc.id)
    problems = {i.label.split(" ", 1)[1]: i for i in items(run, "line")}
    assert set(problems) == {"Line 2 (LAB-1)", "Line 3 (NOCAT-1)"}
    assert "no ConnectWise product type is mapped to Labor" in problems["Line 2 (LAB-1)"].message
    assert "Power / UPS is not mapped" in problems["Line 3 (NOCAT-1)"].message
    assert world.api("procurement/catalog", conditions='identifier="MAPPED-1"') == []  # nothing half-written
    db.session.execute(CategoryMapping.__table__.delete())
    db.session.add(CategoryMapping(host_category="Hardware", host_subcategory="Desktops",
                                   cw_category_name="Hardware", cw_subcategory_name="Servers"))
    db.session.commit()
    doc2 = world.quote([line("MAPPED-1")], name="Mapped")
    assert world.export(doc2.id).status == "succeeded"
    [item] = world.api("procurement/catalog", conditions='identifier="MAPPED-1"')
    assert item["subcategory"]["name"] == "Servers"


def test_reexport_updates_removes_and_adds_lines_never_duplicating(world):
    doc = world.quote([line("OPT-7010", qty=2, price=900), line("LAT-5440", qty=1), line("PWR-R550", qty=3)])
    world.export(doc.id)
    opp_id = _opp(world)["id"]
    db.session.expire_all()
    doc = db.session.get(Document, doc.id)
    current = lines_of(doc)
    edited = [{**current[0], "quantity": 5, "price": 850},  # changed
              current[2],  # kept (LAT-5440 removed)
              line("NEW-1")]  # added
    doc = world.edit(doc, edited)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert items(run)[0].action == "updated"
    assert "1 line added, 1 line updated, 1 line removed, 1 line renumbered" in items(run)[0].message
    assert sorted(_lines(world, opp_id)) == sorted([("OPT-7010", 5.0, 850.0, 60.0), ("PWR-R550", 3.0, 100.0, 60.0),
                                                    ("NEW-1", 1.0, 100.0, 60.0)])
    again = world.export(doc.id)
    assert items(again)[0].action == "unchanged"
    assert len(world.products(opp_id)) == 3
    rows = db.session.execute(select(DocumentLineExport).where(DocumentLineExport.document_id == doc.id)).scalars()
    assert {r.cw_product_id for r in rows} == {p["id"] for p in world.products(opp_id)}


def test_reexport_leaves_other_documents_and_hand_added_lines_alone(world, connected):
    mine = world.quote([line("OPT-7010")], name="Shared")
    other = world.quote([line("LAT-5440", qty=4)], name="Shared")
    world.export(mine.id)
    world.export(other.id)
    opp_id = _opp(world)["id"]
    hand = connected.api("POST", "procurement/products", json={
        "catalogItem": {"id": world.catalog["PWR-R550"]}, "opportunity": {"id": opp_id}, "quantity": 1,
        "billableOption": "Billable"}).json()
    db.session.expire_all()
    mine = world.edit(db.session.get(Document, mine.id), [])  # every line removed
    assert world.export(mine.id).status == "succeeded"
    left = {p["id"]: p["catalogItem"]["identifier"] for p in world.products(opp_id)}
    assert sorted(left.values()) == ["LAT-5440", "PWR-R550"]
    assert hand["id"] in left


def test_crash_between_opportunity_and_products_resumes_without_duplicates(world, connected, app, monkeypatch):
    tune_runtime(monkeypatch, app, record_retry_intervals=())  # no second pass inside the run
    doc = world.quote([line("OPT-7010", qty=2), line("LAT-5440"), line("PWR-R550")])
    # The connection drops on the second product POST to arrive: the opportunity exists with the first line
    # that arrived, and perhaps the third (a document's lines go out side by side, so whether the third was
    # sent before the drop was seen is a race).
    connected.add_fault(status="drop", method="POST", path="procurement/products", nth=2)
    run = world.export(doc.id)
    assert run.status == "failed"  # the document was not attempted to its end
    assert "connection dropped" in run.message
    # A dropped connection is transient: the run gave up on it (in the foreground, no later attempt), so the
    # document shows as failed, with why.
    shown = row_states(db.session, [doc.id])[doc.id]
    assert shown.state == RecordState.FAILED and "was not exported completely" in shown.reason
    [opp] = world.opportunities()
    assert 1 <= len(world.products(opp["id"])) < 3  # part of the document, not all of it
    connected.clear_faults()
    rerun = world.export(doc.id)
    assert rerun.status == "succeeded", rerun.message
    [again] = world.opportunities()
    assert again["id"] == opp["id"]
    assert sorted(_lines(world, opp["id"])) == sorted([("OPT-7010", 2.0, 100.0, 60.0), ("LAT-5440", 1.0, 100.0, 60.0),
                                                       ("PWR-R550", 1.0, 100.0, 60.0)])


def test_crash_before_the_link_is_saved_finds_the_opportunity_by_name(world, connected):
    doc = world.quote([line("OPT-7010"), line("LAT-5440")])
    from colcw_plugin import models as links

    connected.add_fault(status="drop", method="POST", path="procurement/products", nth=1)
    world.export(doc.id)
    links.remove_link(db.session, "document", doc.id)  # as if the process died before committing the link
    db.session.commit()
    connected.clear_faults()
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    assert len(world.products(opp["id"])) == 2


def test_two_simultaneous_exports_of_one_document_make_one_opportunity(world, app, connected):
    doc = world.quote([line("OPT-7010"), line("LAT-5440")])
    connected.add_fault(latency_ms=80, path="apis/3.0/")  # widen the race window
    runs = []
    for _ in range(2):
        run = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id})
        runs.append(run.id)
    db.session.commit()
    results = []

    def go(run_id):
        with app.app_context():
            results.append(runtime().execute(db.session, run_id).status)
            db.session.remove()

    threads = [threading.Thread(target=go, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    connected.clear_faults()
    assert results == ["succeeded", "succeeded"]
    [opp] = world.opportunities()
    assert len(world.products(opp["id"])) == 2


def test_two_processes_exporting_one_document_at_once_make_one_opportunity(world, app, connected):
    """Web processes and workers run on several machines: the serialisation must hold across processes
    (PostgreSQL advisory locks), not only between threads. Two real ``colcw sync quotes`` processes."""
    doc = world.quote([line("OPT-7010"), line("LAT-5440"), line("PWR-R550")], name="Raced deal")
    connected.add_fault(latency_ms=150, path="apis/3.0/")  # each export takes ~1.5 s: the two overlap
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "SECRET_KEY": app.config["SECRET_KEY"], "COLCW_ENCRYPTION_KEY": app.config["COLCW_ENCRYPTION_KEY"],
           "COLCW_ALLOW_HTTP": "1"}
    flask = str(Path(sys.executable).parent / "flask")
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([flask, "--app", "host_stub", "colcw", "sync", "quotes", "--document", doc.number],
                              env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    connected.clear_faults()
    assert [p.returncode for p in procs] == [0, 0], outputs
    actions = sorted(ln.split()[1] for o in outputs for ln in o.splitlines() if ln.startswith(f"{doc.number} "))
    assert actions == ["created", "unchanged"], outputs  # the second waited, then found the first's work
    [opp] = world.opportunities()
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == [
        "LAT-5440", "OPT-7010", "PWR-R550"]


def test_a_single_document_export_costs_n_plus_3_requests_once_the_tenant_lists_are_cached(world, connected):
    # The first export of the day reads opportunity statuses, types and stages; later single-document
    # exports (any worker) take them from the shared cache: N + 3 requests for N lines in the catalog.
    first = world.quote([line("OPT-7010")])
    assert world.export(first.id).status == "succeeded"
    doc = world.quote([line("OPT-7010"), line("LAT-5440"), line("PWR-R550")])
    connected.clear_requests()
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    every = [r["path"] for r in connected.requests()]
    paths = [p for p in every if "/apis/3.0/" in p]
    assert not any(p.endswith(("opportunities/statuses", "opportunities/types", "sales/stages")) for p in paths), paths
    # N + 3 API requests (catalog, opportunity look-up, opportunity create, one POST per line), and no
    # codebase discovery: the first export's client found the codebase and every later client remembers it.
    assert len(paths) <= 3 + 3, paths
    assert every == paths, every
    assert run.api_requests == len(paths)


def test_the_shared_tenant_lists_expire(app, connected):
    from colcw_plugin.sync.shared.reference_cache import DbReferenceCache

    calls = []
    now = [dt_now()]
    cache = DbReferenceCache(db.engine, tenant="t", ttl_seconds=600, clock=lambda: now[0])
    assert cache.rows("statuses", lambda: calls.append(1) or [{"id": 1}]) == [{"id": 1}]
    assert cache.rows("statuses", lambda: calls.append(1) or [{"id": 2}]) == [{"id": 1}]
    now[0] += dt_delta(601)
    assert cache.rows("statuses", lambda: calls.append(1) or [{"id": 3}]) == [{"id": 3}]
    assert len(calls) == 2


def dt_now():
    from host_stub.models import utcnow

    return utcnow()


def dt_delta(seconds: int):
    import datetime as dt

    return dt.timedelta(seconds=seconds)


def test_a_line_at_fault_on_two_counts_is_one_line_that_cannot_be_exported(world):
    """An unknown manufacturer and a sub-category ConnectWise lacks, on one line: one line, both reasons."""
    doc = world.quote([line("NPC-OM4-3M", manufacturer="NorthPeak Cables", category="Hardware",
                            subcategory="Fiber")])
    run = world.export(doc.id)
    [document] = items(run)
    assert "1 line cannot be exported" in document.message, document.message
    [problem] = items(run, "line")
    assert problem.message == (
        "Line 1 (NPC-OM4-3M) is not in the ConnectWise catalog and cannot be created: sub-category \"Fiber\" of "
        "Hardware does not exist in ConnectWise; manufacturer \"NorthPeak Cables\" does not exist in ConnectWise "
        "(names must match exactly, case included).")
    assert "Create sub-category \"Fiber\" of Hardware in ConnectWise" in problem.resolution
    assert "Add \"NorthPeak Cables\" to ConnectWise's manufacturers" in problem.resolution
    assert run.entity_counts.get("line") == {"failed": 1}
    assert world.opportunities() == []


def test_a_description_longer_than_an_opportunity_product_holds_is_cut_and_said(world):
    long_text = "Fibre patch lead, " * 150  # 2,700 characters
    doc = world.quote([line("OPT-7010", description=long_text), line("LAT-5440")])
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [item] = items(run)
    assert ("The description of line 1 (OPT-7010) is longer than the 2,000 characters an opportunity product holds: "
            "ConnectWise shows the first 2,000 (its customer description keeps up to 6,000).") in item.message
    products = {p["catalogItem"]["identifier"]: p for p in world.products(_opp(world)["id"])}
    assert products["OPT-7010"]["description"] == long_text.strip()[:2000]
    assert products["OPT-7010"]["customerDescription"] == long_text.strip()
    assert "description" not in items(world.export(world.quote([line("LAT-5440")]).id))[0].message  # short: no note


def test_lines_at_fault_are_listed_in_the_documents_order(world):
    """Problems found by different checks (an item number too long, a manufacturer ConnectWise does not have) came out
    check by check: "Line 2 …, Line 1 …". They are listed as the document orders its lines."""
    doc = world.quote([line("CASE-2", manufacturer="DELL"), line("OPT-7010"), line("X" * (ITEM_MAX + 1))])
    run = world.export(doc.id)
    assert run.status == "failed"
    assert [p.label.split(" (")[0] for p in items(run, "line")] == [f"{doc.number} Line 1", f"{doc.number} Line 3"]
