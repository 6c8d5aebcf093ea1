"""A rep dismisses a note of what came back from ConnectWise on the customer's page ("Keep ChannelOnline's value",
"Dismiss"): it is recorded with who did it, a later pass that reads the record again unchanged does not bring it back,
and a new change of that field in ConnectWise does. All Customers' status is not touched by it."""

from __future__ import annotations

import html as html_lib
import re

from htmx_loads import loaded
from inbound_support import edit_host, enable, export_customer, shown
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db


def _pass() -> SyncRun:
    """A safety-net pass ("What changed"): it reads again what changed in the last two minutes too."""
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.entity, d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _latest(customer_id: int) -> SyncItem:
    return db.session.execute(select(SyncItem).where(SyncItem.entity == "customer", SyncItem.host_id == customer_id)
                              .order_by(SyncItem.id.desc()).limit(1)).scalar_one()


def _dismiss(client, customer_id: int, notes: list[tuple[str, int, str, str]], *, token: bool = True):
    page = loaded(client, f"/customers/{customer_id}")
    data = {"note": [f"{e}:{h}:{f}" for e, h, f, _ in notes], "seen": [s for *_, s in notes]}
    if token:
        data["csrf_token"] = csrf_from(page)
    return client.post(f"/colcw/customers/{customer_id}/notes/dismiss", data=data)


def _panel(client, customer_id: int) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", loaded(client, f"/customers/{customer_id}")))


def test_a_note_kept_on_channelonlines_value_stays_dismissed_until_connectwise_changes_the_field(app,
                                                                                                 fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="DISM1", name="Dismiss Dental",
                                                  fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    _pass()
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    edit_host(customer.id, {"Ada": {"title": "COO"}})  # not exported: a conflict on the contact's title
    sandbox.edit_company(company, {"faxNumber": "208-555-5555", "city": "Nampa"})  # not taken: the host is the master
    sandbox.edit_contact(contacts["Ada"], {"title": "CEO"})
    _pass()
    assert _notes(customer.id) == [("contact", "title", "conflict", "COO", "CEO", "host"),
                                   ("customer", "city", "drift", "Boise", "Nampa", "host"),
                                   ("customer", "fax", "drift", "208-555-1111", "208-555-5555", "host")]
    status_before = shown(app, customer)

    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        page = _panel(client, customer.id)
        assert page.count("Keep ChannelOnline's value</button>") == 3 and "Dismiss all 3 notes" in page
        # Without the form's CSRF token nothing is dismissed.
        assert _dismiss(client, customer.id, [("customer", customer.id, "fax", "208-555-5555")],
                        token=False).status_code == 400
        assert len(_notes(customer.id)) == 3
        # A note the page showed with another ConnectWise value than it holds now is left alone.
        resp = _dismiss(client, customer.id, [("customer", customer.id, "city", "Somewhere else")])
        assert resp.status_code == 302
        assert len(_notes(customer.id)) == 3
        assert "the note is no longer as the page showed it" in _panel(client, customer.id)

        resp = _dismiss(client, customer.id, [("customer", customer.id, "fax", "208-555-5555"),
                                              ("contact", ada.id, "title", "CEO")])
        assert resp.status_code == 302
        page = _panel(client, customer.id)
    assert ("Company Fax of Dismiss Dental (DISM1): note dismissed, ChannelOnline's “208-555-1111” kept; ConnectWise "
            "had “208-555-5555” then; exporting the customer sends ChannelOnline's. The note comes back if ConnectWise "
            "changes Company Fax "
            "again."
            in page)
    assert 'id="colcw-dismissed-notes"' in page and "(by riley@demo.example)" in page  # who, on the customer's page
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
    recorded = db.session.execute(select(SyncItem).where(SyncItem.entity == "customer_note",
                                                         SyncItem.host_id == customer.id)).scalars().all()
    assert len(recorded) == 2 and all(i.action == "dismissed" and "(by riley@demo.example)" in i.message for i in recorded)
    assert shown(app, customer) == status_before  # All Customers says what it said

    # The next pass reads the company and the contact again, unchanged: the dismissed notes stay dismissed.
    again = _pass()
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
    assert _latest(customer.id).run_id == again.id
    assert "Fax" not in _latest(customer.id).message  # the latest result does not repeat the dismissed note
    _pass()
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]

    # ConnectWise changes the fax again: the note is back, about the new value (ChannelOnline's still differs).
    sandbox.edit_company(company, {"faxNumber": "208-555-6666"})
    _pass()
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host"),
                                   ("customer", "fax", "conflict", "208-555-1111", "208-555-6666", "host")]
    # The export sends ChannelOnline's values, and every note is resolved.
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    assert _notes(customer.id) == []
    cw = sandbox.api("GET", f"company/companies/{company}").json()
    assert (cw["faxNumber"], cw["city"]) == ("208-555-1111", "Boise")
    assert get_link(db.session, "customer", customer.id).status == "ok"


def test_dismiss_all_forgets_conflicts_connectwise_settled_and_an_unchanged_pass_keeps_them_gone(app,
                                                                                                 fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="DISM2", name="Dismiss Dental Two",
                                           fax="208-555-1111", website="https://old.example")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    _pass()
    edit_host(customer.id, fax="208-555-4444", website="https://rep.example")
    sandbox.edit_company(company, {"faxNumber": "208-555-5555", "website": "https://cw.example"})
    _pass()
    assert [n[1] for n in _notes(customer.id)] == ["fax", "website"]
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        page = _panel(client, customer.id)
        assert page.count(">Dismiss</button>") == 2
        assert _dismiss(client, customer.id, [("customer", customer.id, "fax", "208-555-5555"),
                                              ("customer", customer.id, "website", "https://cw.example"),
                                              ("customer", customer.id, "fax", "208-555-5555")]  # sent twice
                        ).status_code == 302
        page = _panel(client, customer.id)
    assert "Website of Dismiss Dental Two (DISM2): note dismissed; both sides keep ConnectWise's" in page
    assert _notes(customer.id) == []
    assert len(db.session.execute(select(SyncItem).where(SyncItem.entity == "customer_note",
                                                         SyncItem.host_id == customer.id)).all()) == 2
    _pass()
    assert _notes(customer.id) == []
