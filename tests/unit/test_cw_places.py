"""Where things are in ConnectWise is written once (colcw_plugin/cw/places.py): no message or page spells a
ConnectWise screen's path itself, so the same table is never named two ways."""

from __future__ import annotations

import re
from pathlib import Path

from colcw_plugin.cw import places

PLUGIN = Path(__file__).resolve().parents[2] / "colcw_plugin"
# A path into ConnectWise's screens as a message would write it.
SPELLED_OUT = re.compile(r"Setup Tables\s*(→|>|/)|System\s*(→|>)\s*(Members|Security Roles|Setup Tables)")


def test_no_message_or_page_spells_out_a_connectwise_screen():
    found = []
    for path in sorted(PLUGIN.rglob("*")):
        if path.suffix not in (".py", ".html", ".txt") or path.name == "places.py":
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SPELLED_OUT.search(text):
                found.append(f"{path.relative_to(PLUGIN)}:{number}: {text.strip()}")
    assert not found, "Name ConnectWise's screens from colcw_plugin/cw/places.py:\n" + "\n".join(found)


def test_each_place_is_under_the_menu_the_user_guide_names():
    assert places.CATEGORY == "System → Setup Tables → Products → Category / Sub Category"
    assert places.PRODUCT_TYPE == "System → Setup Tables → Products → Product Type"
    assert places.MANUFACTURER.startswith(places.SETUP_TABLES + " → ")
    assert places.ALL["security_roles"] == "System → Security Roles"
    assert set(places.ALL.values()) >= {places.STATE, places.OPPORTUNITY_STATUS, places.API_KEYS}
