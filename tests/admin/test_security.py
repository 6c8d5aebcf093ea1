"""Security of colcw's pages: who may reach each route, CSRF on every form, and no secret in any
response body, log line, CLI output or RQ job.

The route matrix is built from ``app.url_map``: routes other engineers add under colcw's
blueprints or URL prefixes (the jobs pages, the rq-dashboard mount) are covered automatically.
"""

from __future__ import annotations

import base64
import logging
import zlib

import pytest

from colcw_plugin.models import SyncRun
from colcw_plugin.setup.automap import automap
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.lookups import load_lookups
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import Customer

ADMIN_PREFIX = "/admin/integration/connectwise"
REP_PREFIX = "/colcw"
# Reached without signing in, by design: ConnectWise's callbacks (an unknown URL secret is 404, as if the
# URL did not exist; see tests/inbound for the signature) and the plugin's static files.
PUBLIC = {"colcw.cw_callback": 404, "colcw.cw_callback_ping": 404, "colcw.static": 404}


def _colcw_rules(app):
    """Every route of colcw: its blueprints' endpoints and anything mounted under its URL prefixes."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "colcw.static":  # scripts and a stylesheet: public, like the host's own static files
            continue
        if (rule.endpoint.startswith(("colcw.", "colcw_admin.")) or rule.rule.startswith(ADMIN_PREFIX)
                or rule.rule.startswith(REP_PREFIX + "/")):
            rules.append(rule)
    return rules


def _admin_only(rule) -> bool:
    return rule.endpoint.startswith("colcw_admin.") or rule.rule.startswith(ADMIN_PREFIX)


def _url(rule) -> str:
    """The rule's path with 0 for numeric arguments (an id no record has, an index every list has)
    and "x" for others (defaults kept)."""
    values = dict(rule.defaults or {})
    for arg in rule.arguments - set(values):
        numeric = type(rule._converters.get(arg)).__name__ in ("IntegerConverter", "FloatConverter")
        values[arg] = 0 if numeric else "x"
    return rule.build(values, append_unknown=False)[1]


def _request(client, rule, token: str | None):
    url = _url(rule)
    if "GET" in rule.methods:
        resp = client.get(url)
        # Werkzeug's canonical-URL redirect (e.g. rq-dashboard's /rq/0/ → /rq/): check the target.
        return client.get(resp.headers["Location"]) if resp.status_code == 308 else resp
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    data = {"csrf_token": token} if token else {}
    headers = {"X-CSRFToken": token} if token else {}
    return client.open(url, method=method, data=data, headers=headers)


def _to_login(resp) -> bool:
    return resp.status_code in (301, 302, 303) and "/login" in resp.headers.get("Location", "")


def test_the_matrix_covers_the_setup_pages(app):
    endpoints = {r.endpoint for r in _colcw_rules(app)}
    expected = {"colcw_admin.connection", "colcw_admin.save_connection_view", "colcw_admin.test_connection",
                "colcw_admin.save_options_view", "colcw_admin.synced_list", "colcw_admin.reset", "colcw_admin.reps",
                "colcw_admin.products", "colcw_admin.automap_view", "colcw_admin.preflight",
                "colcw_admin.field_mapping", "colcw_admin.scan_customers", "colcw_admin.map_customers",
                "colcw_admin.search_customers"}
    assert expected <= endpoints
    assert any(e.startswith("colcw.") for e in endpoints)


@pytest.mark.parametrize("who", ["anonymous", "rep", "admin"])
def test_authorization_matrix_every_colcw_route(app, who):
    client = app.test_client()
    if who != "anonymous":
        sign_in(client, {"rep": "riley@demo.example", "admin": "admin@demo.example"}[who])
    token = csrf_from(client.get("/login" if who == "anonymous" else ADMIN_PREFIX + "/"
                                 if who == "admin" else "/customers/").get_data(as_text=True))
    wrong = []
    for rule in _colcw_rules(app):
        try:
            resp = _request(client, rule, token)
        except Exception as e:  # noqa: BLE001 - a view that raised on a dummy id (rq-dashboard) was reached
            if who == "anonymous" or (who == "rep" and _admin_only(rule)):
                wrong.append(f"{who} {rule.rule} reached the view ({type(e).__name__})")
            continue
        status = resp.status_code
        if rule.endpoint in PUBLIC:
            ok = status == PUBLIC[rule.endpoint]
        elif who == "anonymous":
            ok = _to_login(resp) or status == 401
        elif who == "rep" and _admin_only(rule):
            ok = status == 403
        else:
            ok = status not in (401, 403) and not _to_login(resp) and status < 500
        if not ok:
            wrong.append(f"{who} {sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule} -> {status}")
    assert not wrong, "\n".join(wrong)


def test_every_form_post_without_a_csrf_token_is_rejected(app, connected):
    client = sign_in(app.test_client(), "admin@demo.example")
    posts = [r for r in _colcw_rules(app) if "POST" in r.methods and r.endpoint not in PUBLIC]
    assert len(posts) >= 8
    accepted = [r.rule for r in posts if client.post(_url(r), data={"confirm": "RESET"}).status_code != 400]
    assert not accepted, accepted
    # The callback URL takes no CSRF token (ConnectWise posts it); an unknown secret finds nothing.
    assert client.post(REP_PREFIX + "/cw-callback/x", data={"confirm": "RESET"}).status_code == 404
    db.session.expire_all()
    assert get_settings(db.session).site_url == connected.base_url  # the reset did not run


def test_connection_form_without_csrf_saves_nothing(admin_client, cw_sandbox):
    resp = admin_client.post(ADMIN_PREFIX + "/connection", data={
        "site_url": cw_sandbox.base_url, "company_id": "sandbox", "auth_mode": "api_keys",
        "public_key": cw_sandbox.public_key, "private_key": cw_sandbox.private_key, "client_id": "x",
        "allow_http": "on"})
    assert resp.status_code == 400
    assert get_settings(db.session).site_url == ""


def test_typeahead_search_is_refused_to_reps(rep_client):
    assert rep_client.get(ADMIN_PREFIX + "/customers/search?q=ab").status_code == 403


def test_typeahead_search_answers_an_object_not_a_bare_array(admin_client):
    resp = admin_client.get(ADMIN_PREFIX + "/customers/search?q=ab")
    assert resp.is_json and isinstance(resp.get_json(), dict)


# -- no secret anywhere -----------------------------------------------------------------------------


def _secrets(app, sandbox) -> list[str]:
    header = base64.b64encode(f"{sandbox.company_id}+{sandbox.public_key}:{sandbox.private_key}".encode()).decode()
    return [sandbox.private_key, sandbox.password, header, app.config["COLCW_ENCRYPTION_KEY"], "wrong-private-key"]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in text]


def test_no_secret_in_any_page_log_line_or_command_output(app, admin_client, connected_demo, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = _secrets(app, connected_demo)
    bodies = []
    token = csrf_from(admin_client.get(ADMIN_PREFIX + "/").get_data(as_text=True))
    form = {"csrf_token": token, "site_url": connected_demo.base_url, "company_id": "sandbox",
            "auth_mode": "api_keys", "public_key": connected_demo.public_key, "client_id": "colcw-tests",
            "allow_http": "on"}
    for private_key in (connected_demo.private_key, "wrong-private-key", ""):
        bodies.append(admin_client.post(ADMIN_PREFIX + "/test", data={**form, "private_key": private_key}))
    bodies.append(admin_client.post(ADMIN_PREFIX + "/connection", data={**form, "private_key": "", "company_id": "bad id"}))
    bodies.append(admin_client.post(ADMIN_PREFIX + "/connection", data={**form, "private_key": connected_demo.private_key}))
    for path in ("/", "/reps", "/products", "/preflight", "/mapping", "/customers/map", "/reset", "/synced/customer"):
        bodies.append(admin_client.get(ADMIN_PREFIX + path))
    bodies.append(admin_client.post(ADMIN_PREFIX + "/automap", data={"csrf_token": token}))
    bodies.append(admin_client.post(ADMIN_PREFIX + "/customers/scan", data={"csrf_token": token},
                                    follow_redirects=True))
    assert all(b.status_code < 500 for b in bodies)
    runner = app.test_cli_runner()
    outputs = [runner.invoke(args=["colcw", cmd]).output for cmd in ("test-connection", "automap", "check")]
    outputs.append(runner.invoke(args=["colcw", "configure", "--site", connected_demo.base_url, "--company-id",
                                       "sandbox", "--public-key", connected_demo.public_key, "--private-key",
                                       connected_demo.private_key, "--client-id", "c", "--allow-http"]).output)
    leaks = [(b.request.path, _leaks(b.get_data(as_text=True), secrets)) for b in bodies]
    assert [x for x in leaks if x[1]] == []
    assert [o for o in outputs if _leaks(o, secrets)] == []
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 0
    assert _leaks(logged, secrets) == []


def _inflate(value: bytes) -> bytes:
    try:
        return zlib.decompress(value)
    except zlib.error:
        return b""


def test_no_secret_in_the_rq_job_or_anything_in_redis(app, connected_demo, demo_client, redis_conn, drain_queue):
    """A real export run through the queue; then every key and value in the test Redis db is searched."""
    automap(db.session, load_lookups(demo_client), "tests")
    customer = Customer(account_number="SECRET1", name="Secretless Co", city="Austin", state="TX")
    db.session.add(customer)
    db.session.commit()
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id},
                 actor={"id": 1, "name": "Alex Admin", "role": "admin", "email": "admin@demo.example"}).run
    assert drain_queue() >= 1
    db.session.expire_all()
    found = connected_demo.api("GET", "company/companies", params={"conditions": 'identifier="SECRET1"'}).json()
    assert found, f"the run did not export: {db.session.get(SyncRun, run.id).message}"
    secrets = [s.encode() for s in _secrets(app, connected_demo) if s]
    keys = redis_conn.keys("*")
    assert keys
    leaks = []
    for key in keys:
        kind = redis_conn.type(key).decode()
        if kind == "string":
            values = [redis_conn.get(key) or b""]
        elif kind == "hash":
            values = [k + b"=" + v for k, v in redis_conn.hgetall(key).items()]
        elif kind == "list":
            values = redis_conn.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis_conn.smembers(key))
        elif kind == "zset":
            values = redis_conn.zrange(key, 0, -1)
        else:
            values = []
        # RQ stores a job's function and arguments zlib-compressed: search them decompressed too.
        values += [_inflate(v) for v in values]
        blob = key + b"\n" + b"\n".join(values)
        leaks += [(key, s) for s in secrets if s in blob]
    assert leaks == []


def test_colcw_refuses_to_start_outside_development_without_an_encryption_key(tmp_path, monkeypatch, caplog):
    """The host keeps running (a broken plugin never stops it) but colcw does not start, and says why."""
    from helpers import make_test_app

    monkeypatch.delenv("COLCW_ENCRYPTION_KEY", raising=False)
    app = make_test_app(f"sqlite:///{tmp_path / 'h.db'}", ENV_NAME="production", COLCW_ENCRYPTION_KEY="")
    assert "colcw" not in app.extensions
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith(ADMIN_PREFIX)]
    assert "COLCW_ENCRYPTION_KEY is not set" in caplog.text


def test_colcws_static_files_hold_no_secret_and_no_template(client):
    """The static route serves only the files in colcw_plugin/static (no template, no Python)."""
    assert client.get("/colcw/static/colcw.js").status_code == 200
    assert client.get("/colcw/static/htmx.min.js").status_code == 200
    for path in ("../hooks.py", "../templates/colcw/_macros.html", "%2e%2e/hooks.py"):
        assert client.get(f"/colcw/static/{path}").status_code == 404, path
