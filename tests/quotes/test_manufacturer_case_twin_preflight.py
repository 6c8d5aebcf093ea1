"""The Pre-flight check listed a line's manufacturer differing only in case from one ConnectWise has (``dell`` where it
has ``Dell``) bare, under "not in ConnectWise" and "Add them in ConnectWise": ConnectWise holds the name, so adding it
is no fix. The export and Auto-map name the one ConnectWise has (``case_twin``); the check now does too, with the
fix: correct the lines, or add the alias (``setup/manufacturers.py`` ``case_twin_problem``)."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

PREFLIGHT = "/admin/integration/connectwise/preflight"
TWIN = ("dell: manufacturer “dell” does not exist in ConnectWise, which has “Dell” (names must match exactly, case "
        "included). Correct the lines' manufacturer to “Dell”, or add the alias dell → Dell (Product integration "
        "mapping → Manufacturers).")


def _area(page: str) -> tuple[str, list[str]]:
    start = page.index('data-area="Manufacturers"')
    section = page[start:page.index("</section>", start)]
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", section)).split())
    listed = [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", li)).split())
              for li in re.findall(r"<li>(.*?)</li>", section, re.S)]
    return text, listed


def test_preflight_names_the_manufacturer_connectwise_has_in_another_case(world, admin_client):
    doc = world.quote([line("NEW-PC-1", manufacturer="dell")])
    text, listed = _area(admin_client.get(PREFLIGHT).get_data(as_text=True))
    assert listed == [TWIN]
    assert "1 manufacturer on ChannelOnline documents differs from ConnectWise's only in case" in text
    assert "not in ConnectWise" not in text and "Add them" not in text
    assert "Correct each one differing only in case to ConnectWise's spelling on its lines, or add the alias its line " \
           "names." in text
    # The export refuses the line naming the same one.
    run = world.export(doc.id)
    assert run.status != "succeeded"
    [refused] = items(run, "line")
    assert f"{refused.message} {refused.resolution}" == (
        "Line 1 (NEW-PC-1) is not in the ConnectWise catalog and cannot be created: " + TWIN.removeprefix("dell: "))


def test_preflight_says_to_add_only_those_connectwise_lacks(world, admin_client):
    world.quote([line("NEW-PC-1", manufacturer="dell"), line("ACME-1", manufacturer="Acme Widgets")])
    text, listed = _area(admin_client.get(PREFLIGHT).get_data(as_text=True))
    assert sorted(listed) == sorted(["Acme Widgets", TWIN])
    assert ("1 manufacturer on ChannelOnline documents is not in ConnectWise and 1 manufacturer differs from "
            "ConnectWise's only in case") in text
    assert "Add those not in ConnectWise in ConnectWise" in text
