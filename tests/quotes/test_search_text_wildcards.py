"""Wildcard characters in what a rep types or a line holds are matched as typed against the sandbox, which reads
``contains``, ``like`` and a ``*`` in a string the SQL Server LIKE way (API-NOTES §4.2): the opportunity chooser's
search for "50%_off" finds that opportunity only, and a catalog item whose identifier holds ``_`` or ``*`` is found
by exactly that identifier, never a look-alike."""

from __future__ import annotations

import pytest
from quote_support import line, make_opportunity

from colcw_plugin.setup.connection import build_client
from colcw_plugin.sync.quotes import picker
from colcw_plugin.sync.quotes.opportunities import OpportunitySetup
from host_stub.extensions import db


@pytest.fixture()
def client(world, box):
    with build_client(db.session, box) as c:
        yield c


def test_the_opportunity_search_matches_percent_underscore_and_brackets_as_typed(world, client):
    make_opportunity(world, "50%_off spring deal")
    make_opportunity(world, "500 off spring deal")  # "%50%_off%" unescaped: "50", "0", " " then "off"
    make_opportunity(world, "A_B [x] rollout")
    make_opportunity(world, "AxB x rollout")  # "%A_B [x]%" unescaped
    make_opportunity(world, "2*3 racks")
    make_opportunity(world, "2 by 3 racks")  # "*" a wildcard unescaped
    setup = OpportunitySetup(client)

    def found(text: str) -> list[str]:
        return sorted(c.name for c in picker.company_opportunities(client, setup, world.company_id, search=text))

    assert found("50%_off") == ["50%_off spring deal"]
    assert found("A_B [x]") == ["A_B [x] rollout"]
    assert found("[x]") == ["A_B [x] rollout"]
    assert found("2*3") == ["2*3 racks"]
    assert found("%") == ["50%_off spring deal"]
    assert found("_") == ["50%_off spring deal", "A_B [x] rollout"]


def _catalog_item(world, identifier: str) -> dict:
    sub = world.sandbox.api("GET", "procurement/subcategories/").json()[0]
    resp = world.sandbox.api("POST", "procurement/catalog", json={
        "identifier": identifier, "description": f"{identifier} look-alike", "customerDescription": identifier,
        "subcategory": {"id": sub["id"]}, "type": {"name": "Hardware"}})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize("identifier", ["CAB_6", "KIT*9", "[PT]-100%"])
def test_a_catalog_item_whose_create_answer_was_lost_is_found_by_its_exact_identifier(world, identifier, caplog):
    # A page (25) of items an unescaped identifier would match ("_" one character, "*" and "%" any text, "[PT]" a
    # class), created before the line's own item so they come first.
    for i in range(26):
        _catalog_item(world, identifier.replace("_", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]).replace("*", f"X{i:02d}")
                      .replace("[PT]", "P").replace("%", f"{i:02d}"))
    doc = world.quote([line(identifier, description="Cable kit", manufacturer="Lenovo", price=50, cost=20)])

    def posts() -> int:
        return sum(r["method"] == "POST" and r["path"].endswith("procurement/catalog") for r in world.sandbox.requests())

    before = posts()
    world.sandbox.add_fault(status="drop", applied=True, method="POST", path=r"procurement/catalog$", count=1)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    assert posts() - before == 1  # the line's item once: its lost answer was found, not sent again
    # Found by the look-up right after the lost answer, by its identifier exactly: the look-alikes did not fill the
    # page it was looked for on (the run's next look-up of the line's items would find it too, later).
    lost = [r.getMessage() for r in caplog.records if "did not acknowledge creating catalog item" in r.getMessage()]
    assert len(lost) == 1 and "but holds it" in lost[0], lost
    mine = [i for i in world.api("procurement/catalog") if i["identifier"] == identifier]
    assert len(mine) == 1
    [opp] = world.opportunities()
    assert [p["catalogItem"]["id"] for p in world.products(opp["id"])] == [mine[0]["id"]]
