"""An opportunity renamed, or lost and then reopened, by someone using colcw's API keys (a script, a person signed in
as that member) names that member on the quote page's Renamed / Reopened notes, as a Won made with colcw's keys does
(test_won_with_colcws_keys.py): "the API member API Member (colcw's keys)", never "by colcw": colcw never renames or
reopens an opportunity, so only its own close (a conversion) says "colcw". QA: the notes read "… by colcw".
Against the sandbox over HTTP, live updates on (colcw knows its member)."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import cw_labels, enable, line, settle, wait_for

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from helpers import sign_in
from host_stub.extensions import db

KEYS = "by the API member API Member (colcw's keys)"


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_rename_and_a_reopen_made_with_colcws_keys_name_the_api_member_not_colcw(
        app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Keys refresh")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    own = get_live(db.session).own_member
    assert own == "APIMember"
    client = sign_in(app.test_client(), "riley@demo.example")

    renamed = world.sandbox.edit_record("opportunities", opp["id"], {"name": "Keys refresh phase 2"}, member=own)
    day = renamed["_info"]["lastUpdated"][:10]
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{quote.id}")) and "Renamed in ConnectWise" in p
                          and p, what="the rename note"))
    assert (f"Opportunity {opp['id']} was renamed in ConnectWise on {day} {KEYS}: “Keys refresh” → "
            "“Keys refresh phase 2”.") in page, page
    assert "by colcw" not in page

    world.sandbox.set_opportunity_status(opp["id"], "Lost")  # a person's close, then colcw's keys reopen it
    settle(world.sandbox)
    wait_for(lambda: cw_labels(quote) and cw_labels(quote)[0].startswith("Lost"), what="Lost on the quote")
    reopened = world.sandbox.set_opportunity_status(opp["id"], "Open", member=own)
    day = reopened["_info"]["lastUpdated"][:10]
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{quote.id}")) and "Reopened in ConnectWise" in p
                          and p, what="the reopened note"))
    assert f"Opportunity {opp['id']} was reopened in ConnectWise on {day} {KEYS}: it was Lost" in page, page
    assert "by colcw" not in page
