"""Every redirect whose target the request chooses stays on this site (issue 11, security).

Sign-in's ``next``, the jobs page's time-zone form ``next``, the customer export's ``next``, the
Referer auto-map returns to, the run log's back link and a plugin's answer to a list's bulk action:
each hostile target below falls back to a safe local page, on the real app on PostgreSQL. A local
target still works (so each test can fail both ways).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, make_test_app, runtime, sign_in
from host_stub.extensions import db
from host_stub.hookspecs import hookimpl
from host_stub.models import Customer, User
from host_stub.redirects import is_local_path

HOSTILE = [
    "/%09/evil.example/",
    "/\t/evil.example/",
    "/%0a/evil.example/",
    "/\r\n/evil.example",
    "//evil.example",
    "//evil.example/customers/",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/%252F%252Fevil.example",
    "https://evil.example",
    "http://evil.example/customers/",
    "https:/evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    " //evil.example",
    "/" + "a" * 3000,
]
LOCAL = "/quotes/?q=Q1001"
JOBS = "/admin/integration/connectwise/jobs"


def _location(resp) -> str:
    assert resp.status_code in (302, 303), resp.status_code
    return resp.headers["Location"]


def test_the_hostile_targets_are_all_refused_by_the_rule_and_a_local_one_is_not():
    assert [t for t in HOSTILE if is_local_path(t)] == []
    assert is_local_path(LOCAL) and is_local_path("/") and is_local_path("/customers/?q=a%2Fb#top")


# -- sign-in ---------------------------------------------------------------------------------------


def _sign_in_to(client, next_value: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", query_string={"next": next_value},
                       data={"email": "riley@demo.example", "password": "demo", "csrf_token": token})


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_next_never_leaves_the_site(client, target):
    assert _location(_sign_in_to(client, target)) == "/customers/"


def test_sign_in_next_raw_in_the_query_string_is_refused_too(client):
    # As an attacker's link carries it: the server decodes %09 to a tab.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login?next=/%09/evil.example/",
                       data={"email": "riley@demo.example", "password": "demo", "csrf_token": token})
    assert _location(resp) == "/customers/"


def test_sign_in_next_to_a_local_page_is_followed(client):
    assert _location(_sign_in_to(client, LOCAL)) == LOCAL


# -- colcw: the jobs page's time zone, the customer export, auto-map, the run log -------------------


@pytest.mark.parametrize("target", HOSTILE)
def test_the_time_zone_form_returns_only_to_a_local_page(admin_client, target):
    token = csrf_from(admin_client.get(JOBS).get_data(as_text=True))
    resp = admin_client.post(f"{JOBS}/zone", data={"zone": "America/Chicago", "next": target, "csrf_token": token})
    assert _location(resp) == JOBS


def test_the_time_zone_form_returns_to_the_tab_it_came_from(admin_client):
    token = csrf_from(admin_client.get(JOBS).get_data(as_text=True))
    resp = admin_client.post(f"{JOBS}/zone", data={"zone": "America/Chicago", "next": f"{JOBS}?tab=history",
                                                   "csrf_token": token})
    assert _location(resp) == f"{JOBS}?tab=history"


@pytest.fixture()
def exported_customer(app, connected, rep_client):
    customer = Customer(account_number="RD1", name="Redirect Test Co", city="Springfield")
    db.session.add(customer)
    db.session.commit()
    token = csrf_from(rep_client.get(f"/customers/{customer.id}").get_data(as_text=True))
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": token})  # later ones: unchanged
    return customer.id


@pytest.mark.parametrize("target", HOSTILE)
def test_the_customer_export_returns_only_to_a_local_page(rep_client, exported_customer, target):
    token = csrf_from(rep_client.get(f"/customers/{exported_customer}").get_data(as_text=True))
    resp = rep_client.post(f"/colcw/customers/{exported_customer}/export", data={"next": target, "csrf_token": token})
    assert _location(resp) == f"/customers/{exported_customer}"


def test_the_customer_export_returns_to_the_document_it_came_from(rep_client, exported_customer):
    token = csrf_from(rep_client.get(f"/customers/{exported_customer}").get_data(as_text=True))
    resp = rep_client.post(f"/colcw/customers/{exported_customer}/export",
                           data={"next": "/colcw/documents/7/export", "csrf_token": token})
    assert _location(resp) == "/colcw/documents/7/export"


@pytest.mark.parametrize("referer", ["https://evil.example/admin/", "http://localhost.evil.example/",
                                     "http://localhost//evil.example/", "http://localhost/%09/evil.example/",
                                     "javascript:alert(1)", "//evil.example"])
def test_auto_map_returns_only_to_a_page_of_this_site(admin_client, referer):
    # Not connected: auto-map cannot read ConnectWise's lists and goes back where it came from.
    token = csrf_from(admin_client.get("/admin/").get_data(as_text=True))
    resp = admin_client.post("/admin/integration/connectwise/automap", data={"csrf_token": token},
                             headers={"Referer": referer})
    assert _location(resp) == "/admin/integration/connectwise/"  # the Connection page


def test_auto_map_returns_to_the_page_of_this_site_it_came_from(admin_client):
    token = csrf_from(admin_client.get("/admin/").get_data(as_text=True))
    resp = admin_client.post("/admin/integration/connectwise/automap", data={"csrf_token": token},
                             headers={"Referer": "http://localhost/admin/integration/connectwise/preflight"})
    assert _location(resp) == "/admin/integration/connectwise/preflight"


@pytest.fixture()
def reps_run(app):
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    run = create_run(db.session, runtime().kinds, "customer_import", {"company": "X1"},
                     actor={"id": riley.id, "email": riley.email, "name": riley.name, "role": riley.role})
    db.session.commit()
    return run.id


@pytest.mark.parametrize("referer", ["https://evil.example/customers/", "http://localhost//evil.example/",
                                     "http://localhost/\\evil.example", "javascript:alert(1)"])
def test_the_run_logs_back_link_never_leads_off_site(rep_client, reps_run, referer):
    html = rep_client.get(f"/colcw/runs/{reps_run}", headers={"Referer": referer}).get_data(as_text=True)
    assert "evil.example" not in html and "javascript:" not in html and "← Back" not in html


def test_the_run_logs_back_link_returns_to_the_list_it_came_from(rep_client, reps_run):
    html = rep_client.get(f"/colcw/runs/{reps_run}", headers={"Referer": "http://localhost/customers/?q=a"})
    assert '<a href="/customers/?q=a">← Back</a>' in html.get_data(as_text=True)


# -- the host's list bulk action: a plugin's answer ------------------------------------------------


class _BulkAnswers:
    """A plugin whose bulk action answers with the redirect the test sets."""

    target = "/"

    @hookimpl
    def list_bulk_actions(self, list_name, actor, request):
        return [{"name": "go", "label": "Go"}]

    @hookimpl
    def list_bulk_action(self, list_name, action, ids, back, actor, request):
        return {"redirect": self.target}


@pytest.fixture(scope="module")
def bulk_app(pg_url, redis_url):
    return make_test_app(pg_url, redis_url, plugins=[_BulkAnswers()])


@pytest.mark.parametrize("target", HOSTILE)
def test_a_plugins_bulk_answer_never_sends_the_browser_off_site(app, bulk_app, target, monkeypatch):
    customer = Customer(account_number="B1", name="Bulk Co")
    db.session.add(customer)
    db.session.commit()
    monkeypatch.setattr(_BulkAnswers, "target", target)
    client = sign_in(bulk_app.test_client(), "riley@demo.example")
    token = csrf_from(client.get("/customers/?q=Bulk").get_data(as_text=True))
    resp = client.post("/customers/bulk?q=Bulk", data={"action": "go", "ids": [str(customer.id)], "csrf_token": token})
    assert _location(resp) == "/customers/?q=Bulk"
    monkeypatch.setattr(_BulkAnswers, "target", LOCAL)
    resp = client.post("/customers/bulk?q=Bulk", data={"action": "go", "ids": [str(customer.id)], "csrf_token": token})
    assert _location(resp) == LOCAL
