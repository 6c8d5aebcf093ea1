"""A new opportunity's create intent (quotes/intents.py), with the run's bound on waiting for it
(``COLCW_CREATE_SETTLE_SECONDS``): a POST an earlier attempt sent and never saw end is waited for at most that long,
then taken for lost and the opportunity created with the same token; a POST whose answer this attempt saw lost is
not waited for at all (the run's next pass looks it up and creates it). A run whose attempts are spent before the
bound waits for it once more, and creates it then. QA's frozen worker, whose POST lands after
the resumed attempt's look-up, is tests/jobs/test_frozen_opportunity_post_lands_late.py."""

from __future__ import annotations

import datetime as dt
import time

from quote_support import line

from colcw_plugin.models import CreateIntent
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes import intents
from helpers import runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow


def _posts(world) -> list[dict]:
    return [r for r in world.sandbox.requests() if r["method"] == "POST" and r["path"].endswith("sales/opportunities")]


def _looked_up_before_the_post(world) -> int:
    """How many look-ups of the company's opportunities by name went out before the (first) opportunity POST."""
    n = 0
    for r in world.sandbox.requests():
        if r["method"] == "POST" and r["path"].endswith("sales/opportunities"):
            return n
        if r["method"] == "GET" and r["path"].endswith("sales/opportunities") and "name" in str(r.get("query")):
            n += 1
    return n


def test_a_create_an_earlier_attempt_never_saw_end_is_waited_for_then_taken_for_lost_with_its_token(
        world, app, monkeypatch):
    # Passes 1 s and 5 s after a failure; the earlier POST is taken for lost 3 s after it was claimed.
    tune_runtime(monkeypatch, app, create_settle_seconds=3, record_retry_intervals=(1, 5))
    doc = world.quote([line("OPT-7010")], name="Lost deal")
    # An earlier attempt claimed the create and froze or died with its POST in flight (it never said how it ended),
    # and ConnectWise never carried it out.
    claimed = intents.claim(db.session, doc.id, world.company_id, "Lost deal")
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    # The first two passes found nothing and waited (no POST); the third, past the bound, created it.
    assert _looked_up_before_the_post(world) == 3
    assert len(_posts(world)) == 1, _posts(world)
    [opp] = world.opportunities()
    assert opp["name"] == "Lost deal"
    assert f"(colcw ref {claimed.token})" in opp["notes"]  # the same token: a late landing would be told apart
    assert f"created opportunity {opp['id']}" in run.message, run.message
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]
    assert db.session.query(CreateIntent).count() == 0  # settled with the link


def test_an_opportunity_post_this_attempt_saw_dropped_is_sent_again_on_the_next_pass_without_waiting(
        world, app, monkeypatch):
    # A bound far longer than the run: a dropped POST of this attempt's own must not be waited for.
    tune_runtime(monkeypatch, app, create_settle_seconds=600, record_retry_intervals=(1,))
    doc = world.quote([line("OPT-7010"), line("LAT-5440")], name="Dropped deal")
    world.sandbox.add_fault(status="drop", method="POST", path=r"sales/opportunities$", count=1)
    run = world.export(doc.id)
    assert run.status == "succeeded", run.message
    posts = _posts(world)
    assert [p["status"] for p in posts] == ["drop", 201], posts
    [opp] = world.opportunities()
    assert opp["name"] == "Dropped deal" and "(colcw ref " in opp["notes"]
    assert f"created opportunity {opp['id']}" in run.message, run.message
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]
    assert db.session.query(CreateIntent).count() == 0


def test_a_run_whose_attempts_are_spent_waits_for_an_earlier_create_to_settle_then_creates_it(world, app, monkeypatch):
    # One attempt after the first, 0.1 s later, and no pass within an attempt: the run's attempts are spent long before
    # the earlier POST is taken for lost (3 s after it was claimed). The soak (bench/soak_convergence.py), whose
    # attempts' intervals add up to less than the bound, left such a document "not done" for a person to retry.
    tune_runtime(monkeypatch, app, create_settle_seconds=3, record_retry_intervals=(), retry_intervals=(0.1,))
    doc = world.quote([line("OPT-7010")], name="Patient deal")
    claimed = intents.claim(db.session, doc.id, world.company_id, "Patient deal")
    run_id = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id}).id
    db.session.commit()

    first = runtime().execute(db.session, run_id, queued=True)
    assert first.status == "waiting", first.message
    time.sleep(0.2)
    second = runtime().execute(db.session, run_id, queued=True)
    assert second.status == "waiting", second.message  # its attempts spent, it waits for the earlier create to settle
    settles = claimed.sent + dt.timedelta(seconds=3)
    assert settles <= second.next_try_at <= settles + dt.timedelta(seconds=2), (second.next_try_at, claimed.sent)
    assert _posts(world) == [] and world.opportunities() == []

    time.sleep(max(0.0, (second.next_try_at - utcnow()).total_seconds()))
    done = runtime().execute(db.session, run_id, queued=True)
    assert done.status == "succeeded", done.message
    [opp] = world.opportunities()
    assert opp["name"] == "Patient deal" and f"(colcw ref {claimed.token})" in opp["notes"]
    assert len(_posts(world)) == 1
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]
