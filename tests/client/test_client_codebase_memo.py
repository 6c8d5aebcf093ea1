"""A tenant's codebase found once and remembered for the clients that follow (API-NOTES §9.3): against
the sandbox over real HTTP, with the process's own memo and with the Redis one every process shares."""

from __future__ import annotations

import pytest
from test_client_sandbox import sandbox_settings

from colcw_plugin.cw import ConnectWiseClient, NotFound
from colcw_plugin.cw.discovery import CodebaseMemory
from colcw_plugin.sync.codebases import RedisCodebases

pytestmark = pytest.mark.slow


def _discoveries(sandbox) -> int:
    return sum(1 for r in sandbox.requests() if r["path"].startswith("/login/companyinfo/"))


@pytest.fixture()
def clients(cw_sandbox):
    made: list[ConnectWiseClient] = []

    def build(memo, **overrides) -> ConnectWiseClient:
        client = ConnectWiseClient(sandbox_settings(cw_sandbox, **overrides), codebases=memo)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


def test_a_client_after_the_first_asks_for_no_codebase(cw_sandbox, clients):
    memo = CodebaseMemory()
    assert clients(memo).companies.count() == 0
    assert _discoveries(cw_sandbox) == 1
    for _ in range(3):
        second = clients(memo)
        assert second.companies.count() == 0
        assert second.base_url == cw_sandbox.api_url
    assert _discoveries(cw_sandbox) == 1
    assert memo.get(sandbox_settings(cw_sandbox).site_root, cw_sandbox.company_id) == cw_sandbox.codebase


def test_a_remembered_codebase_that_moved_is_found_again_by_its_404(cw_sandbox, clients):
    memo = CodebaseMemory()
    clients(memo).discover()
    cw_sandbox.set_codebase("v2025_9/")  # a cloud upgrade: the old codebase answers 404
    client = clients(memo)
    assert client.companies.count() == 0
    assert client.base_url == cw_sandbox.api_url
    assert _discoveries(cw_sandbox) == 2
    # ... and the codebase found is the one the next client starts from.
    assert memo.get(sandbox_settings(cw_sandbox).site_root, cw_sandbox.company_id) == "v2025_9/"
    assert clients(memo).companies.count() == 0
    assert _discoveries(cw_sandbox) == 2


def test_a_record_truly_missing_costs_one_more_look_up_then_none(cw_sandbox, clients):
    memo = CodebaseMemory()
    clients(memo).discover()
    client = clients(memo)
    with pytest.raises(NotFound):
        client.companies.get(4242)  # the first answer this client has on the remembered codebase
    assert _discoveries(cw_sandbox) == 2  # looked up again: the codebase is the same, so it is a real 404
    with pytest.raises(NotFound):
        client.companies.get(4243)
    assert _discoveries(cw_sandbox) == 2


@pytest.mark.parametrize("remembered", ["../../evil/", "v2025_1/apis/3.0/x?", "", 17])
def test_a_malformed_remembered_codebase_is_not_used(cw_sandbox, clients, remembered):
    class Tampered:
        def get(self, site_root, company_id):
            return remembered

        def put(self, site_root, company_id, codebase):
            pass

    client = clients(Tampered())
    assert client.companies.count() == 0
    assert client.base_url == cw_sandbox.api_url
    assert _discoveries(cw_sandbox) == 1


def test_a_memo_that_fails_only_costs_the_discovery(cw_sandbox, clients):
    class Broken:
        def get(self, site_root, company_id):
            raise ConnectionError("the memo's store is away")

        def put(self, site_root, company_id, codebase):
            raise ConnectionError("the memo's store is away")

    for _ in range(2):
        assert clients(Broken()).companies.count() == 0
    assert _discoveries(cw_sandbox) == 2


def test_tenants_are_remembered_apart(cw_sandbox, clients):
    memo = CodebaseMemory()
    clients(memo).discover()
    site_root = sandbox_settings(cw_sandbox).site_root
    assert memo.get(site_root, cw_sandbox.company_id.upper()) == cw_sandbox.codebase  # company ids ignore case
    assert memo.get(site_root, "another-company") is None
    assert memo.get("https://eu.myconnectwise.net", cw_sandbox.company_id) is None


def test_a_remembered_codebase_expires():
    now = [1000.0]
    memo = CodebaseMemory(ttl=60, clock=lambda: now[0])
    memo.put("https://na.myconnectwise.net", "acme", "v2025_1/")
    now[0] += 59
    assert memo.get("https://na.myconnectwise.net", "acme") == "v2025_1/"
    now[0] += 2
    assert memo.get("https://na.myconnectwise.net", "acme") is None


def test_the_redis_memo_is_shared_by_clients_of_separate_memos(cw_sandbox, clients, redis_conn):
    # Two RedisCodebases on two connections stand for two processes (a web process and a worker).
    import redis

    first = RedisCodebases(redis_conn)
    second = RedisCodebases(redis.Redis.from_url(_url_of(redis_conn)))
    assert clients(first).companies.count() == 0
    assert clients(second).companies.count() == 0
    assert _discoveries(cw_sandbox) == 1
    [key] = list(redis_conn.scan_iter(match="colcw:codebase:*"))
    assert 0 < redis_conn.ttl(key) <= first.ttl
    assert cw_sandbox.company_id not in key.decode()  # the key names no tenant in clear
    first.forget_all()
    assert clients(second).companies.count() == 0
    assert _discoveries(cw_sandbox) == 2


def test_without_redis_a_client_still_finds_its_codebase_and_it_is_said_once(cw_sandbox, clients, caplog):
    import redis

    away = RedisCodebases(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    for _ in range(2):
        assert clients(away).companies.count() == 0
    assert _discoveries(cw_sandbox) == 2
    said = [r for r in caplog.records if "codebase" in r.getMessage() and r.levelname == "WARNING"]
    assert len(said) == 1 and "Redis unavailable" in said[0].getMessage()


def _url_of(conn) -> str:
    kwargs = conn.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
