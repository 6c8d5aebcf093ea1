"""Import From ConnectWise's popup search treats ``%``, ``_``, ``[`` and ``*`` as the text typed: against the
sandbox (ConnectWise's ``contains`` read as SQL Server LIKE, API-NOTES §4.2), a search for "A_B [x]" or "50%_off"
asks for that company only, so look-alikes ("AxB x", "500 off") do not fill the page and hide it."""

from __future__ import annotations

import pytest

from colcw_plugin.setup.connection import build_client
from colcw_plugin.sync.customers import lookup
from host_stub.extensions import db


def _company(sandbox, identifier: str, name: str) -> None:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX"})
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(("name", "look_alike"), [("A_B [x]", "A1B x {:02d}"), ("50%_off", "1 500 off {:02d}"),
                                                  ("2*3 racks", "1 2x3 racks {:02d}")])
def test_the_popup_search_finds_the_company_named_as_typed_and_no_look_alike(connected, box, name, look_alike):
    # More look-alikes than the page holds, each sorting before the company sought; none holds the typed words
    # (the popup's accent-blind word search would rightly offer it).
    for i in range(lookup.MAX_SHOWN + 1):
        _company(connected, f"LOOK{i:02d}", look_alike.format(i))
    _company(connected, "SOUGHT", name)
    with build_client(db.session, box) as client:
        found = lookup.companies_like(db.session, client, name)
        assert [c.name for c in found.choices] == [name] and not found.more
        imported = lookup.for_import(db.session, client, name)
    assert imported.found is not None and [c.identifier for c in imported.found.choices] == ["SOUGHT"]
