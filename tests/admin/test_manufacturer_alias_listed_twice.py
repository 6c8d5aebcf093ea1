"""Product integration mapping → Manufacturers: a manufacturer typed in the new row that is already listed above
(trimmed; a name differing only in case is refused too) is refused in that row, and nothing is saved. The rows were
collapsed into one choice per name, so the last one won without a word ("Saved." with another alias, or none) or
a false "Another save changed …" message named the other row's alias."""

from __future__ import annotations

import html as html_lib

import pytest
from admin_support import BASE, add_document_lines, form_fields, page_form
from sqlalchemy import select

from colcw_plugin.errors import FieldErrors
from colcw_plugin.models import ManufacturerAlias
from colcw_plugin.setup.manufacturers import save_manufacturer_aliases
from host_stub.extensions import db


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def _page(admin_client) -> tuple[dict, dict[str, str], str]:
    """The Manufacturers form as loaded, the rows' positions by name, and the new row's position."""
    form = page_form(admin_client, "/products", "save-manufacturers")
    rows = {v: k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and v}
    new = next(k.split("-")[1] for k, v in form.items() if k.startswith("alias_host-") and not v)
    return form, rows, new


@pytest.fixture()
def aliased(admin_client, connected_demo):
    """Acme Widgets aliased to 3M; NorthPeak Cables without an alias."""
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")])
    form, rows, _ = _page(admin_client)
    form[f"alias_cw-{rows['Acme Widgets']}"] = "3M"
    assert admin_client.post(BASE + "/products", data=form).status_code == 302
    assert _aliases() == {"Acme Widgets": "3M"}


@pytest.mark.parametrize("name, above, typed, new_choice", [
    ("NorthPeak Cables", "Acer", "NorthPeak Cables", ""),  # the new row with no alias took the row's Acer away
    ("Acme Widgets", "Adobe", "Acme Widgets", "Acer"),  # the new row's Acer saved over the row's Adobe
    ("Acme Widgets", "", "Acme Widgets ", "Acer"),  # a false "Another save changed the alias …: it is now 3M"
])
def test_a_manufacturer_listed_twice_is_refused_in_its_row_and_nothing_is_saved(
        admin_client, aliased, name, above, typed, new_choice):
    form, rows, new = _page(admin_client)
    form[f"alias_cw-{rows[name]}"] = above
    form[f"alias_host-{new}"], form[f"alias_cw-{new}"] = typed, new_choice
    resp = admin_client.post(BASE + "/products", data=form)
    page = html_lib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert "Nothing was saved: correct the rows marked below." in page
    assert f"{name} is already listed above" in page
    assert "Another save changed" not in page and "Saved." not in page
    assert _aliases() == {"Acme Widgets": "3M"}
    # The admin's input stays on the page, in its rows.
    again = form_fields(resp.get_data(as_text=True), "save-manufacturers")
    assert again[f"alias_cw-{rows[name]}"] == above
    assert (again[f"alias_host-{new}"], again[f"alias_cw-{new}"]) == (typed, new_choice)


def test_the_error_is_on_the_duplicate_row(admin_client, aliased):
    form, rows, new = _page(admin_client)
    form[f"alias_host-{new}"], form[f"alias_cw-{new}"] = "NorthPeak Cables", "Acer"
    page = admin_client.post(BASE + "/products", data=form).get_data(as_text=True)
    row = page[page.index(f'name="alias_host-{new}"'):]
    row = row[:row.index("</tr>")]
    assert "NorthPeak Cables is already listed above" in row


def test_a_name_differing_only_in_case_is_refused(admin_client, aliased):
    """Two spellings differing only in case would map to different manufacturers: refused
    (see test_manufacturer_alias_case_twin.py)."""
    form, rows, new = _page(admin_client)
    form[f"alias_host-{new}"], form[f"alias_cw-{new}"] = "acme widgets", "Acer"
    assert admin_client.post(BASE + "/products", data=form).status_code == 400
    assert _aliases() == {"Acme Widgets": "3M"}


def test_the_service_refuses_rows_naming_one_manufacturer_twice(app, connected_demo):
    with pytest.raises(FieldErrors) as refused:
        save_manufacturer_aliases(db.session, [("Acme Widgets", "Acer", None), (" Acme Widgets", "", None)], None,
                                  "tests")
    assert refused.value.errors == {"alias-1": "Acme Widgets is already listed above: choose its ConnectWise "
                                               "manufacturer in that row, and leave this one empty."}
    db.session.rollback()
    assert _aliases() == {}
