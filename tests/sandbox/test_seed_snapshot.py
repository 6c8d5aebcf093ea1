"""A reset restores a snapshot of the seed instead of writing it anew: the tenant is the one a new seeding makes.

The clock is frozen (``cw_sandbox.validation.now_iso`` and the opportunity rules read ``datetime.now``) so that a
restored tenant and one seeded anew at the same moment can be compared whole, stamps included.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cw_sandbox import rules, validation
from cw_sandbox.app import create_app
from cw_sandbox.resources import RESOURCES_BY_KEY
from cw_sandbox.seed import apply_seed
from cw_sandbox.store import Store

SITE = "http://127.0.0.1:5999"
NEW_COMPANY = {"identifier": "NEWCO", "name": "New Co", "addressLine1": "1 Main St", "city": "Austin", "state": "TX",
               "zip": "73301", "country": {"name": "United States"}}


class _Clock(datetime):
    at = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.at


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(validation, "datetime", _Clock)
    monkeypatch.setattr(rules, "datetime", _Clock)
    _Clock.at = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)
    return _Clock


def _state(store: Store) -> tuple:
    """Everything the store holds, in its order (ids, records, counters, meta)."""
    return ({r: list(t.items()) for r, t in store._data.items()}, dict(store._next_id), dict(store._meta))


def _tenant(**kw):
    return create_app(seed="empty", site_url=SITE, **kw).extensions["cw_sandbox"]


@pytest.mark.parametrize("seed", ["empty", "demo"])
def test_a_restored_seed_is_the_seed_written_anew_at_that_moment(clock, seed):
    tenant = _tenant()
    apply_seed(tenant, seed)  # written record by record, and kept as a snapshot
    assert any(k[0] == seed for k in tenant.seed_snapshots)
    first = _state(tenant.store)
    clock.at = datetime(2026, 4, 2, 17, 0, 41, tzinfo=UTC)  # a later reset: its stamps are the reset's
    apply_seed(tenant, seed)
    anew = _tenant()
    anew.seed_snapshots.clear()
    apply_seed(anew, seed)
    assert _state(tenant.store) == _state(anew.store)
    assert _state(tenant.store) != first  # the stamps moved (the comparison above sees them)
    assert tenant.store.get("members", 1)["_info"]["lastUpdated"] == "2026-04-02T17:00:41Z"


def test_writes_after_a_reset_go_on_as_after_a_new_seeding(clock):
    """Id counters and indexes: the next record gets the same id, and a lookup by a field finds the same ids."""
    tenant, anew = _tenant(), _tenant()
    apply_seed(tenant, "demo")
    apply_seed(tenant, "demo")  # the restore
    anew.seed_snapshots.clear()
    apply_seed(anew, "demo")
    for t in (tenant, anew):
        assert t.store.lookup("contacts", "company/id", [("n", 2)])  # an index built on the restored records
    made = []
    for t in (tenant, anew):
        made.append(t.create(RESOURCES_BY_KEY["companies"], NEW_COMPANY, "admin1"))
    assert made[0] == made[1]
    assert tenant.store.lookup("contacts", "company/id", [("n", 2)]) == anew.store.lookup("contacts", "company/id", [("n", 2)])
    assert _state(tenant.store) == _state(anew.store)


def test_a_reset_forgets_the_writes_since_the_last_one_and_what_was_read_before(cw_sandbox):
    server = cw_sandbox
    assert server.api("GET", "company/companies").json() == []  # read (and cached) while the tenant is empty
    server.reset("demo")
    companies = server.api("GET", "company/companies", params={"pageSize": 1000}).json()
    assert companies, "a read after the reset must see the demo tenant, not what was read before it"
    first = companies[0]
    assert server.api("PATCH", f"company/companies/{first['id']}",
                      json=[{"op": "replace", "path": "name", "value": "Renamed"}]).status_code == 200
    assert server.api("POST", "company/companies", json=NEW_COMPANY).status_code == 201
    server.reset("demo")
    again = server.api("GET", "company/companies", params={"pageSize": 1000}).json()
    assert [c["id"] for c in again] == [c["id"] for c in companies]
    assert again[0]["name"] == first["name"]
    made = server.api("POST", "company/companies", json=NEW_COMPANY).json()
    assert made["id"] == max(c["id"] for c in companies) + 1


def test_a_restore_reaches_the_database_file(tmp_path, clock):
    path = str(tmp_path / "sandbox.db")
    tenant = _tenant(db_path=path)
    apply_seed(tenant, "demo")
    tenant.store.put("companies", {**tenant.store.get("companies", 1), "name": "Changed"})
    apply_seed(tenant, "demo")  # the restore
    assert tenant.store.get("companies", 1)["name"] != "Changed"
    assert _state(Store(path)) == _state(tenant.store)[:2] + ({**tenant.store._meta,
                                                                "next_id": tenant.store._next_id},)


def test_a_reset_with_a_codebase_moves_the_api_first_and_seeds_for_it(cw_sandbox):
    """What the fixtures send: ``set_codebase`` then ``reset`` in one request (the seed's hrefs name the new base)."""
    server = cw_sandbox
    server.reset("demo", codebase="v2026_1/")
    assert server.codebase == "v2026_1/"
    company = server.api("GET", "company/companies", params={"pageSize": 1}).json()[0]
    assert "/v2026_1/apis/3.0/" in company["status"]["_info"]["companyStatus_href"]
    server.reset("demo", codebase="v2025_1/")
    assert server.codebase == "v2025_1/"
    company = server.api("GET", "company/companies", params={"pageSize": 1}).json()[0]
    assert "/v2025_1/apis/3.0/" in company["status"]["_info"]["companyStatus_href"]
    bad = server._session.post(f"{server.base_url}/__sandbox__/reset", json={"seed": "demo", "codebase": 5})
    assert bad.status_code == 400 and server.codebase == "v2025_1/"
