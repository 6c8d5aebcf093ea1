"""A first import (every company new to the host) keeps one dict per new contact for three owners since 3f36281: the
contact's planned values, what the host's save is given, and the contact link's agreement (``synced_values``). That
holds only while nothing changes the dict: these tests run a real first import against the sandbox and check the
outcome, each new contact link agreeing on exactly ConnectWise's mapped values of its contact, and the host's save
leaving what it was given as given (were it to change a value, the link would agree on a value ConnectWise never
held, and the next export would read it as the host's own change, or miss one)."""

from __future__ import annotations

import copy

from customer_support import items, link_of, run

from colcw_plugin.sync.shared import fields as M
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer


def _cw_mapped(sandbox, company_cw_id: int) -> dict[int, dict]:
    """ConnectWise's mapped host values of each contact of the company, by contact id, as the import maps them."""
    company = sandbox.api("GET", f"company/companies/{company_cw_id}").json()
    contacts = sandbox.api("GET", "company/contacts", params={"conditions": f"company/id = {company_cw_id}",
                                                             "pageSize": 1000}).json()
    default_id = (company.get("defaultContact") or {}).get("id")
    has_default = bool(default_id) or any(c.get("defaultFlag") for c in contacts)
    out = {}
    for c in contacts:
        values = M.contact_host_values(c, default_id)
        if not has_default:
            values.pop("is_default")
        out[c["id"]] = values
    return out


def _given_to_the_host_save(monkeypatch) -> list[tuple[dict, dict]]:
    """Each contact dict the host's bulk save is given, with a copy of it as given."""
    given: list[tuple[dict, dict]] = []
    real = UnitOfWork.save_customers

    def save_customers(self, writes, *, actor=None):
        mine = [(c, copy.deepcopy(dict(c))) for w in writes for c in w.contacts]
        given.extend(mine)
        return real(self, writes, actor=actor)

    monkeypatch.setattr(UnitOfWork, "save_customers", save_customers)
    return given


def _agreements(sandbox, done) -> list[tuple[dict, dict]]:
    """(the link's agreement without colcw's own markers, ConnectWise's mapped values) of each new contact."""
    created = [i for i in items(done, "customer") if i.action == "created"]
    assert created, [i.message for i in items(done)]
    db.session.expire_all()
    out = []
    for item in created:
        cw = _cw_mapped(sandbox, item.cw_id)
        customer = db.session.get(Customer, item.host_id)
        assert len(customer.contacts) == len(cw)
        for contact in customer.contacts:
            link = link_of("contact", contact.id)
            assert link is not None and link.cw_id in cw
            agreed = {k: v for k, v in (link.synced_values or {}).items() if not k.startswith("colcw:")}
            out.append((agreed, cw[link.cw_id]))
    return out


def _only_the_duplicate_left_out(done) -> None:
    """The demo tenant's companies all imported but the one it holds as a likely duplicate of another."""
    failed = [i.message for i in items(done, "customer") if i.action != "created"]
    assert len(failed) <= 1 and all("may be a duplicate in ConnectWise" in m for m in failed), failed


def test_a_first_imports_contact_links_agree_on_connectwises_mapped_values(connected_demo, monkeypatch):
    given = _given_to_the_host_save(monkeypatch)
    done = run("customer_import", {"mode": "all"})
    _only_the_duplicate_left_out(done)
    pairs = _agreements(connected_demo, done)
    assert len(pairs) == len(given) > 3
    for agreed, mapped in pairs:
        assert agreed == mapped
    # The host's save changed nothing of what it was given (3f36281's sharing rests on it).
    for handed, as_given in given:
        assert dict(handed) == as_given
    # ... and the host's contacts hold those values.
    db.session.expire_all()
    held = sorted((c.first_name, c.last_name, c.email) for c in db.session.query(Contact))
    assert held == sorted((m.get("first_name"), m.get("last_name"), m.get("email")) for _, m in pairs)
