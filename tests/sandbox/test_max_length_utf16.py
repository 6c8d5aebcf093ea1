""""Max length: N" is counted as ConnectWise's .NET/SQL Server stack counts it: in UTF-16 code units.

A character outside the Basic Multilingual Plane (an emoji) is two units there and one in Python, so a
client that measures with ``len()`` can send a value ConnectWise refuses. The sandbox refuses it too.
"""

from __future__ import annotations

from cw_helpers import field_errors

EMOJI = "\N{FIRE}"  # U+1F525: one Python character, two UTF-16 code units


def _catalog_body(cw, description: str) -> dict:
    sub = cw.api("GET", "procurement/subcategories/", params={"pageSize": 1}).json()[0]
    kind = cw.api("GET", "procurement/types", params={"pageSize": 1}).json()[0]
    return {"identifier": "UTF16-1", "description": description, "customerDescription": description,
            "subcategory": {"id": sub["id"]}, "type": {"id": kind["id"]}}


def test_an_emoji_counts_two_towards_a_max_length(cw_sandbox_demo):
    over = "a" * 59 + EMOJI  # 60 characters, 61 UTF-16 code units; CatalogItem.description holds 60
    errors = field_errors(cw_sandbox_demo.api("POST", "procurement/catalog", json=_catalog_body(cw_sandbox_demo, over)))
    assert errors == {"description": "MaxLengthField"}


def test_a_value_at_the_limit_in_utf16_units_is_taken(cw_sandbox_demo):
    fits = "a" * 58 + EMOJI  # 60 units
    resp = cw_sandbox_demo.api("POST", "procurement/catalog", json=_catalog_body(cw_sandbox_demo, fits))
    assert resp.status_code == 201, resp.json()
    assert resp.json()["description"] == fits


def test_accented_letters_count_one(cw_sandbox_demo):
    accented = "\N{LATIN SMALL LETTER E WITH ACUTE}" * 60  # precomposed: one code unit each
    assert cw_sandbox_demo.api("POST", "procurement/catalog",
                               json=_catalog_body(cw_sandbox_demo, accented)).status_code == 201


def test_patch_counts_the_same_way(cw_sandbox_demo):
    opp = cw_sandbox_demo.api("GET", "sales/opportunities", params={"pageSize": 1}).json()[0]
    resp = cw_sandbox_demo.api("PATCH", f"sales/opportunities/{opp['id']}",
                               json=[{"op": "replace", "path": "name", "value": "n" * 99 + EMOJI}])
    assert field_errors(resp) == {"name": "MaxLengthField"}


def test_a_product_description_copied_into_its_forecast_row_is_cut_in_units(cw_sandbox_demo):
    """The forecast row's description (50) is cut from the product's, never past the limit nor inside an emoji:
    the row stays writable afterwards."""
    opp = cw_sandbox_demo.api("GET", "sales/opportunities", params={"pageSize": 1}).json()[0]
    item = cw_sandbox_demo.api("GET", "procurement/catalog", params={"pageSize": 1}).json()[0]
    product = cw_sandbox_demo.api("POST", "procurement/products", json={
        "catalogItem": {"id": item["id"]}, "opportunity": {"id": opp["id"]}, "billableOption": "Billable",
        "description": "d" * 49 + EMOJI + "tail"}).json()
    row_id = product["forecastDetailId"]
    row = cw_sandbox_demo.api("GET", f"sales/opportunities/{opp['id']}/forecast/{row_id}").json()
    assert row["forecastDescription"] == "d" * 49
    resp = cw_sandbox_demo.api("PATCH", f"sales/opportunities/{opp['id']}/forecast/{row_id}",
                               json=[{"op": "replace", "path": "revenue", "value": 10.0}])
    assert resp.status_code == 200, resp.json()
