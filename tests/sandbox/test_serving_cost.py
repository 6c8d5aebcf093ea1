"""The sandbox's own cost: kept-alive connections, and filters that read an index instead of every record.

The request log records ``examined``: how many stored records the request looked at to answer.
"""

from __future__ import annotations

import base64
import socket

from cw_sandbox.cli import build_server
from cw_sandbox.testing import SandboxServer


def _raw_get(sock: socket.socket, sandbox, path: str) -> bytes:
    auth = base64.b64encode(f"{sandbox.auth[0]}:{sandbox.auth[1]}".encode()).decode()
    sock.sendall((f"GET /{sandbox.codebase}apis/3.0/{path} HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n"
                  f"Authorization: Basic {auth}\r\nclientId: {sandbox.client_id}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        head += chunk
    header, _, body = head.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in header.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return header


def test_one_connection_serves_several_requests_over_http_1_1(cw_sandbox):
    with socket.create_connection(("127.0.0.1", cw_sandbox.port), timeout=10) as sock:
        for path in ("company/states/count", "company/countries", "system/info"):
            header = _raw_get(sock, cw_sandbox, path)
            assert header.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in header.lower()


def test_the_cli_server_keeps_connections_alive_too():
    # cw-sandbox serve uses the same server as the test server (cw_sandbox.serving.make_server).
    server, _app = build_server(host="127.0.0.1", port=0, seed="empty", db=None, company_id="sandbox",
                                codebase="v2025_1/")
    assert server.RequestHandlerClass.protocol_version == "HTTP/1.1"
    server.server_close()


def test_id_in_and_reference_id_in_read_an_index(cw_sandbox):
    cw_sandbox.generate(3000, contacts_per_company=2)
    companies = cw_sandbox.api("GET", "company/companies", params={"pageSize": 1000, "fields": "id"}).json()
    wanted = [c["id"] for c in companies[10:60]]
    cw_sandbox.clear_requests()
    rows = cw_sandbox.api("GET", "company/companies", params={
        "conditions": f"id in ({', '.join(map(str, wanted))}) and deletedFlag = false", "pageSize": 1000}).json()
    assert [r["id"] for r in rows] == wanted
    contacts = cw_sandbox.api("GET", "company/contacts", params={
        "conditions": f"company/id in ({', '.join(map(str, wanted[:20]))})", "pageSize": 1000}).json()
    assert len(contacts) == 40 and {c["company"]["id"] for c in contacts} == set(wanted[:20])
    ident = cw_sandbox.api("GET", "company/companies", params={"conditions": f'identifier = "GEN{wanted[0]:06d}"'})
    assert [r["id"] for r in ident.json()] == [wanted[0]]
    examined = [e["examined"] for e in cw_sandbox.requests()]
    assert examined == [50, 40, 1], examined


def test_forward_only_pages_examine_about_a_page_each(cw_sandbox):
    cw_sandbox.generate(5000, contacts_per_company=0)
    cw_sandbox.clear_requests()
    url, seen = "company/companies", 0
    params = {"pageSize": 1000, "fields": "id", "conditions": "deletedFlag = false"}
    page_id = 0
    while True:
        rows = cw_sandbox.api("GET", url, params={**params, "pageId": page_id},
                              headers={"pagination-type": "forward-only"}).json()
        if not rows:
            break
        seen += len(rows)
        page_id = rows[-1]["id"]
        if len(rows) < 1000:
            break
    assert seen == 5000
    examined = [e["examined"] for e in cw_sandbox.requests()]
    assert max(examined) <= 1001 and sum(examined) <= 5000 + len(examined), examined


def test_navigable_pages_of_one_query_filter_once(cw_sandbox):
    cw_sandbox.generate(4000, contacts_per_company=0)
    cw_sandbox.clear_requests()
    for page in range(1, 5):
        rows = cw_sandbox.api("GET", "company/companies", params={
            "conditions": "deletedFlag = false", "orderBy": "name asc", "page": page, "pageSize": 1000}).json()
        assert len(rows) == 1000
    examined = [e["examined"] for e in cw_sandbox.requests()]
    assert examined[0] == 4000 and examined[1:] == [0, 0, 0], examined


def test_sandbox_server_is_usable_as_a_context_manager_with_a_budget():
    with SandboxServer(seed="empty", requests_per_minute=2, max_in_flight=3) as server:
        assert server.throttle() == {"per_minute": 2, "in_flight": 3, "window_seconds": 60}
        assert [server.api("GET", "system/info").status_code for _ in range(3)] == [200, 200, 429]
