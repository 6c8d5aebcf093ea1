"""Fixtures for the ConnectWise client unit tests (mocked HTTP with `responses`)."""

from __future__ import annotations

import pytest
import responses
from cwtest_support import COMPANY_INFO_BODY, COMPANYINFO, FakeTime, make_settings

from colcw_plugin.cw import ConnectWiseClient


@pytest.fixture()
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture()
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        yield mock


@pytest.fixture()
def make_client(fake_time):
    """Build a client whose sleeps are recorded instead of slept (rng fixed at 0.5)."""

    def build(**overrides) -> ConnectWiseClient:
        return ConnectWiseClient(
            make_settings(**overrides), sleep=fake_time.sleep, clock=fake_time.clock, rng=lambda: 0.5
        )

    return build
