"""The records and helpers the sandbox's query engine tests share (test_query*.py)."""

from __future__ import annotations

import pytest

from cw_sandbox.query import QueryError, compile_conditions

RECORDS: list[dict] = [
    {
        "id": 1,
        "identifier": "ACME",
        "name": "Acme Corp",
        "city": "Montréal",
        "revenue": 1500.5,
        "employees": 40,
        "deletedFlag": False,
        "status": {"id": 1, "name": "Active"},
        "_info": {"lastUpdated": "2025-01-02T03:04:05Z", "updatedBy": "jdoe"},
    },
    {
        "id": 2,
        "identifier": "MULLER",
        "name": "Müller GmbH",
        "city": "Berlin",
        "revenue": 99.0,
        "employees": 5,
        "deletedFlag": True,
        "status": {"id": 2, "name": "Inactive"},
        "_info": {"lastUpdated": "2024-06-30T23:59:59Z", "updatedBy": None},
    },
    {
        "id": 3,
        "identifier": "OBRIEN",
        "name": 'O\'Brien "Quoted" \\ Co',
        "city": None,
        "revenue": None,
        "employees": 0,
        "deletedFlag": False,
        "status": None,
        "_info": {"lastUpdated": "2025-01-02T03:04:06Z"},
    },
    {
        "id": 4,
        "identifier": "PCT",
        "name": "100% [Bracket] Widgets",
        "city": "montréal",
        "employees": -3,
        "deletedFlag": False,
        "status": {"id": 1, "name": "Active"},
        "_info": {"lastUpdated": "2023-12-31T00:00:00Z"},
    },
]


def ids(conditions: str | None) -> list[int]:
    pred = compile_conditions(conditions)
    return [r["id"] for r in RECORDS if pred(r)]


def error(conditions: str) -> str:
    with pytest.raises(QueryError) as exc_info:
        compile_conditions(conditions)
    assert isinstance(exc_info.value, ValueError)
    return str(exc_info.value)
