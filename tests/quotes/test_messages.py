"""Messages that help: each is pinned here as a person reads it (issue 15, "Messages that help").

Test Connection in words (no library text), a site URL that is not a URL refused at Save, a wrong
integrator password named as such, every "Fix" naming a page that exists and linking to it, a document
page listing the failed lines of its last export, finished runs showing their counts, "not connected"
after Reset, a locked but unexported document saying why, plurals and possessives, no double
punctuation, one time-zone label.
"""

from __future__ import annotations

import html as html_lib
import re
import socket
from pathlib import Path

import pytest
from htmx_loads import loaded
from quote_support import items as run_items
from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import ProductTypeMapping, SyncRun
from colcw_plugin.setup import pages
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.text import plural, possessive
from helpers import csrf_from, sign_in
from host_stub import services
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"
ROOT = Path(__file__).resolve().parents[2]


def _text(page: str) -> str:
    """The visible text of a page, roughly: tags dropped, entities decoded, spaces folded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connection_form(client, sandbox, **over) -> dict:
    data = {"csrf_token": csrf_from(client.get(URL).get_data(as_text=True)), "site_url": sandbox.base_url,
            "company_id": sandbox.company_id, "auth_mode": "api_keys", "public_key": sandbox.public_key,
            "private_key": sandbox.private_key, "client_id": "colcw-tests", "allow_http": "on"}
    data.update(over)
    return data


# --- the connection page ------------------------------------------------------------------------------


def test_a_site_url_that_is_not_a_url_is_refused_at_save(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "connection", data=_connection_form(admin_client, cw_sandbox, site_url="not a url"))
    assert resp.status_code == 400
    assert ("“not a url” is not a web address. Enter your ConnectWise site URL as the browser shows it, e.g. "
            "https://na.myconnectwise.net.") in _text(resp.get_data(as_text=True))
    assert get_settings(db.session).site_url == ""


def test_an_over_long_site_url_or_company_id_says_how_long_it_may_be(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "connection", data=_connection_form(
        admin_client, cw_sandbox, site_url="https://" + "a" * 3000 + ".example.com", company_id="C" * 300))
    assert resp.status_code == 400
    text = _text(resp.get_data(as_text=True))
    assert ("The site URL must be at most 255 characters (3,020 were entered). Enter just the address the browser "
            "shows, e.g. https://na.myconnectwise.net.") in text
    assert ("The company ID must be at most 50 characters (300 were entered): enter the company ID you type on the "
            "ConnectWise login screen.") in text
    assert get_settings(db.session).site_url == ""


def test_the_command_line_names_the_option_a_refused_value_came_from(app, cw_sandbox):
    result = app.test_cli_runner().invoke(args=["colcw", "live-updates", "--on", "--public-url", "notaurl"])
    assert result.exit_code == 2
    assert result.output.startswith("--public-url: ") and "public_base_url" not in result.output


def test_a_wrong_integrator_password_says_so(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "test", data=_connection_form(
        admin_client, cw_sandbox, auth_mode="integrator", public_key="", private_key="", username=cw_sandbox.username,
        password="not-the-password"), headers={"HX-Request": "true"})
    text = _text(resp.get_data(as_text=True))
    assert (f"ConnectWise refused the integrator login '{cw_sandbox.username}': the username or password is wrong, "
            f"or the login is not enabled for company '{cw_sandbox.company_id}'.") in text
    assert ("What to do: Check the integrator username and password (ConnectWise: System → Setup Tables → "
            "Integrator Login) and the company ID, then test again.") in text
    assert "public/private key" not in text


def test_wrong_api_keys_say_so(admin_client, cw_sandbox):
    resp = admin_client.post(URL + "test", data=_connection_form(admin_client, cw_sandbox, private_key="nope"),
                             headers={"HX-Request": "true"})
    assert ("ConnectWise refused the API keys: the public or private key is wrong, revoked, or belongs to another "
            f"company than '{cw_sandbox.company_id}'.") in _text(resp.get_data(as_text=True))


@pytest.mark.parametrize("how", ["htmx", "page"])
def test_test_connection_says_in_words_what_failed_and_what_to_do(admin_client, cw_sandbox, how):
    port = _closed_port()
    headers = {"HX-Request": "true"} if how == "htmx" else {"Accept": "text/html"}
    resp = admin_client.post(URL + "test", data=_connection_form(admin_client, cw_sandbox,
                                                                 site_url=f"http://127.0.0.1:{port}"), headers=headers)
    page = resp.get_data(as_text=True)
    text = _text(page)
    assert (f"cannot reach http://127.0.0.1:{port}: could not connect: the server refused the connection (nothing "
            "answers at that address and port)") in text
    assert ("What to do: Check the site URL and that this server can reach it (firewall, proxy, DNS).") in text
    for library in ("HTTPConnectionPool", "Max retries", "Errno", "NewConnectionError"):
        assert library not in page
    if how == "page":  # without JavaScript: the whole page, what was typed kept (never the secret)
        assert 'id="connection-form"' in page and f"http://127.0.0.1:{port}" in page
        assert cw_sandbox.private_key not in page


# --- fixes name pages that exist, and link to them --------------------------------------------------


def test_every_page_a_fix_can_name_exists_with_its_section(admin_client):
    for page in pages.ALL:
        path = {"colcw_admin.connection": URL, "colcw_admin.products": URL + "products",
                "colcw_admin.reps": URL + "reps", "colcw_admin.jobs": URL + "jobs",
                "admin.custom_fields": "/admin/custom-fields"}[page.endpoint]
        resp = admin_client.get(path)
        assert resp.status_code == 200, page.name
        body = resp.get_data(as_text=True)
        if page.anchor:
            assert f'id="{page.anchor}"' in body, page
        last = page.name.split(" → ")[-1]
        assert last in _text(body) or last in ("Admin", "ConnectWise"), page.name


def test_no_message_names_a_page_that_does_not_exist():
    retired = ("Connection options", "Product type mapping", "Category mapping", "Manufacturer aliases")
    for path in (ROOT / "colcw_plugin").rglob("*.py"):
        if path.name == "reset.py":  # it lists the tables Reset empties ("Manufacturer aliases"), not pages
            continue
        source = path.read_text()
        for name in retired:
            assert not re.search(re.escape(name) + r"(?!s)", source), f"{path}: “{name}” is not a page"


def test_a_fix_in_the_run_log_links_the_page_it_names(world, app):
    db.session.execute(ProductTypeMapping.__table__.delete().where(ProductTypeMapping.host_type == "Labor"))
    db.session.commit()
    doc = world.quote([line("LAB-1", product_type="Labor")])
    run = world.export(doc.id)
    with app.app_context():
        admin = sign_in(app.test_client(), "admin@demo.example")
        log = admin.get(f"{URL}jobs/runs/{run.id}").get_data(as_text=True)
        assert (f'<a href="{URL}products#types">Product integration mapping → Product types</a>') in log
        # The document's page lists the failed lines of its last export, with the same fix.
        doc_page = loaded(admin, f"/documents/{doc.id}")
    failed = doc_page.split('id="colcw-failed-lines"')[1].split("</table>")[0]
    assert "Line 1 (LAB-1)" in failed and "no ConnectWise product type is mapped to Labor" in failed
    assert f'href="{URL}products#types"' in failed
    with app.app_context():  # a rep sees the page's name, not a link to an admin page
        rep = sign_in(app.test_client(), "riley@demo.example")
        rep_page = loaded(rep, f"/documents/{doc.id}")
    assert "Product integration mapping → Product types (an admin's page: ask an admin)" in _text(rep_page)
    assert f'href="{URL}products#types"' not in rep_page


# --- runs, Reset, locks -------------------------------------------------------------------------------


def test_a_finished_run_never_says_none_yet(admin_client, app):
    run = SyncRun(kind="quote_export", params={"all": True}, description="Export all", status="failed",
                  message="ConnectWise is not connected yet.", counts={})
    db.session.add(run)
    db.session.commit()
    page = _text(admin_client.get(f"{URL}jobs/runs/{run.id}").get_data(as_text=True))
    assert "Records none" in page and "none yet" not in page
    run.status, run.counts, run.entity_counts = "succeeded", {"created": 1, "failed": 2}, {
        "document": {"created": 1}, "line": {"failed": 2}}
    db.session.commit()
    assert "Records quotes / orders: 1 created; lines: 2 failed" in _text(
        admin_client.get(f"{URL}jobs/runs/{run.id}").get_data(as_text=True))


def test_after_reset_pages_say_not_connected_and_invent_nothing(world, admin_client):
    doc = world.quote([line("OPT-7010")], name="")
    world.export(doc.id)  # refused: no name; now the admin resets the integration
    page = admin_client.get(URL + "reset").get_data(as_text=True)
    admin_client.post(URL + "reset", data={"csrf_token": csrf_from(page), "confirm": "RESET", "force": "on"})
    assert get_settings(db.session).site_url == ""
    page = loaded(admin_client, f"/documents/{doc.id}")
    panel = _text(page.split('id="colcw-document-panel"')[1].split("</section>")[0])
    assert "ConnectWise is not connected yet: ask an admin to set up the connection" in panel
    assert "opportunity name" not in panel.lower()
    checklist = _text(admin_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True))
    assert ("ConnectWise is not connected yet: ask an admin to set up the connection ( Admin → Integration → "
            "ConnectWise ).") in checklist  # (its page a link)
    assert "Export now is unavailable until “ConnectWise connection” is fixed" in checklist
    assert "opportunity name" not in checklist.lower()


def test_a_locked_document_that_colcw_did_not_export_says_why_it_is_locked(world, rep_client):
    doc = world.quote([line("OPT-7010")])
    services.set_locked(doc.id, True)
    view = _text(loaded(rep_client, f"/documents/{doc.id}"))
    assert ("Locked, but colcw has no record of exporting it: the ConnectWise integration was reset after the "
            "export, or it was locked elsewhere. Unlock it to edit; export it again to link it.") in view


# --- words ------------------------------------------------------------------------------------------


def test_plurals_and_possessives():
    assert (plural(1, "line"), plural(2, "line"), plural(1, "company"), plural(3, "company")) == (
        "1 line", "2 lines", "1 company", "3 companies")
    assert (possessive("Acme Dental"), possessive("Bayview Logistics")) == ("Acme Dental’s", "Bayview Logistics’")


def test_a_one_line_export_says_one_line_and_names_take_the_right_possessive(world, rep_client):
    from host_stub.models import Customer

    db.session.get(Customer, world.customer_id).name = "Bayview Logistics"
    db.session.commit()
    doc = world.quote([line("OPT-7010")], name="Single")
    run = world.export(doc.id)
    assert run.status == "succeeded" and "with 1 line" in run.message and "1 lines" not in run.message
    other = world.quote([line("OPT-7010")], name="")
    view = _text(loaded(rep_client, f"/documents/{other.id}"))
    assert "Choose from Bayview Logistics’ opportunities" in view and "Logistics’s" not in view


def test_no_double_punctuation_on_the_pages_that_show_messages(world, admin_client):
    db.session.execute(ProductTypeMapping.__table__.delete().where(ProductTypeMapping.host_type == "Labor"))
    db.session.commit()
    doc = world.quote([line("LAB-1", product_type="Labor"), line("XX-2", manufacturer="Nobody Inc")], name="")
    run = world.export(doc.id)
    texts = [_text(loaded(admin_client, f"/documents/{doc.id}")),
             _text(admin_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)),
             _text(admin_client.get(f"{URL}jobs/runs/{run.id}").get_data(as_text=True)),
             _text(admin_client.get(f"{URL}preflight").get_data(as_text=True))]
    for text in texts:
        assert not re.search(r"(?<!\.)\.\.(?!\.)|\. \.|,\.|\.,|: \.|\?\.", text), re.search(
            r".{60}(?<!\.)(\.\.|\. \.|,\.|\.,|: \.|\?\.).{20}", text)


def test_one_time_zone_label_for_the_times_on_the_jobs_pages(admin_client, app):
    page = admin_client.get(URL + "jobs").get_data(as_text=True)
    admin_client.post(URL + "jobs/zone", data={"csrf_token": csrf_from(page), "zone": "America/Chicago"})
    admin_client.post(URL + "jobs/run", data={
        "csrf_token": csrf_from(page), "job": "quote", "quote_scope": "all", "schedule": "y",
        "schedule_name": "Nightly", "time": "02:30", "timezone": "America/Chicago", "frequency": "daily"})
    schedules = admin_client.get(URL + "jobs?tab=schedules").get_data(as_text=True)
    header = schedules.split("<thead>")[1].split("</thead>")[0]
    assert "America/Chicago" not in header and "UTC" not in header  # the times carry their zone
    row = _text(schedules.split('data-schedule="Nightly"')[1].split("</tr>")[0])
    assert re.search(r"\d{4}-\d\d-\d\d 02:30 (CST|CDT)", row), row
    assert db.session.execute(select(SyncRun)).first() is None


def test_a_documents_page_lists_only_its_own_failed_lines_of_a_run_of_several(world, app):
    db.session.execute(ProductTypeMapping.__table__.delete().where(ProductTypeMapping.host_type == "Labor"))
    db.session.commit()
    first = world.quote([line("LAB-1", product_type="Labor")], name="First deal")
    second = world.quote([line("OPT-7010"), line("LAB-2", product_type="Labor")], name="Second deal")
    run = world.export({"document_ids": [first.id, second.id]})
    assert sorted(i.label for i in run_items(run, "line")) == [f"{first.number} Line 1 (LAB-1)",
                                                                 f"{second.number} Line 2 (LAB-2)"]
    with app.app_context():
        rep = sign_in(app.test_client(), "riley@demo.example")
        pages_ = {doc.number: loaded(rep, f"/documents/{doc.id}") for doc in (first, second)}
    for doc, own, other in ((first, "LAB-1", "LAB-2"), (second, "LAB-2", "LAB-1")):
        failed = pages_[doc.number].split('id="colcw-failed-lines"')[1].split("</table>")[0]
        assert own in failed and other not in failed, failed
