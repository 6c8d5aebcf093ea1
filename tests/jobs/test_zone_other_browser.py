"""A time zone chosen in one browser applies in the person's other browsers at their next page, not at their next
sign-in, and costs those pages no SQL statement (the panels' budget): each page asks Redis whether a newer choice
was made. Without Redis the choice kept in the session stands (the pages still show), and the other browser takes
the new one at its next sign-in."""

from __future__ import annotations

import pytest
from test_person_time_zone import _choose, _pages, _world

from helpers import recorded_statements, sign_in, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _panel(client, w: dict) -> tuple[str, int]:
    """The customer panel the person reads, and the SQL statements it cost. Each page loads what it shows afresh, as
    a request on its own session does (the tests' requests share one session: what an earlier page loaded would
    otherwise be counted for one page and not for another)."""
    db.session.expire_all()
    with recorded_statements(db.engine) as seen:
        text = _pages(client, w)["customer"]
    return text, len(seen)


def test_a_choice_made_in_another_browser_applies_at_the_next_page_at_no_sql_cost(app, jobs_app):
    w = _world()
    here = sign_in(app.test_client(), "riley@demo.example")
    _panel(here, w)  # a first page: what a page reads once a process is read
    shown, cost = _panel(here, w)
    assert "last synced 2026-07-01 18:00 UTC." in shown, shown

    with app.app_context():  # another browser (Flask-WTF keeps the CSRF token in g)
        elsewhere = sign_in(app.test_client(), "riley@demo.example")
        _choose(elsewhere, "America/New_York")
    shown, cost_after = _panel(here, w)
    assert "last synced 2026-07-01 14:00 EDT." in shown, shown
    assert cost_after == cost
    assert "Exported 2026-07-01 14:00 EDT" in _pages(here, w)["quote"]

    _choose(here, "Europe/London")  # chosen back here: this browser's newer choice stands here and applies there
    assert "last synced 2026-07-01 19:00 BST." in _pages(here, w)["customer"]
    with app.app_context():
        assert "last synced 2026-07-01 19:00 BST." in _pages(elsewhere, w)["customer"]

    # Someone else's choice is theirs only.
    with app.app_context():
        admin = sign_in(app.test_client(), "admin@demo.example")
        _choose(admin, "Asia/Tokyo")
    assert "last synced 2026-07-01 19:00 BST." in _pages(here, w)["customer"]


def test_without_redis_the_sessions_choice_stands_until_the_next_sign_in(app, jobs_app, monkeypatch):
    w = _world()
    here = sign_in(app.test_client(), "riley@demo.example")
    _choose(here, "America/New_York")
    tune_runtime(monkeypatch, app, redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    with app.app_context():
        elsewhere = sign_in(app.test_client(), "riley@demo.example")
        resp = _choose(elsewhere, "Europe/London")
        assert resp.status_code == 302
        assert "last synced 2026-07-01 19:00 BST." in _pages(elsewhere, w)["customer"]
    assert "last synced 2026-07-01 14:00 EDT." in _pages(here, w)["customer"]  # the page shows, as before
    with app.app_context():
        again = sign_in(app.test_client(), "riley@demo.example")
        assert "last synced 2026-07-01 19:00 BST." in _pages(again, w)["customer"]
