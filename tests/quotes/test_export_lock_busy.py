"""Export now while another click holds the document's queue lock (in Redis, shared by every web process) for longer
than colcw waits for it: the page says that another export of the document is being queued and to try again in a
moment, not that Redis is unreachable (before, the lock's wait running out was caught as a Redis error). A real outage
still says Redis is unreachable. Real Redis: the lock is held from another connection; colcw's wait is made short
through its setting (COLCW_SUBMIT_LOCK_WAIT_SECONDS)."""

from __future__ import annotations

import pytest
import redis
from quote_support import line
from sqlalchemy import func, select

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.quotes import KIND
from helpers import csrf_from, redis_down, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _runs() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(SyncRun)).scalar()


def _click(client, doc) -> str:
    page = client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    resp = client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    return client.get(resp.headers["Location"]).get_data(as_text=True)


def test_a_lock_held_by_another_click_is_said_as_such_not_as_redis_down(world, app, rep_client, redis_url,
                                                                         monkeypatch):
    tune_runtime(monkeypatch, app, submit_lock_wait_seconds=0.3)
    doc = world.quote([line("OPT-7010")], name="Locked deal")
    other = redis.Redis.from_url(redis_url)  # another web process's connection, holding the document's lock
    held = other.lock(f"colcw:submit:{KIND}-export-now-{doc.id}", timeout=30)
    assert held.acquire(blocking=False)
    try:
        page = _click(rep_client, doc)
        assert (f"Not queued: another export of {doc.number} is being queued right now (another click or tab); try "
                "again in a moment.") in page
        assert "is not reachable" not in page
        assert _runs() == 0
    finally:
        held.release()

    assert "Not queued" not in _click(rep_client, doc)  # the lock free again: the click queues its export
    assert _runs() == 1


def test_redis_down_still_says_redis_is_unreachable(world, app, rep_client, monkeypatch):
    doc = world.quote([line("OPT-7010")], name="Unqueued deal")
    redis_down(monkeypatch, app)
    page = _click(rep_client, doc)
    assert "The export could not be queued: the job queue (Redis) is not reachable." in page
    assert "is being queued right now" not in page
    assert _runs() == 0
