"""Fixtures for the quote export tests (helpers live in quote_support)."""

from __future__ import annotations

import pytest
from quote_support import QuoteWorld, make_world
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import User


@pytest.fixture()
def world(connected, box) -> QuoteWorld:
    return make_world(connected, box)


@pytest.fixture()
def riley(app) -> dict:
    user = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    return {"id": user.id, "email": user.email, "name": user.name, "role": "rep"}
