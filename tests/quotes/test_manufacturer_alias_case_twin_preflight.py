"""An alias whose ConnectWise manufacturer differs only in case from one ConnectWise has (``Dell Inc.`` → ``dell``,
saved while ConnectWise could not be reached, where ConnectWise has ``Dell``) was listed by the Pre-flight check as
"Dell Inc. → dell (alias target not in ConnectWise)" under "Add them in ConnectWise", which ConnectWise refuses: it
holds the name. The check now says the case-twin sentence for the alias's target, with its fix (correct the alias to
“Dell”); the export refuses the line, and Auto-map leaves the alias it keeps, in the same words
(``manufacturers.case_twin_problem``)."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line

from colcw_plugin.setup.manufacturers import save_manufacturer_aliases
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

BASE = "/admin/integration/connectwise"
PREFLIGHT, PRODUCTS = BASE + "/preflight", BASE + "/products"
WHAT = ("the alias of “Dell Inc.” points to “dell”, but manufacturer “dell” does not exist in ConnectWise, which has "
        "“Dell” (names must match exactly, case included).")
FIX = "Correct the alias of “Dell Inc.” to “Dell” (Product integration mapping → Manufacturers)."


def _text(page: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _area(page: str) -> tuple[str, list[str]]:
    start = page.index('data-area="Manufacturers"')
    section = page[start:page.index("</section>", start)]
    return _text(section), [_text(li) for li in re.findall(r"<li>(.*?)</li>", section, re.S)]


def test_an_alias_to_a_case_twin_is_named_with_its_fix_by_the_check_and_the_export(world, admin_client):
    save_manufacturer_aliases(db.session, {"Dell Inc.": "dell"}, None, "tests")  # ConnectWise not reachable then
    db.session.commit()
    doc = world.quote([line("NEW-PC-1", manufacturer="Dell Inc.")])

    text, listed = _area(admin_client.get(PREFLIGHT).get_data(as_text=True))
    assert listed == [f"Dell Inc.: {WHAT} {FIX}"]
    assert "alias target not in ConnectWise" not in text and "Add them" not in text
    assert "1 manufacturer on ChannelOnline documents differs from ConnectWise's only in case" in text
    assert "Correct each alias whose target differs only in case to ConnectWise's spelling, as its line says." in text

    # Auto-map keeps the alias (a person chose it) and leaves it for a person in the same words.
    page = admin_client.get(BASE + "/").get_data(as_text=True)
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert f"manufacturer Dell Inc.: {WHAT} {FIX}" in _text(resp.get_data(as_text=True))

    run = world.export(doc.id)
    assert run.status != "succeeded"
    [refused] = items(run, "line")
    assert refused.message == f"Line 1 (NEW-PC-1) is not in the ConnectWise catalog and cannot be created: {WHAT}"
    assert refused.resolution == FIX
    assert world.api("procurement/catalog", conditions='identifier="NEW-PC-1"') == []

    # The admin follows the fix: the alias corrected to “Dell” on the mapping page; the check passes, the export too.
    page = admin_client.get(PRODUCTS).get_data(as_text=True)
    resp = admin_client.post(PRODUCTS, data={"csrf_token": csrf_from(page), "section": "manufacturers",
                                             "alias_host-0": "Dell Inc.", "alias_cw-0": "Dell", "was-0": "dell",
                                             "alias_host-1": "", "alias_cw-1": ""})
    assert resp.status_code == 302
    text, listed = _area(admin_client.get(PREFLIGHT).get_data(as_text=True))
    assert listed == [] and "Every manufacturer on ChannelOnline documents exists in ConnectWise" in text
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="NEW-PC-1"')
    assert item["manufacturer"]["name"] == "Dell"
