"""Registering colcw's callbacks: once, however often it is saved and by however many processes."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

from inbound_support import disable, enable, message, signed_headers, the_callback_url
from sqlalchemy import select, update

from colcw_plugin.models import HOST_MASTER, CallbackRegistration, LiveSettings, Schedule, SyncRun
from colcw_plugin.setup import callbacks as registrations
from colcw_plugin.setup.live_updates import get_live
from helpers import configure_sandbox_connection, csrf_from, run_scheduler_once, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import utcnow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from jobs_support import FLASK, ROOT, worker_env  # noqa: E402

NO_CHECK = {"check": lambda url: ""}


def _callbacks(sandbox) -> list[dict]:
    return sandbox.api("GET", "system/callbacks", params={"pageSize": 1000}).json()


def _registered(callbacks: list[dict]) -> list[tuple]:
    """What a registration is, without ``_info``: a write of an unchanged description (how colcw learns who its keys
    write as) moves ``_info.lastUpdated``, which has one-second resolution."""
    return sorted((c["id"], c["type"], c["level"], c["url"], c["inactiveFlag"]) for c in callbacks)



def _save_connection_page(app, connected):
    """An admin saves the Connection page unchanged (the connected sandbox's keys typed again): their client and the
    response."""
    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get("/admin/integration/connectwise/").get_data(as_text=True)
    return client, client.post("/admin/integration/connectwise/connection", data={
        "csrf_token": csrf_from(page), "site_url": connected.base_url, "company_id": connected.company_id,
        "auth_mode": "api_keys", "public_key": connected.public_key, "private_key": connected.private_key,
        "client_id": "colcw-tests", "allow_http": "on"}, follow_redirects=True)

def test_callbacks_are_registered_once_across_saves_and_removed_when_switched_off(app, connected):
    messages = enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    assert ("info", "Callbacks: registered company, contact, opportunity.") in messages
    first = _callbacks(connected)
    assert sorted(c["type"] for c in first) == ["company", "contact", "opportunity"]
    assert {c["level"] for c in first} == {"owner"}
    assert all(c["url"].startswith("https://quotes.example.com/colcw/cw-callback/") for c in first)
    assert len({c["url"] for c in first}) == 1
    secret = first[0]["url"].rsplit("/", 1)[1]
    asked = [r for r in connected.requests() if "system/callbacks" in r["path"]]
    assert asked and not [r for r in asked if secret in (r.get("query") or "") + r["path"]]  # never in a URL
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    assert _registered(_callbacks(connected)) == _registered(first)  # reused, not registered again

    # ConnectWise switched one off after failed deliveries: saving switches it on again.
    connected.api("PATCH", f"system/callbacks/{first[0]['id']}", json=[{"op": "replace", "path": "inactiveFlag",
                                                                          "value": True}])
    assert ("info", f"Callbacks: already registered {', '.join(sorted(c['type'] for c in first[1:]))}; "
            f"re-activated {first[0]['type']}.") in enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    assert not any(c["inactiveFlag"] for c in _callbacks(connected))

    # Another URL: the old callbacks go, never another integration's.
    other = connected.api("POST", "system/callbacks", json={"url": "https://other.example/hook", "type": "company",
                                                            "level": "owner", "objectId": 1}).json()
    enable("https://quotes2.example.com", HOST_MASTER, **NO_CHECK)
    now = _callbacks(connected)
    assert len(now) == 4 and {c["id"] for c in now} & {c["id"] for c in first} == set()
    disable()
    assert [c["id"] for c in _callbacks(connected)] == [other["id"]]
    assert db.session.execute(select(CallbackRegistration)).first() is None


def test_an_object_exists_answer_reuses_what_another_process_registered(app, connected, monkeypatch):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    before = _callbacks(connected)
    db.session.execute(db.delete(CallbackRegistration))
    db.session.commit()
    real = registrations._mine
    calls = []

    def stale_list(client, url):  # the first list was read before the other process registered
        calls.append(url)
        return [] if len(calls) == 1 else real(client, url)

    monkeypatch.setattr(registrations, "_mine", stale_list)
    messages = enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    assert ("info", "Callbacks: already registered company, contact, opportunity.") in messages
    assert _registered(_callbacks(connected)) == _registered(before)
    assert len(db.session.execute(select(CallbackRegistration)).all()) == 3


def test_two_web_processes_switching_live_updates_on_at_once_register_each_callback_once(app, connected):
    env = worker_env(app)
    args = [FLASK, "--app", "host_stub", "colcw", "live-updates", "--on", "--public-url", "https://quotes.example.com",
            "--master", "channelonline"]
    procs = [subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(c["type"] for c in _callbacks(connected)) == ["company", "contact", "opportunity"]
    db.session.rollback()
    assert len(db.session.execute(select(LiveSettings)).all()) == 1  # one switch, one URL secret
    assert "secret" not in "".join(outputs) and "cw-callback/" not in "".join(outputs).replace("cw-callback/••••••", "")


def test_the_connection_page_shows_the_callbacks_the_last_change_and_warns_about_the_public_url(app, connected):
    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get("/admin/integration/connectwise/").get_data(as_text=True)
    assert 'id="live-updates"' in page and "No callbacks registered." in page
    resp = client.post("/admin/integration/connectwise/live-updates", data={
        "csrf_token": csrf_from(page), "public_base_url": "http://127.0.0.1:1/", "customer_master": "connectwise",
        "live_enabled": "on"}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "Live updates are on." in text
    assert "is not https" in text  # ConnectWise calls https only
    assert "this server could not reach it itself" in text
    rows = {c.type: c.cw_id for c in db.session.execute(select(CallbackRegistration)).scalars()}
    for ctype, cw_id in rows.items():
        assert f"<td>{ctype}</td><td>{cw_id}</td>" in text
    secret = runtime().box.decrypt(db.session.execute(db.text(
        "SELECT url_secret_encrypted FROM colcw_live_settings")).scalar())
    assert secret not in text and "cw-callback/••••••" in text
    bad = client.post("/admin/integration/connectwise/live-updates", data={
        "csrf_token": csrf_from(text), "public_base_url": "quotes dot example", "customer_master": "host",
        "live_enabled": "on"})
    assert bad.status_code == 400 and "Enter the address ConnectWise reaches this server at" in bad.get_data(as_text=True)


def test_saving_the_connection_registers_again_and_reset_removes_them(app, connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    removed = sorted(c["id"] for c in _callbacks(connected))
    for cw_id in removed:  # someone removed them in ConnectWise
        connected.api("DELETE", f"system/callbacks/{cw_id}")
    client, resp = _save_connection_page(app, connected)
    # The old ones are gone from ConnectWise already: forgotten, with nothing deleted for them.
    text = html.unescape(resp.get_data(as_text=True))
    assert ("Callbacks: registered company, contact, opportunity. This ConnectWise tenant holds no callback of "
            f"colcw's with id {', '.join(map(str, removed))}, so colcw forgot them and deleted nothing there for "
            "them.") in text
    assert len(_callbacks(connected)) == 3
    reset = client.post("/admin/integration/connectwise/reset", data={
        "csrf_token": csrf_from(resp.get_data(as_text=True)), "confirm": "RESET"}, follow_redirects=True)
    assert "Removed 3 callbacks from ConnectWise." in reset.get_data(as_text=True)
    assert _callbacks(connected) == []


def test_switching_on_schedules_the_safety_net_every_15_minutes_and_the_scheduler_runs_it(app, connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    client = sign_in(app.test_client(), "admin@demo.example")
    jobs = client.get("/admin/integration/connectwise/jobs?tab=schedules").get_data(as_text=True)
    assert "ConnectWise safety net" in jobs and "Every 15 minutes" in jobs
    assert "ConnectWise deletion check" in jobs and "Daily at 03:30 (UTC)" in jobs
    net = db.session.execute(select(Schedule).where(Schedule.name == "ConnectWise safety net")).scalar_one()
    # The admin changes the interval on the jobs page.
    edit = client.get(f"/admin/integration/connectwise/jobs/schedules/{net.id}/edit").get_data(as_text=True)
    resp = client.post(f"/admin/integration/connectwise/jobs/schedules/{net.id}/edit", data={
        "csrf_token": csrf_from(edit), "schedule_name": net.name, "frequency": "every", "every_minutes": "5",
        "time": "00:00", "timezone": "UTC"}, follow_redirects=True)
    assert "Every 5 minutes" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert net.every_minutes == 5
    db.session.execute(update(Schedule).where(Schedule.id == net.id).values(next_run_at=utcnow()))
    db.session.commit()
    assert run_scheduler_once(app) == 1
    fired = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile")).scalar_one()
    assert fired.params == {"mode": "changes"} and fired.trigger == "schedule"
    db.session.expire_all()
    assert net.next_run_at > utcnow()
    disable()
    assert not any(s.enabled for s in db.session.execute(select(Schedule)).scalars())


def test_colcw_learns_its_member_anew_when_the_keys_change_and_the_callbacks_are_reused(app, connected, box):
    """Registered under an integrator login, the callbacks name it as their author; the admin then gives colcw an API
    member's keys on the Connection page, which registers the callbacks again and finds them there (reused). colcw's
    member is the keys' member now (the Won/Lost labels name it as colcw). Who a callback names no longer decides
    whether it is colcw's own write (the record it carries does: test_callback_endpoint), so both are answered alike."""
    configure_sandbox_connection(connected, box, integrator=True)
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    first = sorted(c["id"] for c in _callbacks(connected))
    assert {c["_info"]["enteredBy"] for c in _callbacks(connected)} == {connected.username}
    assert get_live(db.session).own_member == connected.username

    client, resp = _save_connection_page(app, connected)

    assert "Callbacks: already registered company, contact, opportunity." in html.unescape(resp.get_data(as_text=True))
    assert sorted(c["id"] for c in _callbacks(connected)) == first
    db.session.expire_all()
    assert get_live(db.session).own_member == connected.tenant.api_member == "APIMember"
    key = connected.signing_key()
    for member, answer in ((connected.tenant.api_member, "Not linked to a record here; nothing to read."),
                           (connected.username, "Not linked to a record here; nothing to read.")):
        body = message(connected, "company", 4242, member=member)
        got = client.post("/" + the_callback_url().split("/", 3)[3], data=body,
                          headers=signed_headers(body, key["signing_key"]))
        assert (got.status_code, got.get_data(as_text=True).strip()) == (200, answer)
