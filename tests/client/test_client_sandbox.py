"""The client against the cw_sandbox over real HTTP: discovery, auth, paging, escaping,
retries, rediscovery and the connection check.

Fixtures come from ``cw_sandbox.pytest_plugin`` (loaded by tests/conftest.py).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from colcw_plugin.cw import (
    ClientSettings,
    ConnectWiseClient,
    NetworkError,
    ValidationFailed,
    check_connection,
)
from colcw_plugin.cw import conditions as C

pytestmark = pytest.mark.slow


def sandbox_settings(sandbox, **overrides) -> ClientSettings:
    values = {
        "site_url": sandbox.base_url,
        "company_id": sandbox.company_id,
        "client_id": sandbox.client_id,
        "public_key": sandbox.public_key,
        "private_key": sandbox.private_key,
        "allow_http": True,
        "rate_limit_per_minute": None,
        "backoff_base": 0.05,
        "read_timeout": 10.0,
    }
    values.update(overrides)
    return ClientSettings(**values)


@pytest.fixture()
def make_cw(cw_sandbox) -> Callable[..., ConnectWiseClient]:
    clients: list[ConnectWiseClient] = []

    def build(**overrides) -> ConnectWiseClient:
        client = ConnectWiseClient(sandbox_settings(cw_sandbox, **overrides))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def _api_calls(sandbox, method: str, fragment: str) -> list[dict]:
    return [r for r in sandbox.requests() if r["method"] == method and fragment in r["path"]]


def test_discovery_finds_the_codebase(cw_sandbox, make_cw):
    client = make_cw()
    info = client.discover()
    assert info.codebase == cw_sandbox.codebase
    assert client.base_url == cw_sandbox.api_url


@pytest.mark.parametrize("mode", ["api_key", "integrator"])
def test_both_auth_modes_sign_in(cw_sandbox, make_cw, mode):
    creds = (
        {}
        if mode == "api_key"
        else {
            "public_key": None,
            "private_key": None,
            "username": cw_sandbox.username,
            "password": cw_sandbox.password,
        }
    )
    client = make_cw(**creds)
    assert client.system_info().get("version")
    created = client.companies.create({"identifier": f"Auth{mode}", "name": f"Auth {mode}", "city": "Tampa"})
    expected = cw_sandbox.username if mode == "integrator" else None
    if expected:
        assert created["_info"]["updatedBy"] == expected


@pytest.mark.parametrize("forward_only", [False, True], ids=["navigable", "forward-only"])
def test_paging_over_2600_companies(cw_sandbox, make_cw, forward_only):
    cw_sandbox.generate(2600, contacts_per_company=0)
    client = make_cw()
    total = client.companies.count()
    assert total >= 2600
    client.stats.reset()
    rows = list(
        client.companies.iterate(
            fields=["id", "name"], order_by=None if forward_only else "id asc", forward_only=forward_only
        )
    )
    ids = [r["id"] for r in rows]
    assert len(ids) == total and len(set(ids)) == total
    assert ids == sorted(ids)
    assert set(rows[0]) <= {"id", "name"}
    pages = -(-total // 1000)
    assert client.stats.counts == {"GET company/companies": pages}
    listed = _api_calls(cw_sandbox, "GET", "company/companies")[-pages:]
    if forward_only:
        assert "pageId=" not in listed[0]["query"] and all("pageId=" in r["query"] for r in listed[1:])
    else:
        assert [r["query"].count("page=") for r in listed] == [1] * pages


NASTY = [
    'O"Brien & Sons',
    "O'Neil Trading",
    "Back\\slash Co",
    '\\"quoted\\"',
    "100% Sure Ltd",
    "[Bracket] Corp",
    "a]b[c",
    "Zürich Mühle 東京",
]
DECOYS = [
    "OBrien & Sons",
    "ONeil Trading",
    "Backslash Co",
    "quoted",
    "100 Sure Ltd",
    "Bracket Corp",
    "abc",
    "Zurich Muhle",
]


def test_condition_values_with_quotes_brackets_and_unicode_match_exactly(cw_sandbox, make_cw):
    client = make_cw()
    ids = {}
    for n, name in enumerate(NASTY + DECOYS):
        ids[name] = client.companies.create({"identifier": f"Nasty{n}", "name": name, "city": "Tampa"})["id"]
    for name in NASTY:
        found = list(client.companies.iterate(conditions=C.eq("name", name), fields=["id", "name"]))
        assert [(r["id"], r["name"]) for r in found] == [(ids[name], name)], name
    # contains treats the value literally, so "%" and "[" are not wildcards.
    assert [r["name"] for r in client.companies.iterate(conditions=C.contains("name", "0% S"))] == [
        "100% Sure Ltd"
    ]
    assert [r["name"] for r in client.companies.iterate(conditions=C.contains("name", "t] C"))] == [
        "[Bracket] Corp"
    ]
    assert client.companies.count(C.in_("name", NASTY)) == len(NASTY)


def test_in_list_chunks_reach_every_record(cw_sandbox, make_cw):
    cw_sandbox.generate(1200, contacts_per_company=0)
    client = make_cw()
    all_ids = [r["id"] for r in client.companies.iterate(fields=["id"])]
    found = list(client.companies.iterate_in("id", all_ids, fields=["id"]))
    assert sorted(r["id"] for r in found) == sorted(all_ids)
    listed = _api_calls(cw_sandbox, "GET", "company/companies")
    assert len(listed) > 2  # several chunks


def test_429_retry_after_is_honoured(cw_sandbox, make_cw):
    client = make_cw()
    client.discover()
    cw_sandbox.add_fault(status=429, retry_after=1, count=1, path="company/companies")
    start = time.monotonic()
    assert client.companies.count() >= 0
    assert time.monotonic() - start >= 1.0
    assert client.stats.retries == 1
    statuses = [r["status"] for r in _api_calls(cw_sandbox, "GET", "company/companies")]
    assert statuses == [429, 200]


def test_503_is_retried_with_backoff(cw_sandbox, make_cw):
    client = make_cw(backoff_base=0.2)
    client.discover()
    cw_sandbox.add_fault(status=503, count=2, path="company/companies")
    start = time.monotonic()
    client.companies.list()
    # Two back-offs: at least 0.1 + 0.2 s with equal jitter on 0.2 s doubling.
    assert time.monotonic() - start >= 0.3
    assert [r["status"] for r in _api_calls(cw_sandbox, "GET", "company/companies")] == [503, 503, 200]


def test_400_is_not_retried_and_carries_connectwise_message_and_field(cw_sandbox, make_cw):
    client = make_cw()
    with pytest.raises(ValidationFailed) as info:
        client.companies.create({"identifier": "NoAddress", "name": "No address"})
    exc = info.value
    assert exc.status == 400 and exc.method == "POST" and exc.path == "company/companies"
    assert "addressLine1" in exc.fields
    assert "address field is required" in str(exc)
    assert len(_api_calls(cw_sandbox, "POST", "company/companies")) == 1


def test_dropped_post_is_not_retried_but_a_dropped_get_is(cw_sandbox, make_cw):
    client = make_cw()
    client.discover()
    cw_sandbox.add_fault(status="drop", method="POST", count=1, path="company/companies")
    with pytest.raises(NetworkError) as info:
        client.companies.create({"identifier": "Drop1", "name": "Drop", "city": "Tampa"})
    assert info.value.sent is True
    assert len(_api_calls(cw_sandbox, "POST", "company/companies")) == 1
    cw_sandbox.add_fault(status="drop", method="GET", count=1, path="company/companies")
    assert client.companies.count() == 0


def test_a_hung_get_times_out_and_is_retried(cw_sandbox, make_cw):
    client = make_cw(read_timeout=0.5)
    client.discover()
    cw_sandbox.add_fault(status="hang", seconds=2, count=1, path="system/info")
    assert client.system_info()
    assert client.stats.retries == 1


def test_codebase_change_is_rediscovered(cw_sandbox, make_cw):
    client = make_cw()
    client.system_info()
    old = client.base_url
    cw_sandbox.set_codebase("v2025_9/")
    assert client.companies.count() == 0
    assert client.base_url != old and client.base_url == cw_sandbox.api_url


# -- check_connection -------------------------------------------------------------------


def test_check_connection_success(cw_sandbox, make_cw):
    report = check_connection(make_cw())
    assert report.ok, report.as_dict()
    assert report.version
    assert report.member == "APIMember"
    assert any(s.resource == "procurement/catalog" and s.ok for s in report.steps)


def test_check_connection_with_an_integrator_login(cw_sandbox, make_cw):
    report = check_connection(make_cw(
        public_key=None, private_key=None, username=cw_sandbox.username, password=cw_sandbox.password
    ))
    assert report.ok and cw_sandbox.username in report.member


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (lambda sb: {"site_url": f"http://127.0.0.1:{_closed_port()}"}, "unreachable"),
        (lambda sb: {"site_url": sb.base_url.replace("http://", "https://")}, "tls"),
        (lambda sb: {"company_id": "nosuchcompany"}, "unknown_company"),
        (lambda sb: {"private_key": "wrong-key"}, "bad_credentials"),
    ],
    ids=["unreachable", "tls", "unknown-company", "bad-credentials"],
)
def test_check_connection_names_the_failed_step(cw_sandbox, make_cw, overrides, problem):
    report = check_connection(make_cw(**overrides(cw_sandbox)))
    assert not report.ok
    failed = report.failed_steps
    assert [s.problem for s in failed] == [problem]
    assert failed[0].fix and failed[0].detail
    assert report.steps[-1] is failed[0]  # later steps are skipped
    assert "wrong-key" not in str(report.as_dict())


def test_check_connection_names_each_denied_resource(cw_sandbox, make_cw):
    cw_sandbox.deny(["procurement/catalog", "system/departments"])
    report = check_connection(make_cw())
    assert not report.ok
    denied = [(s.problem, s.resource) for s in report.failed_steps]
    assert denied == [("permission", "procurement/catalog"), ("permission", "system/departments")]
    assert all("security role" in s.fix for s in report.failed_steps)
    assert report.version  # sign-in still worked
