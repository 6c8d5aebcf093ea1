"""A Retry never confirms. A rep's Export now carries what they confirmed on the document's checklist (exporting into a
Won opportunity, a new one named like another but for case, the ⚠ warnings ticked); when that run stops before it
selects anything (cancelled while queued) and an admin clicks Retry, the retry was a copy of its params, confirmation
included, and went into the Won opportunity / made the near duplicate nobody confirmed this time. The retry now
carries no confirmation: the document fails saying a rep must confirm it on its page. What ConnectWise holds is
checked after the retry has run."""

from __future__ import annotations

import re

import pytest
from quote_support import items, line, make_opportunity

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _confirmed_export_cancelled_while_queued(rep_client, doc, confirm: str, checks: tuple[str, ...] = ()) -> int:
    """Export now with the checklist's confirmation ticked (no worker listens: the run stays queued), then an admin
    cancels the run before a worker starts it: it stopped before selecting anything."""
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert f'value="{confirm}" id="colcw-confirm-box"' in page
    for token in checks:
        assert f'name="confirm_check" value="{token}"' in page
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export",
                           data={"csrf_token": csrf_from(page), "confirm": confirm, "confirm_check": list(checks)})
    run_id = int(re.search(r"run=(\d+)", resp.location).group(1))
    run = db.session.get(SyncRun, run_id)
    assert run.params["confirmed"] == confirm and run.status == "queued"
    assert recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN).status == "cancelled"
    return run_id


def _retried(drain_queue, run_id: int) -> SyncRun:
    """Retry, as an admin's click on the run's page does it (views/runs.submit_retry), and the retry once a worker has
    run it."""
    retried = recovery.retry(db.session, runtime().queue, runtime().kinds, run_id, actor=ADMIN)
    assert retried is not None and not retried.already
    assert drain_queue() >= 1
    db.session.expire_all()
    return db.session.get(SyncRun, retried.run.id)


def _refusal(run: SyncRun) -> str:
    [item] = items(run)
    assert item.action == "failed", item.message
    return f"{item.message} {item.resolution}"


def test_a_retry_does_not_export_into_a_won_opportunity_the_stopped_run_was_confirmed_for(
        world, rep_client, drain_queue):
    won = make_opportunity(world, "Closed deal", status="wonFlag", lines=(("LAT-5440", 1, 1489),))
    doc = world.quote([line("OPT-7010")], name="Closed deal")
    stopped = _confirmed_export_cancelled_while_queued(rep_client, doc, f"name:{won['id']}")

    retry = _retried(drain_queue, stopped)
    # ConnectWise holds the Won opportunity as it was: no line of the quote went in.
    assert [p["catalogItem"]["identifier"] for p in world.products(won["id"])] == ["LAT-5440"]
    assert [o["id"] for o in world.opportunities()] == [won["id"]]
    said = _refusal(retry)
    assert f"Opportunity {won['id']} “Closed deal” is Won in ConnectWise" in said
    assert f"Open {doc.number}'s page and click Export to ConnectWise: confirm there" in said
    assert "A Retry, or an export of several documents, never confirms this for you." in said
    assert "confirmed" not in retry.params


def test_a_retry_does_not_make_the_near_duplicate_or_claim_the_ticked_warnings(world, rep_client, drain_queue):
    existing = make_opportunity(world, "Network Refresh")
    doc = world.quote([line("OPT-7010", qty=0)], name="network refresh")  # (⚠ Quantities and amounts)
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    amounts = re.search(r'name="confirm_check" value="(amounts:[0-9a-f]+)"', page).group(1)
    stopped = _confirmed_export_cancelled_while_queued(rep_client, doc, "new:new", (amounts,))
    assert db.session.get(SyncRun, stopped).params["confirmed_checks"] == [amounts]

    retry = _retried(drain_queue, stopped)
    # No second opportunity named like the existing one but for case.
    assert [o["id"] for o in world.opportunities()] == [existing["id"]]
    said = _refusal(retry)
    assert f"Open {doc.number}'s page and click Export to ConnectWise: confirm there" in said
    assert "confirmed on its export checklist" not in said
    assert "confirmed" not in retry.params and "confirmed_checks" not in retry.params
