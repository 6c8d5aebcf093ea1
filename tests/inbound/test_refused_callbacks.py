"""Callbacks the host refuses after their URL's secret matched (a bad signature) show on the Connection page's Live
updates section — the last reason, how many and since when, in the reader's zone — whichever process answered
them, until one is accepted again; and their warning reaches the log of a process that configured no logging."""

from __future__ import annotations

import html
import logging
import re
from zoneinfo import ZoneInfo

from inbound_support import (
    enable,
    export_customer,
    message,
    settle,
    signed_headers,
    the_callback_url,
    wait_for,
)
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, InboundHint
from colcw_plugin.setup.live_updates import get_live
from helpers import csrf_from, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"
REFUSED = re.compile(r"Last callback refused: signature invalid \((\d+) since (\d{4}-\d\d-\d\d \d\d:\d\d) (\w+)")


def _live_section(client) -> str:
    page = client.get(BASE + "/").get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _choose_zone(client, zone: str) -> None:
    token = csrf_from(client.get("/colcw/time-zone").get_data(as_text=True))
    client.post("/colcw/time-zone", data={"zone": zone, "next": BASE + "/", "csrf_token": token})


def test_refused_callbacks_show_on_the_connection_page_until_one_is_accepted(app, fast_callbacks, live_server,
                                                                            worker_thread):
    sandbox = fast_callbacks
    _customer, _company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    secret = the_callback_url().rsplit("/", 1)[1]
    admin = sign_in(app.test_client(), "admin@demo.example")
    _choose_zone(admin, "America/New_York")
    assert "Last callback refused" not in _live_section(admin)

    sandbox.add_callback_fault("bad_signature", type="contact")
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    refused = [a for d in sandbox.wait_for_deliveries(timeout=20) if "bad_signature" in d["faults"]
               for a in d["attempts"]]  # every attempt, retries included, was answered 401
    assert refused and {a["status"] for a in refused} == {401}, refused
    db.session.expire_all()  # the live server answered them on its own sessions: the record is in the database
    since = get_live(db.session).refused_since
    page = _live_section(admin)
    shown = REFUSED.search(page)
    assert shown, page
    local = since.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/New_York"))
    assert shown.groups() == (str(len(refused)), f"{local:%Y-%m-%d %H:%M}", local.strftime("%Z"))
    assert secret not in page
    assert not db.session.execute(select(InboundHint)).first()  # nothing was taken from a refused callback

    sandbox.clear_callback_faults()
    sandbox.edit_contact(contacts["Ada"], {"title": "Chair"})
    settle(sandbox)
    wait_for(lambda: db.session.execute(select(InboundHint)).first(), what="the accepted callback's hint")
    assert "Last callback refused" not in _live_section(admin)


def test_a_refused_callbacks_warning_reaches_the_log_of_a_process_without_logging_set_up(app, connected, capsys,
                                                                                          monkeypatch):
    """``flask run`` (the demo's host) configures no logging: colcw's warning is still written, and findable."""
    _customer, company, _contacts = export_customer(connected)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    body = message(connected, "company", company)
    path = "/" + the_callback_url().split("/", 3)[3]
    secret = path.rsplit("/", 1)[1]
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # no root handler, as under a plain `flask run`
    assert app.test_client().post(path, data=body, headers=signed_headers(body, "a guessed key")).status_code == 401
    err = capsys.readouterr().err
    assert re.search(r"WARNING in colcw_plugin\.sync\.inbound\.receive: ConnectWise callback for company \d+ "
                     r"refused: the signature does not match", err), err
    assert secret not in err


def test_colcw_live_updates_shows_refused_callbacks_in_the_pages_words(app, connected):
    """``colcw live-updates`` says what the Connection page says of refused callbacks (times in UTC), and nothing
    once one is accepted again."""
    _customer, company, _contacts = export_customer(connected)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    path = "/" + the_callback_url().split("/", 3)[3]
    secret = path.rsplit("/", 1)[1]
    client = app.test_client()
    for _ in range(2):
        body = message(connected, "company", company)
        assert client.post(path, data=body, headers=signed_headers(body, "a guessed key")).status_code == 401
    admin = sign_in(app.test_client(), "admin@demo.example")  # (no zone chosen: the page says UTC too)
    on_page = re.search(r"Last callback refused: .*?\.( ConnectWise's changes .*? again[^.]*\.)",
                        _live_section(admin))
    assert on_page and REFUSED.search(on_page.group(0)), _live_section(admin)
    assert "(2 since" in on_page.group(0) and ", the last " in on_page.group(0)

    result = app.test_cli_runner().invoke(args=["colcw", "live-updates"])
    assert result.exit_code == 0, result.output
    assert on_page.group(0) in result.output, result.output
    assert secret not in result.output

    body = message(connected, "company", company)
    assert client.post(path, data=body, headers=signed_headers(body, connected.signing_key()["signing_key"])
                       ).status_code in (200, 202, 204)
    result = app.test_cli_runner().invoke(args=["colcw", "live-updates"])
    assert result.exit_code == 0 and "refused" not in result.output, result.output
