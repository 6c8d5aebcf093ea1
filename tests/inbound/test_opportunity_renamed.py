"""An opportunity renamed in ConnectWise: the live update says so, and the document's page names the opportunity as
ConnectWise does now beside the name the export found (it went on naming it as it was at the export, with no word
of the change)."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import enable, line, run_items, wait_for
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, DocumentExport, Link
from helpers import sign_in
from host_stub.extensions import db


def _known_name(doc_id: int) -> str:
    db.session.expire_all()
    return db.session.execute(select(DocumentExport.opportunity_name)
                              .where(DocumentExport.document_id == doc_id)).scalar() or ""


def test_a_rename_in_connectwise_comes_back_to_the_documents_page(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Harbor refresh")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    old = opp["name"]
    assert _known_name(quote.id) == old
    enable(live_server.url, HOST_MASTER)

    world.sandbox.api("PATCH", f"sales/opportunities/{opp['id']}",
                      json=[{"op": "replace", "path": "name", "value": "Harbor refresh — phase 2"}])
    wait_for(lambda: _known_name(quote.id) == "Harbor refresh — phase 2", what="the new name on the document")
    link = db.session.execute(select(Link).where(Link.entity == "document", Link.host_id == quote.id)).scalar_one()
    assert link.cw_identifier == "Harbor refresh — phase 2"
    # The run's results are written behind it, after the document's change commits: wait for them too.
    said = wait_for(lambda: [i for i in run_items("cw_live_update") if i.host_id == quote.id and i.action == "updated"],
                    what="the live update's result")
    assert said and f"its opportunity {opp['id']} was renamed in ConnectWise from “{old}” to " \
                   "“Harbor refresh — phase 2”" in said[-1].message

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{quote.id}")
    # The panel's export line names it as the export found it, and as ConnectWise does now; the note of the rename
    # says old → new.
    state = page[page.index('id="colcw-export-state"'):]
    state = state[:state.index("</p>")]
    assert f"{opp['id']} “{old}”</a> (its name then; ConnectWise has since renamed it “Harbor refresh — phase 2”)" \
        in state
    assert f"“{old}” → “Harbor refresh — phase 2”" in page

    # Exported again, the opportunity keeps the name it was given in ConnectWise.
    assert world.export(quote.id).status == "succeeded"
    assert world.opportunities()[0]["name"] == "Harbor refresh — phase 2"
    assert _known_name(quote.id) == "Harbor refresh — phase 2"
