"""An opportunity set Won by someone using colcw's API keys (a script, a person signed in as that member), not by a
colcw conversion, comes back like a person's Won: the quote page names the API member and says it was colcw's keys,
never "by colcw" (which is colcw's own Won, a conversion, "by colcw for sales order SO…"). QA: it read "Won in
ConnectWise on 2026-12-06 by colcw". Against the sandbox over HTTP, live updates on (colcw knows its member)."""

from __future__ import annotations

from html import unescape

from inbound_support import cw_labels, enable, line, settle, wait_for

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from helpers import sign_in
from host_stub.extensions import db


def test_a_won_made_with_colcws_keys_names_the_api_member_not_colcw(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010", qty=2)], name="Keys deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    own = get_live(db.session).own_member
    assert own == "APIMember"

    world.sandbox.set_opportunity_status(opp["id"], "Won", member=own)  # with colcw's keys, no conversion
    settle(world.sandbox)
    wait_for(lambda: cw_labels(quote)[0].startswith("Won"), what="Won on the quote")

    day = world.sandbox.api("GET", f"sales/opportunities/{opp['id']}").json()["closedDate"][:10]
    label = f"Won in ConnectWise on {day} by the API member API Member (colcw's keys)"
    assert cw_labels(quote) == [label]
    page = unescape(sign_in(app.test_client(), "riley@demo.example").get(f"/documents/{quote.id}")
                    .get_data(as_text=True))
    assert label in " ".join(page.split())
    assert "by colcw" not in page
