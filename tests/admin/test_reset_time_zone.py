"""Reset deletes the time zone each person chose ("Show times in"), and every copy of it goes too: the choice kept
in each browser's session and the one left in Redis for a person's other browsers. After Reset every page shows
the default zone (UTC) again, in every browser, until someone chooses again."""

from __future__ import annotations

import html
import re

import pytest
from admin_support import BASE
from sqlalchemy import func, select

from colcw_plugin.models import TimeZoneChoice
from helpers import csrf_from, sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ZONE_PAGE = "/colcw/time-zone"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _choose(client, zone: str):
    token = csrf_from(client.get(ZONE_PAGE).get_data(as_text=True))
    assert client.post(ZONE_PAGE, data={"zone": zone, "next": ZONE_PAGE, "csrf_token": token}).status_code == 302


def _shown(client, path: str = ZONE_PAGE) -> str:
    return _text(client.get(path).get_data(as_text=True))


def test_after_reset_every_page_shows_the_default_zone_again_in_every_browser(app, admin_client, connected,
                                                                               redis_conn):
    _choose(admin_client, "Asia/Tokyo")
    assert "show their times in Asia/Tokyo :" in _shown(admin_client)
    with app.app_context():  # the admin's other browser, signed in before the reset
        elsewhere = sign_in(app.test_client(), "admin@demo.example")
        assert "show their times in Asia/Tokyo :" in _shown(elsewhere)
    with app.app_context():  # a rep who chose too, in their own browser
        rep = sign_in(app.test_client(), "riley@demo.example")
        _choose(rep, "Asia/Tokyo")
        assert "show their times in Asia/Tokyo :" in _shown(rep)
    scope = _shown(admin_client, BASE + "/reset")
    assert "Time zone choices 2" in scope, scope

    token = csrf_from(admin_client.get(BASE + "/reset").get_data(as_text=True))
    assert admin_client.post(BASE + "/reset", data={"csrf_token": token, "confirm": "RESET"}).status_code == 302

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TimeZoneChoice)) == 0
    page = _shown(admin_client)
    assert "show their times in UTC :" in page and "Asia/Tokyo" not in page, page
    with app.app_context():
        page = _shown(elsewhere)
        assert "show their times in UTC :" in page and "Asia/Tokyo" not in page, page
    with app.app_context():
        page = _shown(rep)
        assert "show their times in UTC :" in page and "Asia/Tokyo" not in page, page
    with app.app_context():  # and a browser signed in afterwards
        page = _shown(sign_in(app.test_client(), "riley@demo.example"))
        assert "show their times in UTC :" in page, page

    # Choosing again works as before, and applies in the other browser.
    _choose(admin_client, "Europe/London")
    assert "show their times in Europe/London :" in _shown(admin_client)
    with app.app_context():
        assert "show their times in Europe/London :" in _shown(elsewhere)
