"""Fixtures for the sandbox's own tests (the sandbox fixtures come from cw_sandbox.pytest_plugin)."""

from __future__ import annotations

import pytest


@pytest.fixture
def company(cw_sandbox):
    """A company with one contact in the empty tenant: (company, contact)."""
    comp = cw_sandbox.api("POST", "company/companies", json={
        "identifier": "ACME", "name": "Acme Corp", "addressLine1": "1 Main St", "city": "Austin", "state": "TX",
        "zip": "73301", "country": {"name": "United States"}}).json()
    contact = cw_sandbox.api("POST", "company/contacts", json={
        "firstName": "Ada", "lastName": "Lovelace", "company": {"id": comp["id"]},
        "communicationItems": [{"type": {"name": "Email"}, "value": "ada@acme.example", "defaultFlag": True}]}).json()
    return comp, contact


@pytest.fixture
def receiver():
    """A local HTTP server that records the callbacks the sandbox POSTs (see callback_receiver.py)."""
    from callback_receiver import Receiver

    rx = Receiver()
    yield rx
    rx.stop()
