"""pytest fixtures for the ConnectWise sandbox.

Load with ``pytest_plugins = ["cw_sandbox.pytest_plugin"]`` in the root conftest (or
``-p cw_sandbox.pytest_plugin``).

* ``cw_sandbox_server``: one ``SandboxServer`` for the session (seed "empty").
* ``cw_sandbox``: that server, reset to the "empty" seed before the test.
* ``cw_sandbox_demo``: that server, reset to the "demo" seed before the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cw_sandbox.testing import SandboxServer


@pytest.fixture(scope="session")
def cw_sandbox_server() -> Iterator[SandboxServer]:
    """A sandbox server shared by the whole session."""
    server = SandboxServer(seed="empty")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cw_sandbox(cw_sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, reset to a new empty tenant (codebase back to v2025_1/)."""
    cw_sandbox_server.reset("empty", codebase="v2025_1/")
    return cw_sandbox_server


@pytest.fixture
def cw_sandbox_demo(cw_sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, reset to the demo tenant (codebase back to v2025_1/)."""
    cw_sandbox_server.reset("demo", codebase="v2025_1/")
    return cw_sandbox_server
