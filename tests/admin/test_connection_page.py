"""Admin → Integration → ConnectWise: saving the connection, Test Connection's failure modes, options,
synced items (user guide §5.1)."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from admin_support import connection_form
from sqlalchemy import select

from colcw_plugin.models import ConfigChange, SyncItem, SyncRun
from colcw_plugin.setup.connection import get_settings
from helpers import configure_sandbox_connection, csrf_from, tune_runtime
from host_stub.extensions import db
from host_stub.models import Customer, CustomField, utcnow

URL = "/admin/integration/connectwise/"


_form = connection_form


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_saves_the_connection_and_the_secret_is_stored_encrypted(admin_client, cw_sandbox, box):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox))
    assert resp.status_code == 302
    settings = get_settings(db.session)
    assert (settings.site_url, settings.company_id, settings.public_key) == (
        cw_sandbox.base_url, "sandbox", cw_sandbox.public_key)
    assert cw_sandbox.private_key not in settings.secret_encrypted
    assert box.decrypt(settings.secret_encrypted) == cw_sandbox.private_key
    change = db.session.execute(select(ConfigChange).where(ConfigChange.area == "connection")).scalar_one()
    assert "Alex Admin" in change.actor and "private key" in change.summary
    assert cw_sandbox.private_key not in change.summary


def test_the_page_never_sends_the_stored_secret_back(admin_client, connected):
    html = admin_client.get(URL).get_data(as_text=True)
    assert connected.private_key not in html
    assert "stored — leave blank to keep" in html
    assert connected.public_key in html  # the public key is not a secret


def test_blank_secret_keeps_the_stored_one_for_the_same_site(admin_client, connected, box):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, connected, private_key="",
                                                            client_id="renamed-client"))
    assert resp.status_code == 302
    settings = get_settings(db.session)
    assert settings.client_id == "renamed-client"
    assert box.decrypt(settings.secret_encrypted) == connected.private_key


def test_changing_the_site_requires_the_secret_again(admin_client, connected):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, connected, private_key="",
                                                            site_url="https://evil.example"))
    assert resp.status_code == 400
    assert "Enter the private key again" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert get_settings(db.session).site_url == connected.base_url


def test_invalid_fields_save_nothing_and_say_what_to_enter(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox, company_id="bad id!",
                                                            client_id="", private_key=""))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Nothing was saved" in html
    assert "Enter the company ID you type on the ConnectWise login screen" in html
    assert "Enter your clientId" in html and "Enter the private key." in html
    assert get_settings(db.session).site_url == ""


def test_a_refused_form_shows_what_was_typed_not_the_stored_values(admin_client, connected):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, connected, site_url="ftp://typo.example",
                                                            company_id="bad id!", private_key="typed-secret"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'value="ftp://typo.example"' in html and 'value="bad id!"' in html
    assert f'value="{connected.base_url}"' not in html
    assert "typed-secret" not in html  # a typed secret is never sent back either


def test_http_needs_both_the_development_setting_and_the_tick(app, admin_client, cw_sandbox, monkeypatch):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox, allow_http=None))
    assert resp.status_code == 400 and "must use https://" in resp.get_data(as_text=True)
    tune_runtime(monkeypatch, app, allow_http=False)
    page = admin_client.get(URL).get_data(as_text=True)
    assert 'name="allow_http"' not in page  # the tick box is not even offered
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox))
    assert resp.status_code == 400 and "must use https://" in resp.get_data(as_text=True)
    assert get_settings(db.session).site_url == ""


def test_integrator_login_is_saved(admin_client, cw_sandbox, box):
    data = _form(admin_client, cw_sandbox, auth_mode="integrator", public_key=None, private_key=None,
                 username=cw_sandbox.username, password=cw_sandbox.password)
    assert admin_client.post(URL + "connection", data=data).status_code == 302
    settings = get_settings(db.session)
    assert settings.auth_mode == "integrator" and settings.public_key == cw_sandbox.username
    assert box.decrypt(settings.secret_encrypted) == cw_sandbox.password


# -- Test Connection -----------------------------------------------------------------------------------


def _test(admin_client, sandbox, **over):
    return admin_client.post(URL + "test", data=_form(admin_client, sandbox, **over))


def _failed(report: dict) -> dict:
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed, report
    return failed[0]


def test_test_connection_succeeds_and_names_version_and_member(admin_client, cw_sandbox):
    report = _test(admin_client, cw_sandbox).get_json()
    assert report["ok"] is True
    assert report["version"]
    assert report["member"] == "APIMember"
    assert get_settings(db.session).site_url == ""  # testing does not save


def test_test_connection_works_with_an_integrator_login(admin_client, cw_sandbox):
    report = _test(admin_client, cw_sandbox, auth_mode="integrator", public_key=None, private_key=None,
                   username=cw_sandbox.username, password=cw_sandbox.password).get_json()
    assert report["ok"] is True and cw_sandbox.username in report["member"]


def test_test_connection_reports_an_unreachable_host(admin_client, cw_sandbox):
    report = _test(admin_client, cw_sandbox, site_url=f"http://127.0.0.1:{_closed_port()}").get_json()
    step = _failed(report)
    assert report["ok"] is False and step["problem"] == "unreachable"
    assert "firewall" in step["fix"] or "Check the site URL" in step["fix"]


def test_test_connection_reports_a_tls_failure(admin_client, cw_sandbox):
    https_url = cw_sandbox.base_url.replace("http://", "https://")
    step = _failed(_test(admin_client, cw_sandbox, site_url=https_url).get_json())
    assert step["problem"] == "tls"
    assert "certificate" in step["fix"] or "https" in step["fix"]


def test_test_connection_reports_an_unknown_company(admin_client, cw_sandbox):
    step = _failed(_test(admin_client, cw_sandbox, company_id="nosuchco").get_json())
    assert step["problem"] == "unknown_company"
    assert "company id" in step["fix"].lower()


def test_test_connection_reports_bad_credentials(admin_client, cw_sandbox):
    step = _failed(_test(admin_client, cw_sandbox, private_key="wrong-key").get_json())
    assert step["problem"] == "bad_credentials"
    assert "keys" in step["fix"]


def test_test_connection_names_each_missing_permission(admin_client, cw_sandbox):
    cw_sandbox.deny(["procurement/manufacturers", "system/members"])
    report = _test(admin_client, cw_sandbox).get_json()
    denied = {s["resource"] for s in report["steps"] if s["problem"] == "permission"}
    assert report["ok"] is False
    assert denied == {"procurement/manufacturers", "system/members"}
    fix = next(s["fix"] for s in report["steps"] if s["resource"] == "procurement/manufacturers")
    assert "Security Roles" in fix and "manufacturers" in fix


def test_test_connection_with_invalid_fields_says_what_to_correct(admin_client, cw_sandbox):
    resp = _test(admin_client, cw_sandbox, site_url="", private_key="")
    assert resp.status_code == 400
    assert set(resp.get_json()["errors"]) >= {"site_url", "secret"}
    assert cw_sandbox.requests() == []  # nothing was sent


def test_test_connection_uses_the_stored_secret_only_for_the_stored_site(admin_client, connected):
    assert _test(admin_client, connected, private_key="").get_json()["ok"] is True
    resp = _test(admin_client, connected, private_key="", site_url=f"http://127.0.0.1:{_closed_port()}")
    assert resp.status_code == 400 and "secret" in resp.get_json()["errors"]


# -- options ---------------------------------------------------------------------------------------------


def test_options_are_saved_and_audited(admin_client, app):
    field = db.session.execute(select(CustomField).where(CustomField.name == "Opportunity Name")).scalar_one()
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    resp = admin_client.post(URL + "options", data={"csrf_token": token, "opportunity_field_id": str(field.id),
                                                    "allow_empty_opportunity_name": "on", "use_logged_in_rep": "on"})
    assert resp.status_code == 302
    settings = get_settings(db.session)
    assert (settings.opportunity_field_id, settings.allow_empty_opportunity_name, settings.use_logged_in_rep) == (
        field.id, True, True)
    change = db.session.execute(select(ConfigChange).where(ConfigChange.area == "options")).scalar_one()
    assert "Opportunity Name" in change.summary and "logged-in sales rep: on" in change.summary
    html = admin_client.get(URL).get_data(as_text=True)
    assert re.search(rf'<option (selected value="{field.id}"|value="{field.id}" selected)', html)


def test_options_refuse_a_field_that_does_not_exist(admin_client):
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    resp = admin_client.post(URL + "options", data={"csrf_token": token, "opportunity_field_id": "9999"})
    assert resp.status_code == 400 and "no longer exists" in resp.get_data(as_text=True)
    assert get_settings(db.session).opportunity_field_id is None


def test_options_refuse_no_name_field_when_empty_names_are_not_allowed(admin_client):
    """Neither a field nor empty names: every document's export would be refused for want of a name."""
    field = db.session.execute(select(CustomField).where(CustomField.name == "Opportunity Name")).scalar_one()
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    admin_client.post(URL + "options", data={"csrf_token": token, "opportunity_field_id": str(field.id)})
    resp = admin_client.post(URL + "options", data={"csrf_token": token, "opportunity_field_id": ""})
    assert resp.status_code == 400
    assert "with neither, no document can be exported" in resp.get_data(as_text=True)
    assert get_settings(db.session).opportunity_field_id == field.id  # nothing saved
    resp = admin_client.post(URL + "options", data={"csrf_token": token, "opportunity_field_id": "",
                                                    "allow_empty_opportunity_name": "on"})
    assert resp.status_code == 302
    settings = get_settings(db.session)
    assert (settings.opportunity_field_id, settings.allow_empty_opportunity_name) == (None, True)


# -- synced items ----------------------------------------------------------------------------------------


def test_synced_items_count_exports_of_the_last_seven_days_and_list_them(admin_client, app):
    cust = Customer(account_number="A1", name="Counted Co")
    db.session.add(cust)
    run = SyncRun(kind="customer_export", status="succeeded")
    db.session.add(run)
    db.session.flush()
    now = utcnow()
    items = [("customer", "export", "created", now - dt.timedelta(days=1), "Counted Co"),
             ("customer", "export", "updated", now - dt.timedelta(days=6), "Also counted"),
             ("customer", "export", "updated", now - dt.timedelta(days=2), "Counted Co again"),
             ("customer", "export", "failed", now - dt.timedelta(days=1), "Failed one"),
             ("customer", "export", "created", now - dt.timedelta(days=8), "Too old"),
             ("customer", "import", "created", now, "An import"),
             ("contact", "export", "created", now, "A contact"),
             ("document", "export", "updated", now, "Q1001")]
    for entity, direction, action, at, label in items:
        db.session.add(SyncItem(run_id=run.id, entity=entity, direction=direction, action=action, at=at, label=label,
                                host_id=cust.id if label.startswith("Counted Co") else None,
                                message=f"{label} message"))
    db.session.commit()
    html = admin_client.get(URL).get_data(as_text=True)
    assert '<a id="synced-customer" href="/admin/integration/connectwise/synced/customer">2</a>' in html
    assert 'id="synced-contact" href="/admin/integration/connectwise/synced/contact">1</a>' in html
    assert 'id="synced-document" href="/admin/integration/connectwise/synced/document">1</a>' in html
    listing = admin_client.get(URL + "synced/customer").get_data(as_text=True)
    assert "Counted Co" in listing and "Also counted" in listing and "created" in listing
    assert "Counted Co again" in listing  # every export is listed; the count is of records (Counted Co once)
    assert "2 records exported, some more than once: 3 exports below." in listing
    assert "Failed one" not in listing and "Too old" not in listing and "An import" not in listing
    assert "ChannelOnline → ConnectWise" in listing
    everything = admin_client.get(URL + "synced/customer?all=1").get_data(as_text=True)
    assert "Failed one" in everything and "Failed one message" in everything
    assert admin_client.get(URL + "synced/nonsense").status_code == 404


def test_connection_page_links_to_every_settings_page(admin_client, connected):
    html = admin_client.get(URL).get_data(as_text=True)
    for path in ("reps", "products", "customers/scan", "customers/map", "mapping", "preflight", "automap", "reset",
                 "jobs"):
        assert f'"/admin/integration/connectwise/{path}"' in html, path


@pytest.mark.parametrize("integrator", [False, True])
def test_the_stored_connection_passes_test_connection(admin_client, cw_sandbox, box, integrator):
    configure_sandbox_connection(cw_sandbox, box, integrator=integrator)
    report = _test(admin_client, cw_sandbox, private_key="", **(
        {"auth_mode": "integrator", "public_key": None, "username": cw_sandbox.username, "password": ""}
        if integrator else {})).get_json()
    assert report["ok"] is True


def test_the_automap_hint_says_categories_are_mapped_only_with_the_mapping(admin_client):
    """Auto-map leaves the category table alone while ChannelOnline's names are used (setup/automap.py): the button's
    hint does not promise it maps them by exact name whatever the mode."""
    page = admin_client.get("/admin/integration/connectwise/").get_data(as_text=True)
    hint = re.search(r'id="automap">Auto-map</button>\s*<span class="hint">(.*?)</span>', page, re.S).group(1)
    assert "categories too, while “Use the mapping below” is chosen" in hint
    assert "categories and manufacturers by exact name" not in hint


@pytest.mark.parametrize("field, value, label", [
    ("client_id", "ключ", "clientId"),
    ("public_key", "ключ", "public key"),
    ("private_key", "clé secrète", "private key"),
    ("private_key", "abc\u00a0def", "private key"),  # a non-breaking space pasted with it
])
def test_a_credential_no_request_can_carry_is_refused_in_its_field(admin_client, cw_sandbox, field, value, label):
    """Saved, a key with "ключ" in it made every request fail with a 500 (an HTTP header cannot carry it): the
    Connection page, Test Connection, the import popup and the export checklist."""
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox, **{field: value}))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Nothing was saved" in html
    assert f"The {label} may hold only letters, digits and the symbols of an English keyboard" in html
    assert get_settings(db.session).site_url == ""


def test_an_http_site_without_the_tick_says_to_tick_it_when_the_setting_allows_it(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox, allow_http=None))
    assert resp.status_code == 400 and "tick “Allow http” below." in resp.get_data(as_text=True)
