"""Fixtures for live updates: a live host receiving the sandbox's callbacks, with a worker running."""

from __future__ import annotations

import pytest
from inbound_support import make_world


@pytest.fixture()
def fast_callbacks(connected):
    """The sandbox retries failed deliveries after 0.2 s and 0.4 s instead of 2 s and 4 s."""
    connected.set_callback_settings(retry_delays=[0.2, 0.4])
    return connected


@pytest.fixture()
def world(fast_callbacks, box):
    """A host customer, contact and catalog linked to ConnectWise (quote_support.make_world)."""
    return make_world(fast_callbacks, box)
