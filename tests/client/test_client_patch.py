"""PATCH bodies: replace ops of only the changed fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cwtest_support import BASE

from colcw_plugin.cw import diff_patch, patch_ops


def test_diff_patch_lists_only_changed_fields():
    old = {
        "id": 1,
        "name": "Acme",
        "phoneNumber": "1",
        "status": {"id": 1, "name": "Active"},
        "_info": {"a": 1},
    }
    new = {"id": 1, "name": "Acme Ltd", "phoneNumber": "1", "status": {"id": 2}, "_info": {"a": 2}}
    assert diff_patch(old, new) == [
        {"op": "replace", "path": "name", "value": "Acme Ltd"},
        {"op": "replace", "path": "status", "value": {"id": 2}},  # references replaced whole
    ]


def test_diff_patch_normalises_datetimes_and_decimals():
    old = {"expectedCloseDate": "2025-06-30T00:00:00Z", "price": 10.5}
    new = {"expectedCloseDate": datetime(2025, 6, 30, tzinfo=UTC), "price": Decimal("10.50")}
    assert diff_patch(old, new) == []
    assert diff_patch(old, {"price": Decimal("11")}) == [{"op": "replace", "path": "price", "value": 11.0}]


def test_diff_patch_adds_new_fields_and_leaves_missing_ones_alone():
    assert diff_patch({"a": 1, "b": 2}, {"c": None}) == [{"op": "remove", "path": "c"}]  # null clears by remove


def test_patch_ops_refuse_nested_paths():
    with pytest.raises(ValueError):
        patch_ops({"company/id": 3})
    with pytest.raises(ValueError):
        patch_ops({"/name": "x"})


def test_resource_patch_sends_replace_ops_of_the_given_fields(rsps, make_client):
    rsps.patch(BASE + "sales/opportunities/7", json={"id": 7})
    make_client().opportunities.patch(7, {"status": {"id": 2}, "expectedCloseDate": datetime(2025, 1, 2)})
    body = json.loads(rsps.calls[-1].request.body)
    assert body == [
        {"op": "replace", "path": "status", "value": {"id": 2}},
        {"op": "replace", "path": "expectedCloseDate", "value": "2025-01-02T00:00:00Z"},
    ]
    assert rsps.calls[-1].request.headers["Content-Type"] == "application/json"


def test_empty_patch_is_refused(make_client):
    with pytest.raises(ValueError):
        make_client().companies.patch(1, {})


def test_subcategories_use_the_trailing_slash_for_list_and_create(rsps, make_client):
    rsps.get(BASE + "procurement/subcategories/", json=[])
    rsps.post(BASE + "procurement/subcategories/", json={"id": 3}, status=201)
    rsps.get(BASE + "procurement/subcategories/3", json={"id": 3})
    client = make_client()
    client.subcategories.list()
    client.subcategories.create({"name": "x", "category": {"id": 1}})
    assert client.subcategories.get(3) == {"id": 3}


def test_forecast_items_accept_both_shapes(rsps, make_client):
    item = {"id": 1, "forecastType": "Product"}
    rsps.get(BASE + "sales/opportunities/5/forecast", json=[{"id": 9, "forecastItems": [item]}])
    rsps.get(BASE + "sales/opportunities/6/forecast", json={"id": 9, "forecastItems": [item]})
    client = make_client()
    assert client.opportunity_forecast(5).items() == [item]
    assert client.opportunity_forecast(6).items() == [item]
