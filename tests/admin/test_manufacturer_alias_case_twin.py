"""Product integration mapping → Manufacturers: a name that differs only in case from one listed above
(``acme widgets`` beside ``Acme Widgets``) is refused in its row and nothing is saved; it used to be saved
silently, mapping the two spellings to different manufacturers."""

from __future__ import annotations

import html as html_lib

from admin_support import BASE, add_document_lines, page_form
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from host_stub.extensions import db


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def test_a_case_only_twin_is_refused_in_its_row(admin_client, connected_demo):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    form = page_form(admin_client, "/products", "save-manufacturers")
    rows = {v: k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and v}
    form[f"alias_cw-{rows['Acme Widgets']}"] = "3M"
    assert admin_client.post(BASE + "/products", data=form).status_code == 302
    form = page_form(admin_client, "/products", "save-manufacturers")
    new = next(k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and not v)
    form[f"alias_host-{new}"], form[f"alias_cw-{new}"] = "acme widgets", "Acer"
    resp = admin_client.post(BASE + "/products", data=form)
    page = html_lib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    row = page[page.index(f'name="alias_host-{new}"'):]
    row = row[:row.index("</tr>")]
    assert "acme widgets differs from Acme Widgets, listed above, only in case" in row
    assert _aliases() == {"Acme Widgets": "3M"}
