"""A run exporting several documents (ticked on a list, by date range, all of them) disables a document's Export now
while it is queued or running and has not exported that document yet, as the document's own export run does: the page
names the run (a link for whoever may open it), and a POST queues nothing. Finding such a run costs at most three
statements, however many runs are active."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line
from sqlalchemy import func, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes.picker import bulk_export
from helpers import csrf_from, recorded_statements, runtime
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _queue(params: dict, actor: dict | None = None) -> SyncRun:
    """A run recorded as queued, as the jobs page, a list's bulk action or a schedule leave it for a worker."""
    run = create_run(db.session, runtime().kinds, "quote_export", params, actor=actor)
    db.session.commit()
    return run


def _page(client, doc) -> str:
    return client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)


def _blocked(page: str) -> str:
    found = re.search(r'<p class="colcw-disabled-why" id="colcw-export-blocked">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""


def _disabled(page: str) -> bool:
    return bool(re.search(r'id="colcw-export-submit"\s+disabled', page))


def _runs() -> int:
    return db.session.execute(select(func.count()).select_from(SyncRun)).scalar()


def test_a_queued_run_of_ticked_documents_including_it_disables_export_now(world, rep_client, riley):
    doc = world.quote([line("OPT-7010")], name="Bulk deal")
    other = world.quote([line("LAT-5440")], name="Other deal")
    assert not _disabled(_page(rep_client, doc))
    _queue({"document_ids": [other.id]}, actor=riley)  # a run without it changes nothing
    assert not _disabled(_page(rep_client, doc))

    run = _queue({"document_ids": [other.id, doc.id]}, actor=riley)
    page = _page(rep_client, doc)
    assert _disabled(page)
    assert _blocked(page) == (f"Export now is unavailable while {doc.number} is being exported with other documents "
                              f"by run #{run.id} “{run.description}” (queued): reload this page once that run has "
                              "exported it.")
    assert f'<a href="/colcw/runs/{run.id}" id="colcw-bulk-run">run #{run.id}</a>' in page  # hers: a link to it

    # A click from a page opened before queues nothing: it says which run exports the document.
    before = _runs()
    token = csrf_from(page)
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": token})
    assert resp.status_code == 302
    assert _runs() == before
    after = rep_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert (f"{doc.number} is already being exported to ConnectWise — <a href=\"/colcw/runs/{run.id}\">here is its "
            f"progress (run #{run.id})</a>.") in after

    # Once the run has exported it, Export now is offered again (the document's own check list as it is now).
    done = runtime().execute(db.session, run.id)
    assert done.status == "succeeded", done.message
    page = _page(rep_client, doc)
    assert not _disabled(page) and _blocked(page) == ""
    assert len(world.opportunities()) == 2


def test_a_run_by_date_range_or_of_all_documents_that_selects_it_disables_export_now(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Ranged deal")
    by_follow_up = _queue({"range": {"field": "follow_up", "preset": "last7"}})  # it has no follow-up date
    assert not _disabled(_page(rep_client, doc))

    by_creation = _queue({"range": {"field": "created", "preset": "today"}}, actor=ADMIN)
    page = _page(rep_client, doc)
    assert _disabled(page)
    # Another user's run: the rep is told who started it (its page is not hers to open).
    assert _blocked(page) == (f"Export now is unavailable while {doc.number} is being exported with other documents "
                              f"by run #{by_creation.id} “{by_creation.description}” (queued, started by "
                              "admin@demo.example): reload this page once that run has exported it.")
    assert 'id="colcw-bulk-run"' not in page

    by_creation.status = "cancelled"
    everything = _queue({"all": True})
    db.session.commit()
    assert f"by run #{everything.id} “" in _blocked(_page(rep_client, doc))
    assert by_follow_up.status == "queued"


def test_finding_the_run_costs_at_most_three_statements_however_many_runs_are_active(world):
    doc = world.quote([line("OPT-7010")], name="Busy deal")
    other = world.quote([line("LAT-5440")], name="Other deal")
    for preset in ("today", "last7", "last15", "last30"):
        _queue({"range": {"field": "modified", "preset": preset}})
        _queue({"range": {"field": "follow_up", "preset": preset}})
        _queue({"document_ids": [other.id]})
    last = _queue({"document_ids": [other.id, doc.id]})
    doc_id = doc.id
    db.session.expire_all()
    with recorded_statements(db.engine) as seen:
        found = bulk_export(db.session, doc_id)
    # The first run that selects it: the one of documents modified today.
    assert found is not None and found.params == {"range": {"field": "modified", "preset": "today"}}
    assert found.id < last.id
    assert len(seen) <= 3, "\n".join(s[:90] for s in seen)


def test_a_running_run_that_has_exported_it_already_leaves_export_now_available(world, rep_client, riley):
    doc = world.quote([line("OPT-7010")], name="Early deal")
    other = world.quote([line("LAT-5440")], name="Late deal")
    run = _queue({"document_ids": [doc.id, other.id]}, actor=riley)
    # The run goes on with the other document, the first one exported (its outcome recorded).
    runtime().execute(db.session, run.id)
    db.session.refresh(run)
    run.status = "running"
    db.session.query(SyncItem).filter(SyncItem.run_id == run.id, SyncItem.host_id == other.id).delete()
    db.session.commit()
    assert _disabled(_page(rep_client, other))
    page = _page(rep_client, doc)
    assert not _disabled(page) and _blocked(page) == ""


def test_a_quote_converted_since_a_run_of_several_documents_was_queued_says_only_that_it_was_converted(
        world, rep_client, riley):
    """The run would skip it (its sales order carries its lines now): the page says it became that order and
    leads to the order's export, not that the run exports it."""
    doc = world.quote([line("OPT-7010")], name="Converted deal")
    other = world.quote([line("LAT-5440")], name="Other deal")
    run = _queue({"document_ids": [other.id, doc.id]}, actor=riley)
    order = services.convert_quote(doc.id)
    page = _page(rep_client, doc)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))
    assert (f"There is nothing to export here: {doc.number} became sales order {order.number}, and its lines now go "
            "to ConnectWise with that order's export.") in text, text
    assert f"run #{run.id}" not in text and "being exported with other documents" not in text
    assert f'href="/colcw/documents/{order.id}/export" id="colcw-export-order"' in page
