"""Switching Live updates on again catches up at once: what changed in ConnectWise while they were off (a company's
city, an opportunity set Lost) comes back through a safety-net pass queued by the switch (page and command line
alike), not 15 minutes later; a pass already queued is not doubled."""

from __future__ import annotations

import html

from inbound_support import cw_status, line
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, SyncRun
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import Customer

BASE = "/admin/integration/connectwise"
URL = "http://127.0.0.1:1"  # no callback reaches the host: only the catch-up pass can bring the changes


def _save(client, on: bool) -> str:
    page = client.get(BASE + "/").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "public_base_url": URL, "customer_master": CW_MASTER}
    if on:
        data["live_enabled"] = "on"
    return html.unescape(client.post(BASE + "/live-updates", data=data, follow_redirects=True).get_data(as_text=True))


def _queued_passes() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile", SyncRun.status == "queued")
                                   .order_by(SyncRun.id)).scalars())


def _execute_queued() -> SyncRun:
    [run] = _queued_passes()
    assert run.params == {"mode": "changes"}
    done = runtime().execute(db.session, run.id)
    assert done.status == "succeeded", done.message
    return done


def test_switching_live_updates_on_again_catches_up_what_changed_while_they_were_off(app, world):
    sandbox = world.sandbox
    quote = world.quote([line("OPT-7010")], name="Caught-up deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    sandbox.set_opportunity_status(opp["id"], "Won")
    client = sign_in(app.test_client(), "admin@demo.example")
    first = _save(client, on=True)
    assert "A first safety-net pass compares every linked record with ConnectWise: run #" in first, first
    _execute_queued()  # (the first pass: sets the watermark)
    db.session.expire_all()
    assert cw_status(quote.id).status == "won"

    _save(client, on=False)
    assert _queued_passes() == []  # switching off queues nothing
    sandbox.edit_company(world.company_id, {"city": "Dallas"})
    sandbox.set_opportunity_status(opp["id"], "Lost")

    again = _save(client, on=True)
    [run] = _queued_passes()
    assert "A pass now catches up what changed while it was off (since " in again, again
    assert f"run #{run.id}." in again
    _execute_queued()
    db.session.expire_all()
    assert db.session.get(Customer, world.customer_id).city == "Dallas"
    assert cw_status(quote.id).status == "lost"


def test_the_command_line_switch_catches_up_too_and_a_queued_pass_is_not_doubled(app, world):
    cli = app.test_cli_runner()
    on = ["colcw", "live-updates", "--on", "--public-url", URL, "--master", "connectwise"]
    assert cli.invoke(args=on).exit_code in (0, 1)  # (1: a callback warning; the switch is on all the same)
    _execute_queued()
    assert cli.invoke(args=["colcw", "live-updates", "--off"]).exit_code in (0, 1)
    world.sandbox.edit_company(world.company_id, {"city": "Houston"})

    result = cli.invoke(args=["colcw", "live-updates", "--on"])
    [run] = _queued_passes()
    assert "A pass now catches up what changed while it was off (since " in result.output, result.output
    assert f"run #{run.id}." in result.output
    cli.invoke(args=["colcw", "live-updates", "--off"])
    result = cli.invoke(args=["colcw", "live-updates", "--on"])
    assert f"run #{run.id} (already queued)." in result.output, result.output
    assert len(_queued_passes()) == 1
    _execute_queued()
    db.session.expire_all()
    assert db.session.get(Customer, world.customer_id).city == "Houston"
