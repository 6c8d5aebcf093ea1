"""Product integration mapping → Manufacturers: a line manufacturer listed as "not in ConnectWise and has no alias"
that differs from a ConnectWise manufacturer only in case (a line's ``samsung`` where ConnectWise has ``Samsung``)
names the one ConnectWise has, as the export does, and offers a one-click alias ``samsung → Samsung``. The list gave
no hint, though names match exactly, case included."""

from __future__ import annotations

import html as html_lib
import re

from admin_support import BASE, add_document_lines, form_fields
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from host_stub.extensions import db

HINT = ("manufacturer “samsung” does not exist in ConnectWise, which has “Samsung” (names must match exactly, case "
        "included). Correct the lines' manufacturer to “Samsung”, or add the alias samsung → Samsung (Product "
        "integration mapping → Manufacturers). Add the alias samsung → Samsung")  # the sentence, then its button


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def _missing_list(page: str) -> str:
    """The list's text as shown (tags dropped, spaces collapsed)."""
    start = page.index('id="missing-manufacturers"')
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page[start:page.index("</div>", start)])).split())


def test_a_case_only_difference_is_named_and_aliased_in_one_click(admin_client, connected_demo):
    add_document_lines([("samsung", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")])
    raw = admin_client.get(BASE + "/products").get_data(as_text=True)
    missing = _missing_list(raw)
    assert "samsung: " + HINT in missing
    assert "NorthPeak Cables" in missing and "which has “NorthPeak" not in missing  # no twin, no hint
    [button] = re.findall(r'id="(case-alias-\d+)"', raw)
    form = form_fields(raw, button)
    assert form["csrf_token"]
    resp = admin_client.post(BASE + "/products", data=form)
    assert resp.status_code == 302
    assert _aliases() == {"samsung": "Samsung"}
    missing = _missing_list(admin_client.get(BASE + "/products").get_data(as_text=True))
    assert "samsung" not in missing and "NorthPeak Cables" in missing


ADD_IT = "Add it in ConnectWise (System → Setup Tables → Manufacturer) or map it to a ConnectWise manufacturer below."


def test_the_add_it_footer_leaves_out_a_case_twin(admin_client, connected_demo):
    """ConnectWise holds a case twin's name (its own sentence says so): the footer telling the admin to add the
    listed names in ConnectWise is about the others only, and absent when every listed name is a twin."""
    add_document_lines([("samsung", "Peripherals", "Monitors", "Product")])
    missing = _missing_list(admin_client.get(BASE + "/products").get_data(as_text=True))
    assert "samsung: " + HINT in missing
    assert "Add it in ConnectWise" not in missing and "Add them in ConnectWise" not in missing
    assert "or map it" not in missing and "or map them" not in missing

    add_document_lines([("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")], number="QT2")
    missing = _missing_list(admin_client.get(BASE + "/products").get_data(as_text=True))
    assert "2 manufacturers on ChannelOnline's documents are not in ConnectWise" in missing
    assert missing.endswith(ADD_IT)  # NorthPeak Cables alone is to add: in the singular
