"""A quote whose opportunity was deleted in ConnectWise: the Quotes list and the document's panel say so and what
exporting again does (one definition, sync/quotes/gone.py), never "Exported", and link nowhere."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_support import enable, line, wait_for

from colcw_plugin.models import HOST_MASTER, get_link
from helpers import sign_in
from host_stub.extensions import db

GONE_LABEL = "Opportunity deleted in ConnectWise — export again to create one"


def _row(page: str, number: str) -> tuple[str, str]:
    for row in re.findall(r'<tr data-row="\d+">(.*?)</tr>', page, re.S):
        if f">{number}</a>" in row:
            cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-(\w+)" title="([^"]*)">([^<]*)</span>',
                             row)
            return html_lib.unescape(cell.group(3)), html_lib.unescape(cell.group(2))
    raise AssertionError(f"{number} not listed")


def _state_line(page: str) -> str:
    m = re.search(r'<p id="colcw-export-state"[^>]*>(.*?)</p>', page, re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(1)))).strip()


def test_a_deleted_opportunity_is_not_exported_in_the_list_nor_linked_from_the_panel(app, world, live_server,
                                                                                     worker_thread):
    quote = world.quote([line("OPT-7010")], name="Gone deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    client = sign_in(app.test_client(), "riley@demo.example")
    assert _row(loaded(client, "/quotes/"), quote.number)[0] == "Exported"
    before = loaded(client, f"/documents/{quote.id}")
    assert 'id="colcw-opportunity-link"' in before and f"recid={opp['id']}&amp;" in before

    enable(live_server.url, HOST_MASTER)
    world.sandbox.delete_record("opportunities", opp["id"])
    wait_for(lambda: get_link(db.session, "document", quote.id).status == "missing_in_cw")

    why = (f"Opportunity {opp['id']} “Gone deal” was deleted in ConnectWise. Export the document again to add its "
           "lines to a new opportunity (or to the customer's opportunity of the same name).")
    assert _row(loaded(client, "/quotes/"), quote.number) == (GONE_LABEL, why)
    assert f">{quote.number}</a>" in loaded(client, "/quotes/?cw=failed")
    assert f">{quote.number}</a>" not in loaded(client, "/quotes/?cw=synced")
    page = loaded(client, f"/documents/{quote.id}")
    assert 'id="colcw-opportunity-link"' not in page and f"recid={opp['id']}&amp;" not in page
    state = _state_line(page)
    assert state.startswith("Exported") and state.endswith(
        f"; since then, opportunity {opp['id']} “Gone deal” was deleted in ConnectWise. Export the document again to "
        "add its lines to a new opportunity (or to the customer's opportunity of the same name)."), state

    # What it says happens: exporting again makes a new opportunity, and the document is Exported to it.
    assert world.export(quote.id).status == "succeeded"
    [new] = world.opportunities()
    assert new["id"] != opp["id"]
    assert _row(loaded(client, "/quotes/"), quote.number)[0] == "Exported"
    assert 'id="colcw-opportunity-link"' in loaded(client, f"/documents/{quote.id}")
