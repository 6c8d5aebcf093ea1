"""When saving a customer in the host's form warns of what ConnectWise cannot hold (the hook ``customer_save_warnings``):
the customer's and its contacts' fields longer than ConnectWise's limits, in the words the customer's export then
fails with (one definition); whichever system is the master for customer data, since the export refuses them under
either; only while colcw is connected; never by refusing the save."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from customer_support import company, export, items, link_of, make_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

LONG_NAME = "Bayside Dental and Orthodontic Associates of Greater Austin, LLC"  # 64: ConnectWise holds 50
LONG_FIRST = "Maximiliana Theodora Alexandrina"  # 32: ConnectWise holds 30


class _Form(HTMLParser):
    """The customer form's fields as the browser posts them (text inputs, hidden ones, ticked boxes)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag != "input" or not a.get("name"):
            return
        if a.get("type") in ("checkbox", "radio") and "checked" not in a:
            return
        self.data[a["name"]] = a.get("value") or ""


def _save(client, customer_id: int, **changes: str) -> list[tuple[str, str]]:
    """Save the customer through the host's edit form with ``changes``; the flashes of the page the rep lands on."""
    form = _Form()
    form.feed(client.get(f"/customers/{customer_id}/edit").get_data(as_text=True))
    resp = client.post(f"/customers/{customer_id}/edit", data={**form.data, **changes})
    assert resp.status_code == 302 and resp.location.endswith(f"/customers/{customer_id}"), resp.get_data(as_text=True)
    page = client.get(resp.location).get_data(as_text=True)
    return [(cls, " ".join(html.unescape(text).split()))
            for cls, text in re.findall(r'<div class="flash ([^"]+)" role="status">(.*?)</div>', page, re.S)]


def _said(item) -> str:
    """A failed result as the run log says it: the problem, then what to do."""
    return f"{item.message} {item.resolution}"


def test_the_warning_is_the_exports_own_words_for_the_customer(sync_ready, rep_client):
    customer = make_customer()
    flashes = _save(rep_client, customer.id, name=LONG_NAME)
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    lead = f"Customer {LONG_NAME} cannot be exported to ConnectWise as it is. "
    assert flashes[1][1].startswith(lead)
    run = export(customer.id)
    assert run.status == "failed"
    [failed] = items(run, "customer")
    assert failed.action == "failed" and "Company Name is 64 characters long; ConnectWise allows at most 50." in (
        failed.message)
    assert flashes[1][1] == lead + _said(failed)
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).name == LONG_NAME  # saved all the same


def test_the_warning_is_the_exports_own_words_for_a_contact(sync_ready, rep_client):
    customer = make_customer()
    flashes = _save(rep_client, customer.id, **{"contacts-0-first_name": LONG_FIRST})
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    run = export(customer.id)
    [ada] = [i for i in items(run, "contact") if i.action == "failed"]
    assert "First Name is 32 characters long; ConnectWise allows at most 30." in ada.message
    assert flashes[1][1] == f"Customer {customer.name} cannot be exported to ConnectWise as it is. {_said(ada)}"


def test_warned_with_connectwise_the_master_too_since_the_export_refuses_it_all_the_same(sync_ready, rep_client):
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    flashes = _save(rep_client, customer.id, name=LONG_NAME)
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    run = export(customer.id)
    [failed] = items(run, "customer")
    assert failed.action == "failed"
    assert flashes[1][1] == f"Customer {LONG_NAME} cannot be exported to ConnectWise as it is. {_said(failed)}"
    assert company(sync_ready, company_id)["name"] == "Acme Corp"  # ConnectWise was left as it was


def test_no_warning_while_colcw_is_not_connected(sync_ready, rep_client):
    customer = make_customer()
    get_settings(db.session).site_url = ""
    db.session.commit()
    assert _save(rep_client, customer.id, name=LONG_NAME) == [("success", f"Customer {LONG_NAME} saved.")]
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).name == LONG_NAME


def test_no_warning_within_the_limits(sync_ready, rep_client):
    customer = make_customer()
    assert _save(rep_client, customer.id, name=LONG_NAME[:50], **{"contacts-0-first_name": LONG_FIRST[:30]}) == [
        ("success", f"Customer {LONG_NAME[:50]} saved.")]
