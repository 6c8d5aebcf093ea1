"""A manufacturer ConnectWise has but marks inactive (an admin deactivated it there): the products mapping page said
it was "not in ConnectWise" (its lists hold active records only) and offered no way out but adding it, which
ConnectWise refuses for a name it holds; the export said of a line's ``samsung`` "ConnectWise has “Samsung”: map
samsung to Samsung", an alias the page cannot save. Both now say ConnectWise has it but inactive and what to do
(activate it there, or map the name to another manufacturer), in one wording (``setup/manufacturers.py``
``inactive_problem``); and the export no longer creates catalog items under an inactive manufacturer, named exactly
or through an alias, which it did without a word."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from colcw_plugin.setup.manufacturers import inactive_problem
from host_stub.extensions import db

PRODUCTS = "/admin/integration/connectwise/products"
WHERE = "System → Setup Tables → Manufacturer"


def _deactivate(world, name: str) -> None:
    """As a ConnectWise admin would: the manufacturer marked inactive."""
    [maker] = world.api("procurement/manufacturers", conditions=f'name="{name}"')
    resp = world.sandbox.api("PATCH", f"procurement/manufacturers/{maker['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text


def _missing_list(page: str) -> str:
    """The page's list of manufacturers not in ConnectWise as shown (tags dropped, spaces collapsed)."""
    start = page.index('id="missing-manufacturers"')
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page[start:page.index("</div>", start)])).split())


def _alias_row(page: str, name: str) -> str:
    """The aliases table's row of ``name`` as shown (tags dropped, spaces collapsed)."""
    rows = page[page.index('id="alias-table"'):].split("</tr>")
    [row] = [r for r in rows if f'aria-label="ConnectWise manufacturer for {name}"' in r]
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def _refusal(world, doc) -> tuple[str, str]:
    run = world.export(doc.id)
    assert run.status == "failed", run.message
    [problem] = items(run, "line")
    return problem.message, problem.resolution


def test_a_twin_in_case_that_is_inactive_is_named_so_on_the_page_and_by_the_export(world, admin_client):
    _deactivate(world, "Samsung")
    doc = world.quote([line("SAM-MON-27", manufacturer="samsung")])

    message, fix = _refusal(world, doc)
    assert message == ("Line 1 (SAM-MON-27) is not in the ConnectWise catalog and cannot be created: manufacturer "
                       "“samsung” does not exist in ConnectWise, which has “Samsung” (names must match exactly, case "
                       "included) but marks it inactive.")
    assert fix == (f"Activate “Samsung” in ConnectWise ({WHERE}) and correct the lines to “Samsung” or add the alias "
                   "samsung → Samsung, or map “samsung” to another ConnectWise manufacturer (Product integration "
                   "mapping → Manufacturers).")
    assert world.opportunities() == []
    assert world.api("procurement/catalog", conditions='identifier="SAM-MON-27"') == []

    raw = admin_client.get(PRODUCTS).get_data(as_text=True)
    what, page_fix = inactive_problem("samsung", "Samsung")
    assert f"samsung: {what}. {page_fix}" in _missing_list(raw)  # the export's own words
    assert "Add the alias samsung" not in raw  # no one-click alias the save would refuse
    assert "Add it in ConnectWise" not in _missing_list(raw)  # ConnectWise holds the name: adding it is no fix


def test_an_inactive_manufacturer_by_its_exact_name_or_an_alias_is_refused_with_what_to_do(world, admin_client):
    [sony] = world.api("procurement/manufacturers", conditions='name="Sony"')
    # (saved while Sony was active, as the page saves it: with its id)
    db.session.add(ManufacturerAlias(host_name="Sony Corporation", cw_manufacturer_name="Sony",
                                     cw_manufacturer_id=sony["id"]))
    db.session.commit()
    _deactivate(world, "Samsung")
    _deactivate(world, "Sony")
    exact = world.quote([line("SAM-TV-55", manufacturer="Samsung")])
    message, fix = _refusal(world, exact)
    assert message.endswith("cannot be created: manufacturer “Samsung” is in ConnectWise but marked inactive.")
    assert fix == (f"Activate “Samsung” in ConnectWise ({WHERE}), or map “Samsung” to another ConnectWise "
                   "manufacturer (Product integration mapping → Manufacturers).")
    aliased = world.quote([line("SONY-CAM-1", manufacturer="Sony Corporation")])
    message, fix = _refusal(world, aliased)
    assert message.endswith("cannot be created: the alias of “Sony Corporation” points to “Sony”, which ConnectWise "
                            "has but marks inactive.")
    assert fix == (f"Activate “Sony” in ConnectWise ({WHERE}), or map “Sony Corporation” to another ConnectWise "
                   "manufacturer (Product integration mapping → Manufacturers).")
    for identifier in ("SAM-TV-55", "SONY-CAM-1"):
        assert world.api("procurement/catalog", conditions=f'identifier="{identifier}"') == []

    raw = admin_client.get(PRODUCTS).get_data(as_text=True)
    what, page_fix = inactive_problem("Samsung", "Samsung")
    assert f"Samsung: {what}. {page_fix}" in _missing_list(raw)
    what, page_fix = inactive_problem("Sony Corporation", "Sony", alias=True)
    sony_row = _alias_row(raw, "Sony Corporation")
    assert f"{what[:1].upper()}{what[1:]}. {page_fix}" in sony_row  # at the alias's row, the export's words
    assert "Sony (inactive in ConnectWise)" in sony_row and "not in ConnectWise" not in sony_row
    db.session.expire_all()
    assert {a.host_name for a in db.session.execute(select(ManufacturerAlias)).scalars()} == {"Sony Corporation"}
