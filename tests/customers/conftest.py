"""Fixtures for customer sync tests: a connected sandbox with the acting rep mapped to a member."""

from __future__ import annotations

import pytest

from colcw_plugin.setup.connection import build_client
from helpers import map_default_rep
from host_stub.extensions import db


@pytest.fixture()
def sync_ready(connected, cw_client):
    """Connected to an empty tenant, the default rep mapped: exports can run."""
    map_default_rep(cw_client)
    return connected


@pytest.fixture()
def sync_ready_demo(connected_demo, box):
    """Connected to the demo tenant, the default rep mapped to its ConnectWise member."""
    with build_client(db.session, box) as client:
        map_default_rep(client, "ddefault")
    return connected_demo
