"""Fixtures for customer sync tests: a connected sandbox with the acting rep mapped to a member."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping
from colcw_plugin.setup.connection import build_client
from host_stub.extensions import db
from host_stub.models import StoreSite


def map_default_rep(cw_client, member_identifier: str = "admin1") -> RepMapping:
    """Map the store's default rep (dana) to a ConnectWise member, as the rep mapping page would."""
    member = cw_client.members.list(conditions=C.eq("identifier", member_identifier), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    mapping = RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier=member_identifier)
    db.session.add(mapping)
    db.session.commit()
    return mapping


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
