"""A bulk quote export whose API keys ConnectWise refuses (401: a bad or revoked private key) stops at the first
refusal, as a whole: one message naming the fix (the Connection page), the documents it did not reach "not
attempted" for Retry, and no more requests than the documents under way when the refusal came (QA: 80 requests,
every document failing with the same "refused colcw's login")."""

from __future__ import annotations

import pytest
from quote_support import items, line

from colcw_plugin.setup.connection import ConnectionInput, save_connection
from helpers import tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _bad_key(sandbox, box) -> None:
    data = ConnectionInput(site_url=sandbox.base_url, company_id=sandbox.company_id, auth_mode="api_keys",
                           user=sandbox.public_key, secret="not-the-private-key", client_id="colcw-tests",
                           allow_http=True)
    save_connection(db.session, box, data, actor="tests", http_allowed_by_config=True)
    db.session.commit()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_first_refused_login_stops_the_run_as_a_whole(world, connected, box, app, monkeypatch, concurrency):
    tune_runtime(monkeypatch, app, concurrency=concurrency)
    docs = [world.quote([line("OPT-7010")], name=f"Deal {n}") for n in range(12)]
    _bad_key(connected, box)
    connected.clear_requests()

    run = world.export({"document_ids": [d.id for d in docs]})

    sent = connected.requests()
    refused = [r for r in sent if r["status"] == 401]
    # Only the documents already under way when the first refusal came sent anything: each its first request and
    # the read it sends ahead beside it (plus the codebase's discovery, unauthenticated). 12 documents without the
    # stop: at least 12 refusals.
    assert 1 <= len(refused) <= 2 * concurrency, [r["path"] for r in sent]
    assert len(sent) <= 2 * concurrency + 1, [r["path"] for r in sent]
    assert run.status == "failed", run.message
    assert "ConnectWise refused colcw's login" in run.message and "Connection page" in run.message
    assert "Retry" in run.message
    outcome = {i.host_id: i for i in items(run)}
    assert set(outcome) == {d.id for d in docs}  # each one outcome
    failed = [i for i in outcome.values() if i.action == "failed"]
    not_attempted = [i for i in outcome.values() if i.action == "not_attempted"]
    assert len(failed) <= concurrency and len(not_attempted) >= len(docs) - concurrency
    assert all("refused colcw's login" in i.message for i in not_attempted)
    # Named as the run's kind names them (its Retry button, its counts), not "records".
    assert f"the run stopped. {len(not_attempted)} quotes / orders not attempted." in run.message, run.message
    assert run.done == run.total == len(docs)
    assert world.opportunities() == []
