"""Service and Labor lines not in the ConnectWise catalog become Service-class catalog items and need no
manufacturer; products keep their manufacturer rule (user guide §1.6)."""

from __future__ import annotations

from quote_support import items, line


def _forecast_items(world, opp_id: int) -> list[dict]:
    answer = world.api(f"sales/opportunities/{opp_id}/forecast")
    forecast = answer[0] if isinstance(answer, list) else answer
    return forecast["forecastItems"]


def test_a_service_line_not_in_the_catalog_becomes_a_service_class_item(world):
    doc = world.quote([line("SVC-NEW-1", product_type="Service", category="Hardware", subcategory="Desktops"),
                       line("NEW-PROD-1")])
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [svc] = world.api("procurement/catalog", conditions='identifier="SVC-NEW-1"')
    [prod] = world.api("procurement/catalog", conditions='identifier="NEW-PROD-1"')
    assert svc["productClass"] == "Service"
    assert prod["productClass"] == "NonInventory"  # products stay as they were
    [opp] = world.opportunities()
    classes = {p["catalogItem"]["identifier"]: p["productClass"] for p in world.products(opp["id"])}
    assert classes == {"SVC-NEW-1": "Service", "NEW-PROD-1": "NonInventory"}
    by_desc = {f["productDescription"]: f["productClass"] for f in _forecast_items(world, opp["id"])}
    assert by_desc["SVC-NEW-1 description"] == "Service"


def test_a_labor_line_without_a_manufacturer_is_created_without_one(world):
    doc = world.quote([line("LAB-NEW-1", product_type="Labor", manufacturer="")])
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="LAB-NEW-1"')
    assert item["productClass"] == "Service"
    assert not item.get("manufacturer")


def test_a_product_line_without_a_manufacturer_is_still_refused(world):
    doc = world.quote([line("NOMAKER-1", manufacturer="")])
    run = world.export(doc.id)
    assert run.status != "succeeded"
    assert any("the line has no manufacturer" in (i.message or "") for i in items(run, "line"))
    assert world.api("procurement/catalog", conditions='identifier="NOMAKER-1"') == []


def test_a_manufacturer_differing_only_in_case_names_the_one_connectwise_has(world):
    doc = world.quote([line("CASE-HINT-1", manufacturer="dell")])
    run = world.export(doc.id)
    assert run.status != "succeeded"
    [problem] = [i.message for i in items(run, "line") if "dell" in (i.message or "")]
    assert problem == ("Line 1 (CASE-HINT-1) is not in the ConnectWise catalog and cannot be created: manufacturer "
                       "“dell” does not exist in ConnectWise, which has “Dell” (names must match exactly, case "
                       "included).")
    assert world.api("procurement/catalog", conditions='identifier="CASE-HINT-1"') == []
