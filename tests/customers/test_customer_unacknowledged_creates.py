"""Creates ConnectWise carried out but never acknowledged do not make a second company or contact.

The sandbox's ``applied`` faults carry a POST out, then lose its answer: the connection drops, or the
answer hangs past colcw's read timeout. colcw looks the record up before anything is created again,
and a contact whose creator died before saving its link is found by the next export (its intent).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from customer_support import companies, contacts_of, export, items, link_of, make_customer
from sqlalchemy import select

from colcw_plugin.models import CONTACT, CreateIntent
from helpers import tune_runtime
from host_stub.extensions import db
from host_stub.services import CUSTOMER_EDITABLE, save_customer


def _names(sandbox, company_id: int) -> list[str]:
    return sorted(f"{c['firstName']} {c.get('lastName', '')}".strip() for c in contacts_of(sandbox, company_id))


def test_a_company_create_whose_connection_dropped_after_it_was_applied_is_found_not_repeated(sync_ready):
    customer = make_customer()
    sync_ready.add_fault(status="drop", applied=True, method="POST", path=r"company/companies$", count=1)
    run = export(customer.id)
    assert run.status == "succeeded", run.message
    [company] = companies(sync_ready, conditions='identifier="ACME1"')
    assert link_of("customer", customer.id).cw_id == company["id"]
    assert _names(sync_ready, company["id"]) == ["Ada Lovelace", "Charles Babbage"]
    assert [i.action for i in items(run, "customer")] == ["created"]


def test_a_company_create_whose_answer_hung_past_the_timeout_is_found_not_repeated(sync_ready, app, monkeypatch):
    tune_runtime(monkeypatch, app, cw_read_timeout=1.0)
    customer = make_customer()
    sync_ready.add_fault(status="hang", seconds=3, applied=True, method="POST", path=r"company/companies$", count=1)
    run = export(customer.id)
    assert run.status == "succeeded", run.message
    assert len(companies(sync_ready, conditions='identifier="ACME1"')) == 1
    assert _names(sync_ready, link_of("customer", customer.id).cw_id) == ["Ada Lovelace", "Charles Babbage"]


def test_contact_creates_whose_answers_were_lost_are_found_not_repeated(sync_ready, app, monkeypatch):
    tune_runtime(monkeypatch, app, cw_read_timeout=1.0)
    customer = make_customer(contacts=[
        {"first_name": "Ada", "last_name": "Lovelace", "is_default": True},  # no e-mail to match by
        {"first_name": "Charles", "last_name": "Babbage", "is_default": False}])
    sync_ready.add_fault(status="drop", applied=True, method="POST", path=r"company/contacts$", nth=1)
    sync_ready.add_fault(status="hang", seconds=3, applied=True, method="POST", path=r"company/contacts$", nth=2)
    run = export(customer.id)
    assert run.status == "succeeded", run.message
    company_id = link_of("customer", customer.id).cw_id
    assert _names(sync_ready, company_id) == ["Ada Lovelace", "Charles Babbage"]
    cw_ids = sorted(c["id"] for c in contacts_of(sync_ready, company_id))
    assert sorted(link_of("contact", k.id).cw_id for k in customer.contacts) == cw_ids
    assert db.session.execute(select(CreateIntent)).scalars().all() == []
    # A second export finds both linked: nothing more is created.
    assert export(customer.id).status == "succeeded"
    assert _names(sync_ready, company_id) == ["Ada Lovelace", "Charles Babbage"]


def test_a_contact_whose_exporter_died_between_the_create_and_the_link_is_created_once(sync_ready, app):
    """A real crash: the export runs in its own process, which is killed once ConnectWise holds the new
    contact and before colcw saved its link. A same-named contact with another e-mail added by hand earlier (another
    person: SamePerson) stays alone."""
    customer = make_customer(contacts=[{"first_name": "Ada", "last_name": "Lovelace", "is_default": True}])
    assert export(customer.id).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    by_hand = sync_ready.api("POST", "company/contacts", json={"firstName": "Sam", "lastName": "Smith",
                                                               "communicationItems": [
                                                                   {"type": {"name": "Email"},
                                                                    "value": "sam.other@example.com"}],
                                                               "company": {"id": company_id}}).json()
    customer = save_customer({f: getattr(customer, f) for f in CUSTOMER_EDITABLE},
                             [{"first_name": "Sam", "last_name": "Smith", "email": "sam@acme.example",
                               "is_default": False}], customer_id=customer.id)
    sam = next(k for k in customer.contacts if k.first_name == "Sam")
    # The contact POST is carried out, then its answer hangs: the process is killed while it waits.
    sync_ready.add_fault(status="hang", seconds=20, applied=True, method="POST", path=r"company/contacts$", count=1)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "SECRET_KEY": app.config["SECRET_KEY"], "COLCW_ENCRYPTION_KEY": app.config["COLCW_ENCRYPTION_KEY"],
           "COLCW_ALLOW_HTTP": "1"}
    flask = str(Path(sys.executable).parent / "flask")
    proc = subprocess.Popen([flask, "--app", "host_stub", "colcw", "sync", "customers", "--direction", "export",
                             "--customer", "ACME1"], env=env, cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while len(contacts_of(sync_ready, company_id)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(contacts_of(sync_ready, company_id)) == 3, "the contact POST never reached ConnectWise"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    sync_ready.clear_faults()
    db.session.expire_all()
    assert link_of("contact", sam.id) is None  # died before the link
    assert [i.host_id for i in db.session.execute(select(CreateIntent)).scalars()] == [sam.id]  # but said what it did
    run = export(customer.id)
    assert run.status == "succeeded", run.message
    assert _names(sync_ready, company_id) == ["Ada Lovelace", "Sam Smith", "Sam Smith"]  # by hand + colcw's, no third
    ours = link_of("contact", sam.id).cw_id
    assert ours != by_hand["id"]
    assert {c["id"] for c in contacts_of(sync_ready, company_id)} >= {ours, by_hand["id"]}
    assert db.session.execute(select(CreateIntent).where(CreateIntent.entity == CONTACT)).scalars().all() == []
