"""colcw's ConnectWise client against the sandbox's own limits: URL length, the request budget and
both forecast shapes (the client layer, colcw_plugin/cw, stays where it is in every layout)."""

from __future__ import annotations

import pytest

from colcw_plugin.cw import ClientSettings, ConnectWiseClient
from colcw_plugin.cw import conditions as C

SAFE_URL_LENGTH = 1745  # API-NOTES §4.2: the Developer Guide's "safe max"


def _client(sandbox, **overrides) -> ConnectWiseClient:
    values = {"site_url": sandbox.base_url, "company_id": sandbox.company_id, "client_id": sandbox.client_id,
              "public_key": sandbox.public_key, "private_key": sandbox.private_key, "allow_http": True,
              "rate_limit_per_minute": None, "backoff_base": 0.05, "read_timeout": 30.0}
    return ConnectWiseClient(ClientSettings(**{**values, **overrides}))


def _urls(sandbox) -> list[str]:
    return [f"{sandbox.base_url}{e['path']}" + (f"?{e['query']}" if e["query"] else "") for e in sandbox.requests()]


def test_no_request_exceeds_the_safe_url_length_for_5000_ids(cw_sandbox):
    cw_sandbox.generate(5000, contacts_per_company=1)
    with _client(cw_sandbox) as client:
        companies = list(client.companies.iterate(fields=["id", "identifier"]))
        assert len(companies) == 5000
        ids = [c["id"] for c in companies]
        identifiers = [c["identifier"] for c in companies]
        cw_sandbox.clear_requests()
        by_id = list(client.companies.iterate_in("id", ids, fields=["id"], conditions=C.eq("deletedFlag", False)))
        by_identifier = list(client.companies.iterate_in("identifier", identifiers, fields=["id", "identifier"]))
        contacts = list(client.contacts.iterate_in("company/id", ids, fields=["id", "company/id"]))
    assert sorted(r["id"] for r in by_id) == sorted(ids)
    assert sorted(r["identifier"] for r in by_identifier) == sorted(identifiers)
    assert {c["company"]["id"] for c in contacts} == set(ids)
    urls = _urls(cw_sandbox)
    assert len(urls) > 30  # the lists really were split
    assert all(e["status"] == 200 for e in cw_sandbox.requests())
    assert max(len(u) for u in urls) <= SAFE_URL_LENGTH, max(urls, key=len)


def test_a_condition_too_long_for_one_url_is_refused_before_it_is_sent(cw_sandbox):
    long_or = C.or_(*[C.eq("name", f"Company number {n}") for n in range(120)])
    with _client(cw_sandbox) as client:
        client.discover()
        cw_sandbox.clear_requests()
        with pytest.raises(ValueError, match="over the 1745 colcw keeps to, was not sent"):
            client.companies.list(conditions=long_or)
    assert cw_sandbox.requests() == []


def test_the_client_waits_out_the_sandboxs_own_budget(cw_sandbox):
    """No fault armed: the tenant's budget answers 429 with Retry-After, and the client retries."""
    cw_sandbox.set_throttle(per_minute=3, window_seconds=2)
    with _client(cw_sandbox, max_retry_seconds=30) as client:
        client.discover()
        counts = [client.count("company/countries") for _ in range(4)]
    assert counts == [12] * 4
    statuses = [e["status"] for e in cw_sandbox.requests() if e["path"].endswith("/count")]
    assert statuses.count(429) >= 1 and statuses[-1] == 200
    assert client.stats.retries >= 1


@pytest.mark.parametrize("shape", ["array", "object"])
def test_forecast_items_are_read_in_either_shape(cw_sandbox_demo, shape):
    cw_sandbox_demo.set_options(forecast_shape=shape)
    with _client(cw_sandbox_demo) as client:
        opportunity = next(client.opportunities.iterate(fields=["id"]))
        products = list(client.products.iterate(conditions=C.eq("opportunity/id", opportunity["id"]),
                                                fields=["id", "forecastDetailId"]))
        items = client.opportunity_forecast(opportunity["id"]).items()
    assert products and sorted(i["id"] for i in items) == sorted(p["forecastDetailId"] for p in products)
    assert all(i["opportunity"]["id"] == opportunity["id"] for i in items)
