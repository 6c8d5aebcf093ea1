"""The callback endpoint: only the configured ConnectWise gets in, fast, and bursts collapse."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from inbound_support import (
    enable,
    export_customer,
    message,
    run_items,
    signed_headers,
    the_callback_url,
    wait_for,
)
from lock_support import held_elsewhere
from sqlalchemy import select, update

from colcw_plugin.models import CW_MASTER, HOST_MASTER, InboundHint, RunStatus, SyncItem, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.shared.locks import advisory_lock, lock_key
from helpers import runtime, sign_in, tune_runtime
from host_stub.extensions import db
from host_stub.models import Customer

NO_CHECK = {"check": lambda url: ""}


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _post(client, body: bytes, headers: dict, url: str | None = None):
    return client.post(_path(url or the_callback_url()), data=body, headers=headers)


def _company(sandbox, n: int) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": f"HINT{n:02d}", "name": f"Hint Co {n}",
                                                           "addressLine1": f"{n} Main St", "city": "Austin",
                                                           "state": "TX", "phoneNumber": f"512-555-01{n:02d}"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_unknown_secret_forged_signature_and_bad_bodies_are_refused_and_logged_without_secrets(app, connected, caplog):
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"  # linked
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    client = app.test_client()
    key = connected.signing_key()
    body = message(connected, "company", company["id"])
    secret = the_callback_url().rsplit("/", 1)[1]
    caplog.set_level(logging.INFO)

    assert client.post("/colcw/cw-callback/not-the-secret", data=body,
                       headers=signed_headers(body, key["signing_key"])).status_code == 404
    assert client.get("/colcw/cw-callback/not-the-secret").status_code == 404
    forged = _post(client, body, signed_headers(body, "a guessed key"))
    assert forged.status_code == 401 and "signature" in forged.get_data(as_text=True)
    assert _post(client, body, {"Content-Type": "application/json"}).status_code == 401  # no signature at all
    tampered = body.replace(b'"updated"', b'"deleted"')
    assert _post(client, tampered, signed_headers(body, key["signing_key"])).status_code == 401
    assert _post(client, b"not json", signed_headers(b"not json", key["signing_key"])).status_code == 400
    assert _post(client, b'{"Type": "ticket", "ID": 1}', {}).status_code == 400
    huge = json.dumps({"Type": "company", "ID": 1, "Action": "updated", "Entity": "x" * 300_000}).encode()
    assert _post(client, huge, signed_headers(huge, key["signing_key"])).status_code == 400
    assert db.session.execute(select(InboundHint)).first() is None  # nothing was recorded

    good = _post(client, body, signed_headers(body, key["signing_key"]))
    assert good.status_code == 200
    assert db.session.execute(select(InboundHint.entity, InboundHint.cw_id)).all() == [("company", company["id"])]
    # An opportunity or company colcw has no link to is nobody's business here: nothing to read.
    other = message(connected, "opportunity", 424242)
    resp = _post(client, other, signed_headers(other, key["signing_key"]))
    assert resp.status_code == 200 and "Not linked" in resp.get_data(as_text=True)
    assert len(db.session.execute(select(InboundHint)).all()) == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused" in text and secret not in text and key["signing_key"] not in text


def test_the_served_access_log_never_writes_the_url_secret(app, connected, live_server, caplog):
    """The secret is in the callback URL's path: the server's access line shows ``[secret]`` instead."""
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    secret = the_callback_url().rsplit("/", 1)[1]
    caplog.set_level(logging.INFO, logger="werkzeug")

    assert requests.get(f"{live_server.url}/colcw/cw-callback/{secret}", timeout=10).status_code == 200
    assert requests.get(f"{live_server.url}/colcw/cw-callback/not-it", timeout=10).status_code == 404

    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /colcw/cw-callback/[secret] HTTP" in line and " 200 " in line for line in lines), lines
    assert any(" 404 " in line for line in lines), lines
    assert not any(secret in line or "not-it" in line for line in lines), lines


class _KeyServer(BaseHTTPRequestHandler):
    fetched: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _KeyServer.fetched.append(self.path)
        data = json.dumps({"signing_key": "attacker-key"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_key_url_on_another_host_is_refused_without_fetching_it(app, connected, monkeypatch):
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    server = HTTPServer(("127.0.0.1", 0), _KeyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        company = _company(connected, 2)
        evil = f"http://127.0.0.1:{server.server_port}/v2025_1/apis/3.0/system/callbackkeys/x"
        body = message(connected, "company", company["id"], key_url=evil)
        resp = _post(app.test_client(), body, signed_headers(body, "attacker-key"))
        assert resp.status_code == 401 and "key_url" in resp.get_data(as_text=True)
        assert _KeyServer.fetched == []
        # The sandbox's own key_url over http passes only with the development allowance (COLCW_ALLOW_HTTP);
        # without it, only https from the configured site is trusted.
        good = message(connected, "company", company["id"])
        headers = signed_headers(good, connected.signing_key()["signing_key"])
        assert _post(app.test_client(), good, headers).status_code == 200
        tune_runtime(monkeypatch, app, allow_http=False)
        assert _post(app.test_client(), good, headers).status_code == 401
    finally:
        server.shutdown()


def test_a_thousand_hints_for_ten_records_make_one_run_reading_each_record_once(app, connected, drain_queue):
    companies = [_company(connected, n) for n in range(10)]
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    key = connected.signing_key()
    client = app.test_client()
    connected.clear_requests()
    for i in range(1000):
        body = message(connected, "company", companies[i % 10]["id"], action="updated", member="admin1")
        assert _post(client, body, signed_headers(body, key["signing_key"])).status_code == 200
    hints = db.session.execute(select(InboundHint.cw_id, InboundHint.hints, InboundHint.pending)).all()
    assert sorted(hints) == sorted((c["id"], 100, True) for c in companies)
    runs = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update")).scalars().all()
    assert len(runs) == 1  # one run waited in the queue for all of them
    assert drain_queue() == 1
    reads = [r for r in connected.requests() if r["method"] == "GET" and "company/companies" in r["path"]]
    assert 1 <= len(reads) <= 10, reads  # at most one read per record: here one "id in (...)" for all ten
    key_fetches = [r for r in connected.requests() if "callbackkeys" in r["path"]]
    assert len(key_fetches) == 1  # the signing key is cached
    # Every record came back unchanged: the run changed and found nothing, so the history does not keep it.
    assert db.session.execute(select(SyncRun.id).where(SyncRun.kind == "cw_live_update")).first() is None
    assert run_items("cw_live_update") == []
    assert not db.session.execute(select(InboundHint).where(InboundHint.pending.is_(True))).first()


def _carrying(body: bytes, record: dict) -> bytes:
    """A callback body whose Entity is ``record`` (as ConnectWise sends it: a JSON string)."""
    return json.dumps({**json.loads(body), "Entity": json.dumps(record)}).encode()


def test_a_callback_is_colcw_s_own_write_by_the_record_it_carries_not_by_the_member_it_names(app, connected,
                                                                                              drain_queue):
    customer, company, contacts = export_customer(connected)
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    own = get_live(db.session).own_member
    assert own == "APIMember"  # who registered the callbacks: colcw's API member, whose keys wrote the records
    key = connected.signing_key()["signing_key"]
    client = app.test_client()

    def answer(ctype: str, record: dict, member: str = own, action: str = "updated") -> str:
        body = _carrying(message(connected, ctype, record["id"], action=action, member=member), record)
        resp = _post(client, body, signed_headers(body, key))
        assert resp.status_code == 200
        return resp.get_data(as_text=True).strip()

    # The records as colcw's export left them (nothing changed since): colcw's own writes, whoever is named.
    as_written = connected.api("GET", f"company/companies/{company}").json()
    ada = connected.api("GET", f"company/contacts/{contacts['Ada']}").json()
    assert answer("company", as_written) == "colcw's own change; nothing to read."
    assert answer("contact", ada) == "colcw's own change; nothing to read."
    assert answer("company", as_written, member="admin1") == "colcw's own change; nothing to read."
    assert db.session.execute(select(InboundHint)).first() is None
    assert db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update")).first() is None
    # Another version named as colcw's member (a script with colcw's keys), one without its record, a deletion: read.
    later = connected.api("PATCH", f"company/companies/{company}",
                          json=[{"op": "replace", "path": "city", "value": "Dallas"}]).json()
    assert answer("company", later) == "Recorded."
    assert answer("contact", {"id": contacts["Charles"]}) == "Recorded."
    assert answer("contact", ada, action="deleted") == "Recorded."
    hints = db.session.execute(select(InboundHint.entity, InboundHint.cw_id, InboundHint.pending)).all()
    assert sorted(hints) == sorted([("company", company, True), ("contact", contacts["Charles"], True),
                                    ("contact", contacts["Ada"], True)])


def _import_all():
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    return run


def test_a_burst_while_the_live_run_waits_for_connectwise_queues_no_second_run(app, connected):
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", HOST_MASTER, **NO_CHECK)
    key = connected.signing_key()
    client = app.test_client()

    def burst():
        for _ in range(3):
            body = message(connected, "company", company["id"], action="updated", member="admin1")
            assert _post(client, body, signed_headers(body, key["signing_key"])).status_code == 200

    burst()
    [run_id] = db.session.execute(select(SyncRun.id).where(SyncRun.kind == "cw_live_update")).scalars().all()
    # Its attempt met ConnectWise unreachable: the run waits for its next try (its job still on the queue),
    # and that try takes every hint pending by then.
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(status=RunStatus.WAITING))
    db.session.commit()
    burst()
    runs = db.session.execute(select(SyncRun.id).where(SyncRun.kind == "cw_live_update")).scalars().all()
    assert runs == [run_id]


def _rename(sandbox, company: dict, name: str) -> None:
    resp = sandbox.api("PATCH", f"company/companies/{company['id']}",
                       json=[{"op": "replace", "path": "name", "value": name}])
    assert resp.status_code == 200, resp.text


def _announce(app, sandbox, company: dict) -> None:
    body = message(sandbox, "company", company["id"], action="updated", member="admin1")
    resp = _post(app.test_client(), body, signed_headers(body, sandbox.signing_key()["signing_key"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _host_names() -> list[str]:
    db.session.expire_all()
    return db.session.execute(select(Customer.name).order_by(Customer.id)).scalars().all()


def test_a_live_run_that_meets_connectwise_unreachable_reads_the_record_on_its_next_attempt(app, connected,
                                                                                            drain_queue):
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", CW_MASTER, **NO_CHECK)  # ConnectWise's edits are taken
    _rename(connected, company, "Renamed in ConnectWise")
    _announce(app, connected, company)
    connected.add_fault(status=503, path="company/companies", count=100)
    drain_queue()
    [run] = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update")).scalars().all()
    assert run.status == RunStatus.WAITING, run.message
    assert _host_names() == ["Hint Co 1"]

    connected.clear_faults()
    done = runtime().execute(db.session, run.id)  # its next attempt, when the queue hands it back
    assert done.status == RunStatus.SUCCEEDED, done.message
    assert done.message.startswith("1 record changed in ConnectWise."), done.message
    assert _host_names() == ["Renamed in ConnectWise"]
    assert not db.session.execute(select(InboundHint).where(InboundHint.pending.is_(True))).first()


def test_a_record_announced_again_while_a_live_run_reads_it_is_the_next_runs_and_counted_once(app, connected,
                                                                                             worker_thread):
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", CW_MASTER, **NO_CHECK)
    _rename(connected, company, "First rename")
    connected.clear_requests()
    connected.add_fault(latency_ms=1500, path="company/companies", count=1)  # the first run's read is slow
    _announce(app, connected, company)

    def first_running():
        return db.session.execute(select(SyncRun.id).where(SyncRun.kind == "cw_live_update",
                                                           SyncRun.status == RunStatus.RUNNING)).scalar()
    first = wait_for(first_running, what="the first live-update run to start")
    wait_for(lambda: db.session.execute(select(InboundHint.run_id)).scalar() == first,
             what="the first run to take the hint")  # it now waits for ConnectWise's answer
    _rename(connected, company, "Second rename")
    _announce(app, connected, company)  # ConnectWise changed it again while the first run reads it

    def both_finished():
        runs = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update")
                                  .order_by(SyncRun.id)).scalars().all()
        reads = [r for r in connected.requests() if r["method"] == "GET" and "company/companies" in r["path"]]
        done = runs and all(r.status == RunStatus.SUCCEEDED for r in runs) and len(reads) == 2 and not any(q.count for q in runtime().queue.queues)
        return runs if done and not db.session.execute(select(InboundHint.id).where(InboundHint.pending.is_(True))).first() else None
    runs = wait_for(both_finished, what="both live-update runs to finish")
    time.sleep(0.5)  # the second run, reading the record again, has ended (kept or not)
    runs = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update").order_by(SyncRun.id)
                              ).scalars().all()
    assert runs[0].id == first
    # Each run read the company once. The first one's slow read answered after the second rename: the second run
    # found it unchanged and is not kept; had the first read the first rename, the second shows the second.
    assert len(runs) in (1, 2), [(r.id, r.message) for r in runs]
    for run in runs:  # no "2 records" for one, no empty run
        assert (run.done, run.total) == (1, 1), (run.id, run.message)
        assert run.message.startswith("1 record changed in ConnectWise."), run.message
        items = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id)).scalars().all()
        assert [(i.cw_id, i.action) for i in items] == [(company["id"], "updated")]
    assert _host_names() == ["Second rename"]


def test_a_live_run_that_finds_nothing_pending_is_not_kept_in_the_history(app, connected, worker_thread):
    """A callback that comes while the run queued for an earlier one waits for the live-update lock (a safety-net
    pass holds it) queues a second run; the first reads the record for both, so the second finds nothing pending.
    The history keeps only the run that read it; the Connection page still shows that the callbacks arrived."""
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", CW_MASTER, **NO_CHECK)

    def live_runs():
        return db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_live_update")
                                  .order_by(SyncRun.id)).scalars().all()

    engine = db.engine
    release, holder = held_elsewhere(lambda: advisory_lock(engine, lock_key("colcw-inbound"), "busy"))
    try:
        _rename(connected, company, "Renamed once")
        _announce(app, connected, company)
        first = wait_for(lambda: [r.id for r in live_runs() if r.status == RunStatus.RUNNING],
                         what="the first live-update run to wait for the lock")
        _rename(connected, company, "Renamed twice")
        _announce(app, connected, company)  # the first run has not taken the first hint yet: it takes both
        assert len(live_runs()) == 2
    finally:
        release.set()
        holder.join(10)
    wait_for(lambda: all(r.status not in (RunStatus.QUEUED, RunStatus.RUNNING) for r in live_runs())
             and not db.session.execute(select(InboundHint.id).where(InboundHint.pending.is_(True))).first()
             and not any(q.count for q in runtime().queue.queues), what="both live-update runs to end")
    time.sleep(0.5)  # the worker's last job, if any, has ended

    runs = live_runs()
    assert [(r.id, r.status) for r in runs] == [(first[0], RunStatus.SUCCEEDED)], [(r.id, r.message) for r in runs]
    assert runs[0].message.startswith("1 record changed in ConnectWise."), runs[0].message
    assert _host_names() == ["Renamed twice"]
    admin = sign_in(app.test_client(), "admin@demo.example")
    history = admin.get("/admin/integration/connectwise/jobs?tab=history").get_data(as_text=True)
    assert "1 record changed in ConnectWise." in history and "Nothing was pending" not in history
    connection = admin.get("/admin/integration/connectwise/").get_data(as_text=True)
    assert f"company {company['id']} updated" in connection  # the last change received


def test_a_callback_sent_again_for_a_change_already_read_leaves_no_run_in_the_history(app, connected, drain_queue):
    """ConnectWise sends the callback of a change again (a delivery it thought failed): the run it queues reads the
    record, finds it as the first run left it and is not kept; the Connection page shows the callback came."""
    company = _company(connected, 1)
    assert runtime().execute(db.session, _import_all().id).status == "succeeded"
    enable("http://127.0.0.1:1", CW_MASTER, **NO_CHECK)
    _rename(connected, company, "Renamed in ConnectWise")
    _announce(app, connected, company)
    assert drain_queue() == 1
    [(first, said)] = db.session.execute(select(SyncRun.id, SyncRun.message).where(SyncRun.kind == "cw_live_update"))
    assert said.startswith("1 record changed in ConnectWise."), said
    received = db.session.execute(select(InboundHint.last_at)).scalar_one()

    _announce(app, connected, company)  # the same change, sent again
    assert drain_queue() == 1
    db.session.expire_all()

    assert db.session.execute(select(SyncRun.id).where(SyncRun.kind == "cw_live_update")).scalars().all() == [first]
    assert _host_names() == ["Renamed in ConnectWise"]
    assert not db.session.execute(select(InboundHint).where(InboundHint.pending.is_(True))).first()
    assert db.session.execute(select(InboundHint.last_at)).scalar_one() > received
    admin = sign_in(app.test_client(), "admin@demo.example")
    history = admin.get("/admin/integration/connectwise/jobs?tab=history").get_data(as_text=True)
    assert history.count("Live updates: records ConnectWise announced as changed") == 1, history
    assert f"company {company['id']} updated" in admin.get("/admin/integration/connectwise/").get_data(as_text=True)
