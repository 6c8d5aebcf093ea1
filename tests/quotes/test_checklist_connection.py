"""The export checklist when ConnectWise cannot be asked (keys it refuses, a site it cannot reach, a server error):
the connection row says ✗ with a reason a rep can act on, what only ConnectWise can tell (where the export goes,
whether the lines can go) is shown as not checked — neither ✓ nor ✗ — and Export now stays disabled, also for a
Lost opportunity whose confirmation ConnectWise could not be asked for."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import line

from colcw_plugin.setup.connection import get_settings
from helpers import connection_unreachable, csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

REFUSED = "ConnectWise refuses colcw's keys: ask an admin to check the API keys and run Test Connection"
UNREACHABLE = "ConnectWise cannot be reached right now: try again later."


def _rows(page: str) -> dict[str, tuple[str, str, str]]:
    """The checklist's rows by label: (the row's class, its mark, its text)."""
    table = page.split('id="colcw-preflight"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for cls, body in re.findall(r'<tr class="([^"]*)"[^>]*>(.*?)</tr>', table, re.S):
        cells = [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        rows[cells[1]] = (cls, cells[0], cells[2])
    return rows


def _page(client, doc_id: int) -> str:
    resp = client.get(f"/colcw/documents/{doc_id}/export")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _wrong_keys(box) -> None:
    get_settings(db.session).secret_encrypted = box.encrypt("wrong-private-key")
    db.session.commit()


def _export_disabled(page: str) -> bool:
    return re.search(r'<button type="submit" id="colcw-export-submit"[^>]* disabled>', page) is not None


def _not_ticked_but_unchecked(row: tuple[str, str, str]) -> None:
    cls, mark, text = row
    assert cls == "unchecked" and mark == "–" and text.startswith("Not checked: ConnectWise could not be asked"), row


def test_keys_connectwise_refuses_fail_the_connection_row_and_leave_the_rest_unchecked(world, box, rep_client):
    quote = world.quote([line("OPT-7010"), line("LAT-5440"), line("PWR-R550")], name="Keys deal")
    assert "Each of its 3 lines can be exported." in _rows(_page(rep_client, quote.id))["Lines"][2]
    _wrong_keys(box)

    page = _page(rep_client, quote.id)
    rows = _rows(page)
    assert rows["ConnectWise connection"][:2] == ("error", "✗")
    assert rows["ConnectWise connection"][2] == f"{REFUSED} (Admin → Integration → ConnectWise)."
    _not_ticked_but_unchecked(rows["Lines"])  # not "Each of its 3 lines can be exported"
    _not_ticked_but_unchecked(rows["Opportunity"])
    assert rows["Customer Acme Dental in ConnectWise"][:2] == ("ok", "✓")  # colcw's own records still tell it
    assert _export_disabled(page)
    assert "Export now is unavailable until “ConnectWise connection” is fixed" in page
    assert "The export checks again" not in page
    assert 'id="colcw-check-again"' not in page  # keys it refuses: an admin's fix, not a moment's wait
    assert 'id="colcw-choose-opportunity"' not in page  # ConnectWise cannot list its opportunities either


def test_a_site_connectwise_cannot_reach_says_try_again_later(world, rep_client):
    quote = world.quote([line("OPT-7010")], name="Unreachable deal")
    connection_unreachable()
    page = _page(rep_client, quote.id)
    rows = _rows(page)
    assert rows["ConnectWise connection"] == ("error", "✗", f"{UNREACHABLE} Check again")  # (asked again in place)
    _not_ticked_but_unchecked(rows["Lines"])  # the row is there, not gone
    assert _export_disabled(page)
    assert "Export now is available once ConnectWise answers: check again in a moment." in page  # nothing to fix


def test_a_linked_opportunity_is_not_ticked_while_connectwise_fails(world, rep_client):
    """ConnectWise answering with server errors: the page does not claim the linked opportunity (deleted there)
    takes the lines."""
    quote = world.quote([line("OPT-7010")], name="Deleted deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    assert world.sandbox.api("DELETE", f"sales/opportunities/{opp['id']}").status_code == 204
    world.sandbox.add_fault(status=503, method="GET")
    page = _page(rep_client, quote.id)
    rows = _rows(page)
    assert rows["ConnectWise connection"] == ("error", "✗", f"{UNREACHABLE} Check again")
    _not_ticked_but_unchecked(rows["Opportunity"])
    assert f"Linked to opportunity {opp['id']}" not in page
    assert _export_disabled(page)


def test_a_lost_opportunity_cannot_be_exported_into_unconfirmed_while_connectwise_refuses_the_keys(
        world, box, rep_client):
    lost = next(s for s in world.api("sales/opportunities/statuses") if s["lostFlag"])
    resp = world.sandbox.api("POST", "sales/opportunities", json={
        "name": "Lost deal", "company": {"id": world.company_id}, "contact": {"id": world.cw_contact_id},
        "primarySalesRep": {"id": world.member_id}, "status": {"id": lost["id"]}})
    assert resp.status_code == 201, resp.text
    quote = world.quote([line("OPT-7010")], name="Lost deal")
    assert "Yes, export into this Lost opportunity" in _page(rep_client, quote.id)
    _wrong_keys(box)

    page = _page(rep_client, quote.id)
    assert _rows(page)["ConnectWise connection"][:2] == ("error", "✗")
    assert _export_disabled(page)
    # A click anyway (a page opened before) queues nothing: the export would go into the Lost opportunity unasked.
    resp = rep_client.post(f"/colcw/documents/{quote.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.location.endswith(f"/colcw/documents/{quote.id}/export")
    assert "Not exported: “ConnectWise connection” must be fixed first" in html_lib.unescape(
        rep_client.get(resp.location).get_data(as_text=True))
    assert [o["name"] for o in world.opportunities()] == ["Lost deal"]
    assert world.products(world.opportunities()[0]["id"]) == []


def test_an_area_the_api_member_may_not_read_names_the_security_role_not_the_keys(world, connected, rep_client):
    """A 403 is no wrong key: the API member's security role lacks an area. The connection row says which fix."""
    quote = world.quote([line("OPT-7010")], name="Denied deal")
    connected.deny(["sales/opportunities"])
    rows = _rows(_page(rep_client, quote.id))
    cls, mark, text = rows["ConnectWise connection"]
    assert (cls, mark) == ("error", "✗")
    assert text.startswith("ConnectWise denies colcw's API member access")
    assert "security role" in text and "System → Security Roles" in text and "keys" not in text
