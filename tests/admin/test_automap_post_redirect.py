"""Auto-map answered its POST with the result page, so reloading that page ran Auto-map again. It redirects
(Post/Redirect/Get) to its result, kept for a while: the flash message and the lists survive the redirect, and
reloading the result shows it again without running Auto-map."""

from __future__ import annotations

import html as html_lib
import re

from admin_support import BASE
from sqlalchemy import func, select

from colcw_plugin.models import ConfigChange
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from
from host_stub.extensions import db


def _text(resp) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))))


def _automap_audits() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(ConfigChange)
                              .where(ConfigChange.area == "automap")).scalar_one()


def test_automap_redirects_to_its_result_and_a_reload_does_not_run_it_again(admin_client, connected_demo):
    get_settings(db.session).category_mode = "mapping"
    db.session.commit()
    token = csrf_from(admin_client.get(BASE + "/products").get_data(as_text=True))
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": token})
    assert resp.status_code == 303 or resp.status_code == 302
    result = resp.headers["Location"]
    assert re.fullmatch(re.escape(BASE) + r"/automap/[\w-]+", result), result
    assert _automap_audits() == 1

    first = admin_client.get(result)
    text = _text(first)
    assert first.status_code == 200
    assert re.search(r"Auto-map done: \d+ items? mapped now, \d+ already mapped, \d+ items? left for a person\.", text)
    assert "sales rep Riley Rep → member rrep" in text
    assert "sales rep Sam Sales <sam@demo.example>: no active ConnectWise member has this e-mail" in text

    # A reload is a GET of the result: the same lists, the flash shown once, and Auto-map not run again.
    again = admin_client.get(result)
    text_again = _text(again)
    assert again.status_code == 200
    assert "sales rep Riley Rep → member rrep" in text_again and "Auto-map done" not in text_again
    assert _automap_audits() == 1


def test_a_result_no_longer_kept_says_where_to_look_and_offers_auto_map(admin_client, connected_demo):
    resp = admin_client.get(BASE + "/automap/not-a-kept-result")
    text = _text(resp)
    assert resp.status_code == 404
    assert "This Auto-map result is kept for 24 hours and this one is no longer there." in text
    assert "Pre-flight check lists what is left for a person" in text
    assert 'action="' + BASE + '/automap"' in resp.get_data(as_text=True)
