"""Customer exports and imports whose API keys ConnectWise refuses (401) stop at the first refusal as a whole, as a
quote export does (one place: the client sends nothing after it, the run stops where a cancel would): one message
naming the Connection page, the customers it did not reach "not attempted" for Retry, a handful of requests."""

from __future__ import annotations

import pytest
from customer_support import items, make_customer, run

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


def _said_once(done) -> None:
    assert done.status == "failed"
    assert "ConnectWise refused colcw's login" in done.message and "Connection page" in done.message
    assert "Retry" in done.message


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_customer_export_stops_at_the_first_refused_login(sync_ready, box, app, monkeypatch, concurrency):
    tune_runtime(monkeypatch, app, concurrency=concurrency)
    ids = [make_customer(contacts=[], name=f"Refused {i}", account_number=f"REF{i:02d}").id for i in range(10)]
    _bad_key(sync_ready, box)
    sync_ready.clear_requests()

    done = run("customer_export", {"customer_ids": ids})

    # The API's requests (sent with the keys ConnectWise refuses), and beside them the run's one company lookup (it asks
    # for no login; since 1740c63 the reads sent ahead share it, however many threads need the API's address at once).
    sent = [r for r in sync_ready.requests() if "/apis/3.0/" in r["path"]]
    assert len(sent) <= 2 * concurrency + 2, [r["path"] for r in sent]  # 10 customers: 10 refusals at least before
    lookups = [r for r in sync_ready.requests() if r["path"].startswith("/login/companyinfo/")]
    assert len(lookups) == 1, [r["path"] for r in sync_ready.requests()]
    _said_once(done)
    outcome = {i.host_id: i for i in items(done, "customer")}
    assert set(outcome) == set(ids)
    not_attempted = [i for i in outcome.values() if i.action == "not_attempted"]
    assert len(not_attempted) >= len(ids) - concurrency
    assert all("refused colcw's login" in i.message for i in not_attempted)
    assert f"the run stopped. {len(not_attempted)} customers not attempted." in done.message, done.message
    assert done.done == done.total == len(ids)


def test_a_customer_import_stops_at_the_first_refused_login(sync_ready, box, app):
    _bad_key(sync_ready, box)
    sync_ready.clear_requests()

    done = run("customer_import", {"mode": "all"})

    assert len(sync_ready.requests()) <= 3
    _said_once(done)


def test_an_import_of_chosen_companies_names_the_companies_it_did_not_reach(sync_ready, box):
    _bad_key(sync_ready, box)

    done = run("customer_import", {"company_ids": [101, 102, 103]})

    _said_once(done)
    assert "the run stopped. 3 companies not attempted." in done.message, done.message
