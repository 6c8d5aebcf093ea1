"""Product integration mapping → Manufacturers: a name typed in the new row with "— no alias —" left chosen was
dropped without a word under "Saved.". It is refused in that row, with what to do, nothing is saved, and the page
keeps everything the admin typed."""

from __future__ import annotations

import html as html_lib

from admin_support import BASE, add_document_lines, form_fields, page_form
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from host_stub.extensions import db


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def test_a_new_row_with_a_name_and_no_alias_is_refused_in_its_row(admin_client, connected_demo):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    form = page_form(admin_client, "/products", "save-manufacturers")
    rows = {v: k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and v}
    new = next(k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and not v)
    form[f"alias_cw-{rows['Acme Widgets']}"] = "3M"  # a good change in another row is not saved either
    form[f"alias_host-{new}"], form[f"alias_cw-{new}"] = "Globex Parts", ""
    resp = admin_client.post(BASE + "/products", data=form)
    page = html_lib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert "Saved." not in page
    assert "Nothing was saved: correct the rows marked below." in page
    row = page[page.index(f'name="alias_host-{new}"'):]
    row = row[:row.index("</tr>")]
    assert "Globex Parts has no ConnectWise manufacturer chosen" in row
    assert "choose its ConnectWise manufacturer in this row, or clear the name" in row
    assert _aliases() == {}
    again = form_fields(resp.get_data(as_text=True), "save-manufacturers")
    assert again[f"alias_cw-{rows['Acme Widgets']}"] == "3M"
    assert (again[f"alias_host-{new}"], again[f"alias_cw-{new}"]) == ("Globex Parts", "")

    # Choosing a manufacturer in that row then saves both rows.
    again[f"alias_cw-{new}"] = "Acer"
    assert admin_client.post(BASE + "/products", data=again).status_code == 302
    assert _aliases() == {"Acme Widgets": "3M", "Globex Parts": "Acer"}


def test_listed_rows_left_without_an_alias_still_save(admin_client, connected_demo):
    """A manufacturer the page lists (not in ConnectWise) may stay without an alias: only a typed name is refused."""
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")])
    form = page_form(admin_client, "/products", "save-manufacturers")
    rows = {v: k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and v}
    form[f"alias_cw-{rows['Acme Widgets']}"] = "3M"
    assert admin_client.post(BASE + "/products", data=form).status_code == 302
    assert _aliases() == {"Acme Widgets": "3M"}
