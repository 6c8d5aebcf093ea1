"""The admin's Pre-flight check and Auto-map said of a manufacturer ConnectWise has but marks inactive that it was
"not in ConnectWise" and to add it there (ConnectWise holds the name: adding it is no fix), and Auto-map said nothing
of an alias whose manufacturer ConnectWise has marked inactive since. Both now say what the export and the products
mapping page say (``setup/manufacturers.py`` ``inactive_problem``): ConnectWise has it but inactive, activate it
there or map the name to another manufacturer."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import line

from colcw_plugin.models import ManufacturerAlias
from colcw_plugin.setup.manufacturers import inactive_problem
from helpers import csrf_from
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"


def _deactivate(world, name: str) -> None:
    """As a ConnectWise admin would: the manufacturer marked inactive."""
    [maker] = world.api("procurement/manufacturers", conditions=f'name="{name}"')
    resp = world.sandbox.api("PATCH", f"procurement/manufacturers/{maker['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _items(page: str, start_marker: str) -> list[str]:
    """The list items (as shown) of the section that starts at ``start_marker``."""
    start = page.index(start_marker)
    section = page[start:page.index("</section>", start)]
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", section, re.S)]


def _section(page: str, start_marker: str) -> str:
    start = page.index(start_marker)
    return _text(page[start:page.index("</section>", start)])


def _world_with_inactive_manufacturers(world):
    [sony] = world.api("procurement/manufacturers", conditions='name="Sony"')
    # (saved while Sony was active, as the page saves it: with its id)
    db.session.add(ManufacturerAlias(host_name="Sony Corporation", cw_manufacturer_name="Sony",
                                     cw_manufacturer_id=sony["id"]))
    db.session.commit()
    _deactivate(world, "Samsung")
    _deactivate(world, "Sony")
    world.quote([line("SAM-MON-27", manufacturer="samsung"), line("SAM-TV-55", manufacturer="Samsung"),
                 line("SONY-CAM-1", manufacturer="Sony Corporation"), line("ACME-1", manufacturer="Acme Widgets")])


def _said(name: str, cw_name: str, *, alias: bool = False) -> str:
    what, fix = inactive_problem(name, cw_name, alias=alias)
    return f"{what}. {fix}"


def test_preflight_says_an_inactive_manufacturer_is_inactive_with_the_exports_fix(world, admin_client):
    _world_with_inactive_manufacturers(world)
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    marker = 'data-area="Manufacturers"'
    assert sorted(_items(page, marker)) == sorted([
        "Acme Widgets",  # not in ConnectWise at all: adding it there is the fix
        f"samsung: {_said('samsung', 'Samsung')}",
        f"Samsung: {_said('Samsung', 'Samsung')}",
        f"Sony Corporation: {_said('Sony Corporation', 'Sony', alias=True)}",
    ])
    section = _section(page, marker)
    assert ("1 manufacturer on ChannelOnline documents is not in ConnectWise and 3 manufacturers are in ConnectWise "
            "but marked inactive") in section
    assert "alias target not in ConnectWise" not in section


def test_preflight_with_only_inactive_manufacturers_does_not_say_to_add_them(world, admin_client):
    _deactivate(world, "Samsung")
    world.quote([line("SAM-TV-55", manufacturer="Samsung")])
    section = _section(admin_client.get(BASE + "/preflight").get_data(as_text=True), 'data-area="Manufacturers"')
    assert "1 manufacturer on ChannelOnline documents is in ConnectWise but marked inactive" in section
    assert "not in ConnectWise" not in section and "Add them" not in section


def test_automap_says_an_inactive_manufacturer_is_inactive_with_the_exports_fix(world, admin_client):
    _world_with_inactive_manufacturers(world)
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200
    left = [i.removeprefix("manufacturer ") for i in _items(resp.get_data(as_text=True), 'id="automap-left"')
            if i.startswith("manufacturer ")]
    assert sorted(left) == sorted([
        f"Sony Corporation: {_said('Sony Corporation', 'Sony', alias=True)}",  # its alias is kept, and said
        f"samsung: {_said('samsung', 'Samsung')}",
        f"Samsung: {_said('Samsung', 'Samsung')}",
        "Acme Widgets: ConnectWise has no manufacturer of that name; add it in ConnectWise (System → Setup Tables → "
        "Manufacturer), or add an alias on Product integration mapping.",
    ])
    db.session.expire_all()
    assert {a.host_name for a in db.session.query(ManufacturerAlias)} == {"Sony Corporation"}  # nothing mapped
