"""What the company lookup's answers mean (``/login/companyinfo``): ConnectWise rate-limiting it or failing (429, 5xx)
is a transient failure, tried again after its Retry-After and counted as rate-limited or failing; only an answer
that is not the company's (a 404, an unknown company's null) is the permanent "check the site URL / company id"."""

from __future__ import annotations

import pytest
import responses
from cwtest_support import COMPANYINFO

from colcw_plugin.cw import DiscoveryError, RateLimited, ServerError


@pytest.fixture()
def lookup():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_429_is_waited_out_and_tried_again(lookup, make_client, fake_time):
    lookup.get(COMPANYINFO, status=429, headers={"Retry-After": "7"})
    with pytest.raises(DiscoveryError) as info:
        make_client(max_attempts=2).discover()
    assert fake_time.sleeps == [7.0]  # its Retry-After, then once more: as any request
    err = info.value
    assert err.transient and isinstance(err, RateLimited) and err.retry_after == 7.0 and err.kind == "rate_limited"
    assert "Check the site URL" not in str(err) and "rate limiting" in err.hint


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_transient(lookup, make_client, status):
    lookup.get(COMPANYINFO, status=status, json={"code": "ServiceUnavailable", "message": "Try later."})
    with pytest.raises(DiscoveryError) as info:
        make_client(max_attempts=1).discover()
    assert info.value.transient and isinstance(info.value, ServerError) and info.value.status == status
    assert "Check the site URL" not in str(info.value)


def test_a_404_still_says_to_check_the_site_url(lookup, make_client):
    lookup.get(COMPANYINFO, status=404, json={"code": "NotFound", "message": "Not found."})
    with pytest.raises(DiscoveryError) as info:
        make_client().discover()
    assert not info.value.transient and info.value.kind == "bad_response"
    assert not isinstance(info.value, RateLimited | ServerError)
    assert "Check the site URL" in str(info.value)
    assert len(lookup.calls) == 1  # not tried again


def test_an_unknown_company_still_says_to_check_the_company_id(lookup, make_client):
    lookup.get(COMPANYINFO, body="null", content_type="application/json")  # HTTP 200, JSON null
    with pytest.raises(DiscoveryError) as info:
        make_client().discover()
    assert not info.value.transient and info.value.kind == "unknown_company"
    assert "Check the company id" in str(info.value)
