"""Network failures say in words what went wrong and what to do, never the library's text
(``HTTPConnectionPool(host=...): Max retries exceeded ...``): Test Connection shows them as they are."""

from __future__ import annotations

import socket
import threading

import pytest

from colcw_plugin.cw import ConnectWiseClient, check_connection
from colcw_plugin.cw.settings import ClientSettings

LIBRARY_WORDS = ("HTTPConnectionPool", "HTTPSConnectionPool", "Max retries", "NewConnectionError", "urllib3",
                 "Errno", "object at 0x")


def _report(site: str):
    settings = ClientSettings(site_url=site, company_id="acme", client_id="c", public_key="pub",
                              private_key="priv", allow_http=True, connect_timeout=2.0, read_timeout=2.0)
    with ConnectWiseClient(settings) as client:
        return check_connection(client)


def _words_only(text: str) -> None:
    for word in LIBRARY_WORDS:
        assert word not in text, f"library text {word!r} shown to a person: {text}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_refused_connection_is_said_in_words_with_what_to_do():
    port = _closed_port()
    report = _report(f"http://127.0.0.1:{port}")
    [step] = report.steps
    assert not step.ok and step.problem == "unreachable"
    assert step.detail == (f"cannot reach http://127.0.0.1:{port}: could not connect: the server refused the "
                           "connection (nothing answers at that address and port)")
    assert step.fix == "Check the site URL and that this server can reach it (firewall, proxy, DNS)"
    _words_only(step.detail + step.fix)


def test_an_unknown_host_name_says_dns(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)  # the edge: no resolver on this machine
    [step] = _report("https://na.myconnectwsie.net").steps
    assert step.detail == ("cannot reach https://na.myconnectwsie.net: could not connect: the server's name could "
                           "not be found (DNS); check the spelling of the site URL")
    _words_only(step.detail)


@pytest.fixture()
def hang_up_server():
    """A server that accepts each connection and closes it without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(4096)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_server_that_hangs_up_is_said_in_words(hang_up_server):
    [step] = _report(f"http://127.0.0.1:{hang_up_server}").steps
    assert step.problem == "unreachable"
    assert step.detail.startswith(f"cannot reach http://127.0.0.1:{hang_up_server}: connection dropped: ")
    assert step.detail.endswith(("the server closed the connection", "the network connection failed"))
    _words_only(step.detail)
