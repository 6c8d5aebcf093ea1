"""Auto-map in a real browser: clicking it lands on its result's own address (Post/Redirect/Get), so reloading the
page shows the result again and never posts Auto-map a second time."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import ConfigChange
from helpers import browser_sign_in, configure_sandbox_connection
from host_stub.extensions import db

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def _automap_audits() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(ConfigChange)
                              .where(ConfigChange.area == "automap")).scalar_one()


def test_reloading_after_auto_map_does_not_post_it_again(app, live_server, cw_sandbox_demo, box, page):
    configure_sandbox_connection(cw_sandbox_demo, box)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/products")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Auto-map").click()
    page.wait_for_url(re.compile(r".*/automap/[\w-]+$"))
    assert "Auto-map done:" in page.locator(".flash.success").inner_text()
    assert "member rrep" in page.locator("#automap-mapped").inner_text()
    assert len(posts) == 1 and _automap_audits() == 1

    page.reload()
    page.wait_for_load_state()
    assert "member rrep" in page.locator("#automap-mapped").inner_text()  # the result, shown again
    assert page.locator(".flash.success").count() == 0  # its message was for the run, not for each look at it
    assert len(posts) == 1, posts
    assert _automap_audits() == 1
