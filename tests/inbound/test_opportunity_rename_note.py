"""An opportunity renamed in ConnectWise is a note on its document's page, like the other "changed in ConnectWise"
notes: the old and the new name, who renamed it and when (as ConnectWise says), and what it means for the document.
The document is not rewritten (its opportunity-name field keeps the name it was exported with), and the next export
neither renames the opportunity back nor creates a second one: the note stays true."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, line, wait_for

from helpers import sign_in
from host_stub.extensions import db
from host_stub.models import Document


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _name_field(world, doc_id: int) -> str:
    db.session.expire_all()
    doc = db.session.get(Document, doc_id)
    return next((fv.value for fv in doc.field_values if fv.field_id == world.field_id), "")


def test_a_rename_in_connectwise_is_a_note_on_the_quote_page_and_survives_the_next_export(
        app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Harbor refresh")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    client = sign_in(app.test_client(), "riley@demo.example")
    assert "Renamed in ConnectWise" not in _text(loaded(client, f"/documents/{quote.id}"))

    renamed = world.sandbox.edit_record("opportunities", opp["id"], {"name": "Harbor refresh phase 2"})
    day = renamed["_info"]["lastUpdated"][:10]
    who = "Sandbox Admin"  # admin1 (renamed["_info"]["updatedBy"]), named as the Won/Lost label names a member
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{quote.id}")) and "Renamed in ConnectWise" in p
                          and p, what="the rename note"))
    assert (f"Opportunity {opp['id']} was renamed in ConnectWise on {day} by {who}: “Harbor refresh” → "
            "“Harbor refresh phase 2”.") in page, page
    assert (f"{quote.number}'s opportunity name field still says “Harbor refresh”; colcw did not change it. "
            f"Exporting {quote.number} again keeps ConnectWise's name") in page, page
    assert re.search(r"Renamed in ConnectWise \(seen \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", page), page
    assert _name_field(world, quote.id) == "Harbor refresh"  # the document is not rewritten

    # The next export keeps ConnectWise's name on the one opportunity, and the note still holds.
    assert world.export(quote.id).status == "succeeded"
    assert [(o["id"], o["name"]) for o in world.opportunities()] == [(opp["id"], "Harbor refresh phase 2")]
    page = _text(loaded(client, f"/documents/{quote.id}"))
    assert "“Harbor refresh” → “Harbor refresh phase 2”" in page, page


def test_a_rename_back_ends_the_note(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Harbor refresh")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    client = sign_in(app.test_client(), "riley@demo.example")
    world.sandbox.edit_record("opportunities", opp["id"], {"name": "Harbor refresh phase 2"})
    wait_for(lambda: "Renamed in ConnectWise" in loaded(client, f"/documents/{quote.id}"), what="the rename note")
    world.sandbox.edit_record("opportunities", opp["id"], {"name": "Harbor refresh"})
    wait_for(lambda: "Renamed in ConnectWise" not in loaded(client, f"/documents/{quote.id}"),
             what="the note to end")
