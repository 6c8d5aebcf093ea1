"""Fixtures for the admin tests."""

from __future__ import annotations

import pytest

from colcw_plugin.setup.connection import build_client
from host_stub.extensions import db


@pytest.fixture()
def demo_client(connected_demo, box):
    """A client for the sandbox's demo tenant, built from the stored settings (``cw_client`` is the empty one)."""
    client = build_client(db.session, box)
    yield client
    client.close()
