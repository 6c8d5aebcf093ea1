"""An opportunity won, then renamed in ConnectWise: the quote panel's header names it as ConnectWise does now (as live
updates last read it), and the line of its export by the name the export found, saying it was renamed since. QA: the
header still said Opportunity 6 “Backup project 2026” (written when it was won) while the export line said "Exported …
to opportunity 6 “Backup + DR project 2026”", a name the export never went to. Against the sandbox over HTTP."""

from __future__ import annotations

import re
from html import unescape

from htmx_loads import loaded
from inbound_support import cw_status, enable, line, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Link
from helpers import sign_in
from host_stub.extensions import db


def _part(page: str, marker: str) -> str:
    found = page[page.index(marker):]
    return " ".join(unescape(re.sub(r"<[^>]+>", "", found[:found.index("</p>")])).split())


def _renamed(doc_id: int, name: str) -> bool:
    db.session.expire_all()
    return db.session.execute(select(Link.cw_identifier).where(Link.entity == "document",
                                                               Link.host_id == doc_id)).scalar() == name


def test_the_header_names_the_opportunity_now_and_the_export_line_as_exported(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Backup project 2026")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    old, new = opp["name"], "Backup + DR project 2026"
    enable(live_server.url, HOST_MASTER)
    world.sandbox.set_opportunity_status(opp["id"], "Won")
    wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "won", what="Won on the quote")
    settle(world.sandbox)

    world.sandbox.api("PATCH", f"sales/opportunities/{opp['id']}",
                      json=[{"op": "replace", "path": "name", "value": new}])
    wait_for(lambda: _renamed(quote.id, new), what="the new name on the document")
    settle(world.sandbox)

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{quote.id}")
    header = _part(page, 'id="colcw-cw-status"')
    assert f"Opportunity {opp['id']} “{new}”" in header and f"“{old}”" not in header, header
    state = _part(page, 'id="colcw-export-state"')
    assert f"to opportunity {opp['id']} “{old}” (its name then; ConnectWise has since renamed it “{new}”)." in state, \
        state

    # Exported again, the export went to the opportunity as it is named now.
    assert world.export(quote.id).status == "succeeded"
    page = loaded(client, f"/documents/{quote.id}")
    state = _part(page, 'id="colcw-export-state"')
    assert f"to opportunity {opp['id']} “{new}”." in state and f"“{old}”" not in state, state
