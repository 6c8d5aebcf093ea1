"""The clients of one process send on the connections earlier clients left (cw/connections.py): against the
sandbox over real HTTP, which logs the client address and port (the TCP connection) of every request."""

from __future__ import annotations

import threading

import pytest
from test_client_sandbox import sandbox_settings

from colcw_plugin.cw import ConnectWiseClient
from colcw_plugin.cw.connections import SharedConnections

pytestmark = pytest.mark.slow


def _connections(sandbox) -> set[str]:
    return {r["connection"] for r in sandbox.requests()}


def _one_action(sandbox, shared: SharedConnections | None) -> None:
    """What a page action does: a client of its own, a request, the client closed."""
    with ConnectWiseClient(sandbox_settings(sandbox), connections=shared) as client:
        assert client.companies.count() == 0


def test_without_sharing_each_client_opens_a_connection_of_its_own(cw_sandbox):
    for _ in range(3):
        _one_action(cw_sandbox, None)
    assert len(cw_sandbox.requests()) == 6  # (each discovers its codebase: no memo here)
    assert len(_connections(cw_sandbox)) == 3


def test_clients_one_after_another_send_on_one_connection(cw_sandbox):
    shared = SharedConnections()
    for _ in range(3):
        _one_action(cw_sandbox, shared)
    assert len(cw_sandbox.requests()) == 6
    assert len(_connections(cw_sandbox)) == 1


def test_clients_at_once_each_have_a_connection_then_leave_them_to_the_next(cw_sandbox):
    shared = SharedConnections()
    clients = [ConnectWiseClient(sandbox_settings(cw_sandbox), connections=shared) for _ in range(2)]
    for client in clients:
        client.discover()
    cw_sandbox.add_fault(latency_ms=300, path="company/companies/count", count=2)  # both answers held at once
    barrier = threading.Barrier(2)

    def count(client: ConnectWiseClient) -> None:
        barrier.wait()
        client.companies.count()

    threads = [threading.Thread(target=count, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    assert len(_connections(cw_sandbox)) == 2
    _one_action(cw_sandbox, shared)
    assert len(_connections(cw_sandbox)) == 2  # the third client took one of the two kept


def test_after_a_silence_kept_connections_are_not_used(cw_sandbox):
    now = [100.0]
    shared = SharedConnections(idle_seconds=15, clock=lambda: now[0])
    _one_action(cw_sandbox, shared)
    now[0] += 10
    _one_action(cw_sandbox, shared)
    assert len(_connections(cw_sandbox)) == 1
    now[0] += 16  # longer than a server may keep a quiet connection open
    _one_action(cw_sandbox, shared)
    assert len(_connections(cw_sandbox)) == 2


def test_a_forked_process_never_sends_on_its_parents_connections(cw_sandbox):
    pid = [4000]
    shared = SharedConnections(getpid=lambda: pid[0])
    _one_action(cw_sandbox, shared)
    parent = shared.adapter()
    pid[0] = 4001  # an RQ work horse
    assert shared.adapter() is not parent
    _one_action(cw_sandbox, shared)
    assert len(_connections(cw_sandbox)) == 2
    shared.close()  # the child's own: the parent's pool is left as it was
    assert parent.poolmanager.pools.keys()


def test_clients_keep_their_own_cookies(cw_sandbox):
    shared = SharedConnections()
    first = ConnectWiseClient(sandbox_settings(cw_sandbox), connections=shared)
    second = ConnectWiseClient(sandbox_settings(cw_sandbox), connections=shared)
    first.session.cookies.set("affinity", "first")
    assert "affinity" not in second.session.cookies
    first.close()
    second.close()


@pytest.mark.usefixtures("connected")
def test_the_runtimes_clients_share_the_process_connections(app, cw_sandbox):
    from colcw_plugin.sync.runtime import Runtime
    from host_stub.extensions import db

    rt = Runtime.of(app)
    cw_sandbox.clear_requests()
    for _ in range(3):  # three page actions of one web process
        with rt.interactive_client(db.session) as client:
            assert client.companies.count() == 0
    assert len(cw_sandbox.requests()) == 4  # the codebase once, then remembered
    assert len(_connections(cw_sandbox)) == 1
