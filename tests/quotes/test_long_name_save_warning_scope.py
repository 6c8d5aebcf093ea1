"""When saving a document warns of what ConnectWise cannot hold (the hook ``document_save_warnings``): its opportunity
name, with the export checklist's own sentence, and a line's item number, with the export's own; only while colcw is
connected, only for a document whose export would name a new opportunity by its name (an exported one stays linked
by id, as its checklist says), in one warning, and never by refusing the save."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line

from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

LONG = "Acme Dental office move " + "x" * 96  # 120 characters


def _save_name(client, doc: Document, field_id: int, name: str, item: str | None = None) -> str:
    """Save ``doc``'s opportunity name (and its first line's item number) through the host's edit form; the page the
    rep lands on."""
    form = client.get(f"/documents/{doc.id}/edit").get_data(as_text=True)
    data = {"csrf_token": csrf_from(form), "customer_id": str(doc.customer_id), "contact_id": str(doc.contact_id),
            "sales_rep_id": "", "title": doc.title or "", f"field-{field_id}": name}
    for i, ln in enumerate(doc.lines):
        data.update({f"lines-{i}-id": str(ln.id), f"lines-{i}-item_number": item if item and i == 0 else ln.item_number,
                     f"lines-{i}-quantity": str(ln.quantity), f"lines-{i}-price": str(ln.price),
                     f"lines-{i}-product_type": ln.product_type})
    resp = client.post(f"/documents/{doc.id}/edit", data=data)
    assert resp.status_code == 302 and resp.location.endswith(f"/documents/{doc.id}"), resp.get_data(as_text=True)
    return client.get(resp.location).get_data(as_text=True)


def _flashes(page: str) -> list[tuple[str, str]]:
    return [(cls, " ".join(html.unescape(text).split()))
            for cls, text in re.findall(r'<div class="flash ([^"]+)" role="status">(.*?)</div>', page, re.S)]


def _saved_name(doc_id: int, field_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Document, doc_id).field_value(field_id)


def test_the_warning_is_the_checklists_own_sentence(world, rep_client):
    quote = world.quote([line("OPT-7010")], name="Short")
    flashes = _flashes(_save_name(rep_client, quote, world.field_id, LONG))
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    checklist = rep_client.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    row = re.search(r'<tr class="[^"]*" id="colcw-check-opportunity">(.*?)</tr>', checklist, re.S).group(1)
    row = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    said = flashes[1][1].removeprefix(f"Quote {quote.number} cannot be exported to ConnectWise as it is. ")
    assert said.startswith("The opportunity name") and said in row
    assert _saved_name(quote.id, world.field_id) == LONG


def test_no_warning_while_colcw_is_not_connected(world, rep_client):
    quote = world.quote([line("OPT-7010")], name="Short")
    get_settings(db.session).site_url = ""  # the connection not set up (the name field is still chosen)
    db.session.commit()
    assert _flashes(_save_name(rep_client, quote, world.field_id, LONG)) == [
        ("success", f"Quote {quote.number} saved.")]
    assert _saved_name(quote.id, world.field_id) == LONG


def test_no_warning_for_an_exported_document_which_stays_linked_by_id(world, rep_client):
    quote = world.quote([line("OPT-7010")], name="Original name")
    assert world.export(quote.id).status == "succeeded"
    services.set_locked(quote.id, False)
    db.session.expire_all()
    quote = db.session.get(Document, quote.id)
    assert _flashes(_save_name(rep_client, quote, world.field_id, LONG)) == [
        ("success", f"Quote {quote.number} saved.")]
    assert _saved_name(quote.id, world.field_id) == LONG


def test_a_line_whose_item_number_the_catalog_cannot_hold_is_said_in_the_same_warning(world, rep_client):
    quote = world.quote([line("OPT-7010")], name="Short")
    item = "OPT-7010-" + "9" * 46  # 55 characters: the host holds 60, ConnectWise's catalog 50
    flashes = _flashes(_save_name(rep_client, quote, world.field_id, LONG, item=item))
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    said = flashes[1][1]
    assert said.startswith(f"Quote {quote.number} cannot be exported to ConnectWise as it is. The opportunity name")
    assert said.endswith(f"Line 1 ({item}) has an item number longer than 50 characters, which ConnectWise's catalog "
                         "cannot hold. Shorten the item number on the line.")
    db.session.expire_all()
    assert db.session.get(Document, quote.id).lines[0].item_number == item
