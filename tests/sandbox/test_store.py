"""Persistence with db_path, and thread safety under concurrent writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cw_sandbox.testing import SandboxServer


def test_data_survives_a_restart_on_the_same_sqlite_file(tmp_path):
    db = str(tmp_path / "cw.sqlite")
    first = SandboxServer(seed="empty", db_path=db)
    try:
        made = first.api("POST", "company/companies", json={"identifier": "KEEP", "name": "Kept", "city": "X"}).json()
        first.api("PATCH", f"company/companies/{made['id']}", json=[{"op": "replace", "path": "name", "value": "Kept 2"}])
        first.set_codebase("v2026_1/")
    finally:
        first.stop()
    second = SandboxServer(seed="demo", db_path=db)  # an existing file is reused, not reseeded
    try:
        assert second.codebase == "v2026_1/"
        rows = second.api("GET", "company/companies").json()
        assert [(r["identifier"], r["name"]) for r in rows] == [("KEEP", "Kept 2")]
        again = second.api("POST", "company/companies", json={"identifier": "NEXT", "name": "Next", "city": "X"})
        assert again.json()["id"] == made["id"] + 1  # id counters persist too
    finally:
        second.stop()


def test_concurrent_writes_get_distinct_ids_and_all_land(cw_sandbox):
    def create(n: int) -> int:
        resp = cw_sandbox.api("POST", "company/companies", json={
            "identifier": f"T{n:04d}", "name": f"Threaded {n}", "city": "Austin"})
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    # Eight at a time: under the tenant's limit of requests in flight (10), as a client that obeys
    # ConnectWise's limits sends them; more would be answered 429 whenever the machine is slow.
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(200)))
    assert len(set(ids)) == 200
    assert cw_sandbox.api("GET", "company/companies/count").json() == {"count": 200}
    sites = {s["id"] for c in ids for s in cw_sandbox.api("GET", f"company/companies/{c}/sites").json()}
    assert len(sites) == 200


def test_concurrent_duplicate_identifiers_admit_exactly_one(cw_sandbox):
    def create(_n: int) -> int:
        return cw_sandbox.api("POST", "company/companies", json={
            "identifier": "SAME", "name": "Same", "city": "Austin"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(create, range(24)))
    assert statuses.count(201) == 1 and statuses.count(400) == 23
