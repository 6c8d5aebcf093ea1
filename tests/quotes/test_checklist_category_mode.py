"""A category mapping counts only with "Use the mapping below" (user guide §5.2 b: one mode or the other). With
ChannelOnline's names in use, a line whose sub-category ConnectWise lacks is told to switch to the mapping and map
it there (or to create the sub-category in ConnectWise), and once a row for it is saved, that it is mapped but not
used until the mode is switched; the mapping page says so where Save lands, and its one click switches the mode.
Found walking the demo: the advice said only "map Power / PDUs to an existing one", the admin did, "Saved.", and
the ✗ stayed."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import CategoryMapping
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from
from host_stub.extensions import db

PRODUCTS = "/admin/integration/connectwise/products"
CATEGORIES = "Product integration mapping → Categories"


def _text(page: str) -> str:
    page = re.sub(r"</?(a|strong)\b[^>]*>", "", page)  # inline: no space of their own
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _lines_row(client, doc_id: int) -> str:
    page = client.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    return _text(page.split('id="colcw-check-lines"', 1)[1].split("</tr>", 1)[0])


def _post_products(client, data: dict):
    token = csrf_from(client.get(PRODUCTS).get_data(as_text=True))
    return client.post(PRODUCTS, data={"csrf_token": token, **data})


def _unused_warning(client) -> str | None:
    page = client.get(PRODUCTS).get_data(as_text=True)
    section = page.split('id="categories"', 1)[1].split('id="manufacturers"', 1)[0]
    if 'id="mapping-unused"' not in section:
        return None
    return _text(section.split('id="mapping-unused"', 1)[1].split("</div>", 1)[0])


def test_names_mode_advice_leads_to_the_mapping_mode_and_the_mapping_page_says_a_saved_row_waits_for_it(
        world, admin_client):
    assert get_settings(db.session).category_mode == "names"
    doc = world.quote([line("OPT-7010"), line("PDU-8", category="Hardware", subcategory="PDUs")], name="Rack power")

    # 1. The advice says how mapping works in this mode: switch to the mapping, then map the pair.
    row = _lines_row(admin_client, doc.id)
    assert "✗" in row and 'sub-category "PDUs" of Hardware does not exist in ConnectWise' in row
    assert (f"Create sub-category \"PDUs\" of Hardware in ConnectWise (System → Setup Tables → Products → Category / Sub "
            f"Category), or map Hardware / PDUs to an existing one: choose “Use the mapping below” on {CATEGORIES}, "
            "map Hardware / PDUs there and save (the mapping is used only in that mode, and then for every category: "
            "map each one your products use).") in row
    assert _unused_warning(admin_client) is None  # nothing mapped yet: nothing to warn of

    # 2. The admin maps the pair but leaves the mode: saved, and the page says the row is not used yet.
    storage = next(s["id"] for s in world.api("procurement/subcategories/") if s["name"] == "Storage")
    resp = _post_products(admin_client, {"section": "categories", "category_mode": "names", "hostcat-0": "Hardware",
                                         "hostsub-0": "PDUs", "target-0": str(storage)})
    assert resp.status_code == 302 and resp.location.endswith("#categories")
    warning = _unused_warning(admin_client)
    assert warning is not None, "no warning that the saved mapping is not used"
    assert ("The mapping below is not used: “Use the names from ChannelOnline” is chosen, so exports look for each "
            "line's own category and sub-category in ConnectWise and ignore the 1 category mapped below. The mapping "
            "counts only once “Use the mapping below” is chosen and saved") in warning
    assert re.search(r"\(\d+ categories below have none yet: once the mapping is used, Auto-map, at the foot of this "
                     r"page, maps each one ConnectWise has under the same name\)\.", warning), warning

    # The checklist, still ✗ (the mode decides), now names the saved row and the one step left.
    row = _lines_row(admin_client, doc.id)
    assert "✗" in row
    assert (f"or choose “Use the mapping below” on {CATEGORIES} and save: Hardware / PDUs is mapped to Hardware / "
            "Storage there, but the mapping is used only in that mode") in row

    # 3. The warning's button switches the mode and keeps the rows: the line can be exported, and is.
    page = admin_client.get(PRODUCTS).get_data(as_text=True)
    form = page.split('id="mapping-unused"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields["category_mode"] == "mapping" and fields["section"] == "categories"
    assert admin_client.post(PRODUCTS, data=fields).status_code == 302
    db.session.expire_all()
    assert get_settings(db.session).category_mode == "mapping"
    mapped = db.session.execute(select(CategoryMapping)).scalar_one()
    assert (mapped.host_category, mapped.host_subcategory, mapped.cw_subcategory_id) == ("Hardware", "PDUs", storage)
    assert _unused_warning(admin_client) is None
    row = _lines_row(admin_client, doc.id)
    assert "✓" in row and "Each of its 2 lines can be exported." in row

    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="PDU-8"')
    assert item["subcategory"]["id"] == storage


def test_names_mode_points_a_line_without_a_sub_category_at_its_categorys_row_for_such_lines(world, admin_client):
    """A line with a category but no sub-category has no ConnectWise sub-category by its names: the advice names the
    mapping row for its category's lines without one (“Hardware / (lines without a sub-category)”), and once that
    row is saved, that it waits for the mapping mode."""
    assert get_settings(db.session).category_mode == "names"
    doc = world.quote([line("OPT-7010"), line("CBL-2", category="Hardware", subcategory="")], name="Cables")
    row = _lines_row(admin_client, doc.id)
    assert "✗" in row and "the line has category Hardware but no sub-category" in row, row
    assert "the line has no category and sub-category" not in row
    assert ("Set the line's sub-category, or map Hardware / (lines without a sub-category) to an existing one: choose "
            f"“Use the mapping below” on {CATEGORIES}, map Hardware / (lines without a sub-category) there and save") \
        in row, row

    storage = next(s["id"] for s in world.api("procurement/subcategories/") if s["name"] == "Storage")
    resp = _post_products(admin_client, {"section": "categories", "category_mode": "names", "hostcat-0": "Hardware",
                                         "hostsub-0": "", "target-0": str(storage)})
    assert resp.status_code == 302
    row = _lines_row(admin_client, doc.id)
    assert (f"choose “Use the mapping below” on {CATEGORIES} and save: Hardware / (lines without a sub-category) is "
            "mapped to Hardware / Storage there, but the mapping is used only in that mode") in row, row
