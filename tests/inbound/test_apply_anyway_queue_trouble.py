"""Apply anyway (the mass-delete guard's alert on the Connection page) when its pass cannot be queued: with Redis down
the page says the job queue is not reachable, with the queue's lock held by another click or tab it says another
Apply anyway is being queued right now, in the words the other pages use (views/support.py) — not a server error.
Nothing is queued or recorded, and the alert stays with its Apply anyway. Real PostgreSQL and Redis (Redis "down": an
unused port); the lock held from another connection, as another web process holds it."""

from __future__ import annotations

import html
import re

import pytest
import redis
from sqlalchemy import func, select

from colcw_plugin.models import SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import RECONCILE_KIND
from colcw_plugin.sync.jobs.queue import work_key
from helpers import csrf_from, redis_down, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

BASE = "/admin/integration/connectwise"
HELD = "Deletions held back by the mass-delete guard: 3 of 5 linked customers were deleted in ConnectWise."


@pytest.fixture()
def alert(app, redis_conn):
    """The guard's alert standing on the Connection page (a deletions pass it stopped)."""
    live = get_live(db.session)
    live.alert = HELD
    db.session.commit()


def _apply(client) -> str:
    """Click Apply anyway on the Connection page; the page it lands on, as text."""
    page = client.get(BASE + "/").get_data(as_text=True)
    assert 'value="apply"' in page
    resp = client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"})
    assert resp.status_code == 302, resp.status_code
    landed = client.get(resp.headers["Location"]).get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", landed)).split())


def _runs() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(SyncRun.id)))


def _alert_stays(admin_client) -> None:
    db.session.expire_all()
    assert get_live(db.session).alert == HELD
    page = admin_client.get(BASE + "/").get_data(as_text=True)
    assert 'id="live-alert"' in page and 'value="apply"' in page  # offered again


def test_apply_anyway_with_redis_down_says_the_job_queue_is_not_reachable(alert, app, admin_client, monkeypatch):
    back = redis_down(monkeypatch, app)
    page = _apply(admin_client)
    back()
    assert ("The pass that marks the held deletions could not be queued: the job queue (Redis) is not reachable. The "
            "alert stays: use Apply anyway again once Redis answers") in page, page
    assert "is being queued right now" not in page
    assert _runs() == 0
    _alert_stays(admin_client)


def test_apply_anyway_while_another_click_queues_it_says_so(alert, app, admin_client, redis_url, monkeypatch):
    tune_runtime(monkeypatch, app, submit_lock_wait_seconds=0.3)
    other = redis.Redis.from_url(redis_url)  # another web process, queueing the same pass
    lock = other.lock(f"colcw:submit:{work_key(RECONCILE_KIND, {'mode': 'deletions', 'force': True})}", timeout=30)
    assert lock.acquire(blocking=False)
    try:
        page = _apply(admin_client)
    finally:
        lock.release()
    assert ("Not queued: another Apply anyway of the held deletions is being queued right now (another click or tab); "
            "try again in a moment.") in page, page
    assert "is not reachable" not in page
    assert _runs() == 0
    _alert_stays(admin_client)
