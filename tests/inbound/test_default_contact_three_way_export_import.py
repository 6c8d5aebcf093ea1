"""The company's default (primary) contact under the three-way rule in exports and imports too (one definition:
sync/shared/default_contact.py), against the sandbox over HTTP.

Export: it set the company's ``defaultContact`` to the customer's whenever they differed, so with ConnectWise the
master an export that ran before a live update read a colleague's new primary contact sent the customer's old default
back over it. Now it keeps ConnectWise's when only ConnectWise changed it, or both sides did (saying so in the run
log), and sends the customer's when ChannelOnline alone changed it, or under ChannelOnline the master.

Import: with ConnectWise the master and the default contact changed on both sides, an import took ConnectWise's and
said so in the run log but wrote no note on the customer page (live updates do: ChannelOnline's overwritten choice
is shown nowhere else). It notes it now (sync/shared/notes.py)."""

from __future__ import annotations

import pytest
from inbound_support import edit_host, export_customer
from sqlalchemy import select
from test_conflict_note_outlives_unchanged_pass import _no_callbacks, _notes, _run
from test_default_contact_comes_back import _cw_default, _with_grace
from test_import_notes_as_live_updates import _page, _said

from colcw_plugin.models import CW_MASTER, HOST_MASTER
from host_stub.extensions import db
from host_stub.models import Contact


def _host_default(customer_id: int) -> list[str]:
    db.session.rollback()
    db.session.expire_all()
    return [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == customer_id, Contact.is_default.is_(True))).scalars()]


def _rep_picks_charles(customer_id: int) -> None:
    """The rep makes Charles the customer's default contact instead of Ada (in ChannelOnline, not exported)."""
    edit_host(customer_id, {"Ada": {"is_default": False}, "Charles": {"is_default": True}})


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_export_before_a_live_update_keeps_a_primary_contact_the_connectwise_master_changed(app, fast_callbacks,
                                                                                              master):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="DC3X1", name="Three Way Export Co")
    _no_callbacks(master)  # live updates on, the first pass sets the watermark
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})  # a colleague, in ConnectWise
    edit_host(customer.id, city="Dallas")  # the rep's own edit, exported before a live update reads the company

    done = _run("customer_export", {"customer_id": customer.id})
    said = _said(done, "customer")
    if master == CW_MASTER:
        assert _cw_default(sandbox, company) == contacts["Charles"]  # the master's change stays
        assert any("kept ConnectWise's default contact “Charles Babbage” (ConnectWise is the master" in m
                   for m in said), said
        _run("cw_reconcile", {"mode": "changes"})  # and comes into the customer
        assert _host_default(customer.id) == ["Charles"]
        assert _cw_default(sandbox, company) == contacts["Charles"]
    else:
        assert _cw_default(sandbox, company) == contacts["Ada"]  # ChannelOnline's, the master's
        assert any("default contact set" in m for m in said), said
        assert _host_default(customer.id) == ["Ada"]
    assert sandbox.api("GET", f"company/companies/{company}").json()["city"] == "Dallas"  # the edit went either way


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_export_sends_a_primary_contact_the_rep_changed(app, fast_callbacks, master):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="DC3X2", name="Rep Default Co")
    _no_callbacks(master)
    _rep_picks_charles(customer.id)
    done = _run("customer_export", {"customer_id": customer.id})
    assert _cw_default(sandbox, company) == contacts["Charles"]
    assert any("default contact set" in m for m in _said(done, "customer"))


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_export_when_both_sides_changed_the_primary_contact_follows_the_master(app, fast_callbacks, master):
    sandbox = fast_callbacks
    customer, company, contacts = _with_grace(sandbox, account_number="DC3X3", name="DC3X3 Co")
    _no_callbacks(master)
    _rep_picks_charles(customer.id)
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Grace"]}})
    done = _run("customer_export", {"customer_id": customer.id})
    if master == CW_MASTER:
        assert _cw_default(sandbox, company) == contacts["Grace"]
        assert any("kept ConnectWise's default contact “Grace Hopper”" in m for m in _said(done, "customer"))
        # The agreement stays the last one: the next live update takes Grace and notes the conflict on the page.
        _run("cw_reconcile", {"mode": "changes"})
        assert _host_default(customer.id) == ["Grace"]
        assert _notes(customer.id) == [("customer", "default_contact", "conflict", "Charles Babbage", "Grace Hopper",
                                        "connectwise")]
        assert "ChannelOnline had “Charles Babbage”" in _page(app, customer.id)
    else:
        assert _cw_default(sandbox, company) == contacts["Charles"]
        assert _host_default(customer.id) == ["Charles"]
        assert _notes(customer.id) == []


@pytest.mark.parametrize("scope", [{"mode": "all"}, {"company": "DC3I1"}], ids=["all", "by-company-id"])
def test_connectwise_master_an_import_notes_a_primary_contact_changed_on_both_sides(app, fast_callbacks, scope):
    sandbox = fast_callbacks
    customer, company, contacts = _with_grace(sandbox, account_number="DC3I1", name="DC3I1 Co")
    _no_callbacks(CW_MASTER)
    _rep_picks_charles(customer.id)  # not exported
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Grace"]}})

    done = _run("customer_import", scope)
    assert _host_default(customer.id) == ["Grace"]  # the master's
    assert _cw_default(sandbox, company) == contacts["Grace"]
    noted = [("customer", "default_contact", "conflict", "Charles Babbage", "Grace Hopper", "connectwise")]
    assert _notes(customer.id) == noted  # as the live update notes it
    assert any("default contact now Grace Hopper, was Charles Babbage" in m for m in _said(done, "customer"))
    page = _page(app, customer.id)
    assert "Changed on both sides" in page and "ChannelOnline had “Charles Babbage”" in page, page

    _run("customer_import", scope)  # an import that finds nothing new leaves it
    assert _notes(customer.id) == noted
    _run("cw_reconcile", {"mode": "changes"})  # so does a live update
    assert _notes(customer.id) == noted
    _run("customer_export", {"customer_id": customer.id})  # the export resolves it
    assert _notes(customer.id) == []
    assert _cw_default(sandbox, company) == contacts["Grace"]


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_an_import_of_a_primary_contact_only_connectwise_changed_writes_no_note(app, fast_callbacks, master):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox, account_number="DC3I2", name="Import Only Co")
    _no_callbacks(master)
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})
    _run("customer_import", {"company": "DC3I2"})  # a person's import takes ConnectWise's under either master
    assert _host_default(customer.id) == ["Charles"]
    assert _notes(customer.id) == []
