"""Export now posted from a page loaded before the document's export was queued (another tab, the back button) queues
no second run while that export is under way, whatever the page posts: it says which run exports the document. Before,
only a post of exactly the same params was caught (the queue's check of the same work), so a page whose confirmation
no longer applied (ConnectWise changed between the clicks) queued a second export of the document. The look is done
again under a lock every web process shares (Redis), so two clicks at once on different machines queue one run."""

from __future__ import annotations

import re
import threading
import time

import pytest
from quote_support import line, make_opportunity
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.quotes import picker
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _runs() -> list[tuple[int, dict]]:
    db.session.expire_all()
    return [(r.id, r.params) for r in db.session.execute(select(SyncRun).order_by(SyncRun.id)).scalars()]


def test_a_stale_page_posting_other_params_while_the_export_is_queued_queues_nothing(world, rep_client, drain_queue):
    make_opportunity(world, "Network Refresh")
    doc = world.quote([line("OPT-7010")], name="network refresh")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)  # both clicks come from it
    form = {"csrf_token": csrf_from(page), "confirm": "new:new"}
    first = rep_client.post(f"/colcw/documents/{doc.id}/export", data=form)
    [(run_id, params)] = _runs()
    assert first.location.endswith(f"run={run_id}") and params == {"document_id": doc.id, "confirmed": "new:new"}

    # A colleague renames the look-alike in ConnectWise: the page's confirmation no longer applies, so the same click
    # now makes other params ({"document_id"} alone) than the queued run's.
    [opp] = world.opportunities()
    resp = world.sandbox.api("PATCH", f"sales/opportunities/{opp['id']}",
                             json=[{"op": "replace", "path": "name", "value": "Network upgrade"}])
    assert resp.status_code == 200, resp.text
    second = rep_client.post(f"/colcw/documents/{doc.id}/export", data=form, follow_redirects=True)
    assert _runs() == [(run_id, params)]  # one run
    said = second.get_data(as_text=True)
    assert (f"{doc.number} is already being exported to ConnectWise — <a href=\"/colcw/runs/{run_id}\">here is its "
            f"progress (run #{run_id})</a>.") in said
    assert re.search(r'id="colcw-export-submit"\s+disabled', said)  # the page it lands on agrees

    drain_queue()
    exported = [o for o in world.opportunities() if o["name"] == "network refresh"]
    assert len(exported) == 1 and [p["catalogItem"]["identifier"] for p in world.products(exported[0]["id"])] \
        == ["OPT-7010"]


def test_two_clicks_at_once_in_two_web_processes_queue_one_run(world, app, monkeypatch):
    """Each click on its own database session (as two web processes on two machines): the look at the export under
    way and the submit are one step under the shared lock, also when the two clicks post different params."""
    doc = world.quote([line("OPT-7010")], name="Clicked twice")
    rt, engine = runtime(), db.engine
    looked = picker.export_under_way

    def slow_look(session, document_id):  # a slow database: the two looks would both find nothing
        found = looked(session, document_id)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(picker, "export_under_way", slow_look)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def click(params: dict) -> None:
        with app.app_context(), Session(bind=engine) as session:
            start.wait()
            try:
                picker.submit_export_now(session, rt.queue, rt.kinds, params, actor=None)
                outcomes.append("queued")
            except picker.ExportUnderWay as e:
                outcomes.append(f"under way: run #{e.run.id}")

    clicks = [threading.Thread(target=click, args=(p,)) for p in
              ({"document_id": doc.id}, {"document_id": doc.id, "confirmed_checks": ["amounts:0"]})]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join(timeout=30)
    runs = _runs()
    assert len(runs) == 1, runs
    run_id = runs[0][0]
    assert sorted(outcomes) == ["queued", f"under way: run #{run_id}"]


def test_a_click_while_the_export_is_queued_asks_connectwise_nothing(world, rep_client, drain_queue):
    """The export under way is looked at before the checklist asks ConnectWise where the export goes and which lines
    it would refuse: a second click (or twenty at once) costs ConnectWise no request, and says which run exports it."""
    doc = world.quote([line("OPT-7010")], name="Clicked again")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    first = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    [(run_id, _)] = _runs()
    assert first.location.endswith(f"run={run_id}")

    world.sandbox.clear_requests()
    second = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert [(e["method"], e["path"]) for e in world.sandbox.requests()] == []
    assert second.location.endswith(f"run={run_id}")
    said = rep_client.get(second.location).get_data(as_text=True)
    assert f"{doc.number} is already being exported to ConnectWise" in said
    assert [r for r, _ in _runs()] == [run_id]
    drain_queue()
    assert [o["name"] for o in world.opportunities()] == ["Clicked again"]
