"""A bulk import makes the next page's host values while PostgreSQL stores the page before (importer._make_ahead;
issue 14): each value is taken once, so a page refused at its commit (the links' COPY ends there) and saved again
company by company makes its values again (the last page: no next page's values replace them meanwhile), and what is
saved and agreed is what ConnectWise's records map to."""

from __future__ import annotations

from customer_support import items, refused_inserts, run
from sqlalchemy import select

from colcw_plugin.models import Link
from colcw_plugin.sync.customers import importer
from colcw_plugin.sync.shared import fields as M
from host_stub.extensions import db
from host_stub.models import Contact, Customer

VICTIM = "REFUSED6"


def _companies(sandbox) -> dict[str, dict]:
    made = {}
    for n in range(1, 7):  # pages of two: the victim is on the last page, made ahead
        ident = VICTIM if n == 6 else f"AHEAD{n}"
        company = sandbox.api("POST", "company/companies", json={"identifier": ident, "name": f"Ahead {n} Ltd",
                                                                 "city": "Austin"}).json()
        for i in range(2):  # no default contact: each contact's agreement leaves is_default out
            assert sandbox.api("POST", "company/contacts", json={
                "firstName": f"F{n}{i}", "lastName": f"L{n}", "company": {"id": company["id"]},
                "communicationItems": [{"type": {"name": "Email"}, "value": f"f{n}{i}@ahead.example",
                                        "defaultFlag": True}]}).status_code == 201
        made[ident] = company
    return made


def test_a_page_refused_at_its_commit_is_saved_again_with_its_values_made_anew(connected, monkeypatch):
    companies = _companies(connected)
    monkeypatch.setattr(importer, "PAGE", 2)
    # The victim's customer link is refused by PostgreSQL as its page's links are stored (after the COPY was sent).
    with refused_inserts("colcw_links", "cw_identifier", VICTIM):
        done = run("customer_import", {"mode": "all"})

    by_cw = {i.cw_id: i for i in items(done, "customer")}
    victim = companies[VICTIM]["id"]
    assert done.status == "partial", done.message
    assert by_cw[victim].action == "failed" and "could not be saved in ChannelOnline" in by_cw[victim].message
    assert sorted(i.action for i in by_cw.values()) == ["created"] * 5 + ["failed"]
    assert sorted(db.session.execute(select(Customer.account_number)).scalars()) == [
        f"AHEAD{n}" for n in range(1, 6)]
    # Every contact saved holds, and its link agrees on, what its ConnectWise record maps to (no default contact).
    records = {c["id"]: c for c in connected.api("GET", "company/contacts", params={"pageSize": 100}).json()}
    agreed = dict(db.session.execute(select(Link.cw_id, Link.synced_values).where(Link.entity == "contact")).all())
    assert len(agreed) == 10 and not {c["id"] for c in records.values() if c["company"]["id"] == victim} & set(agreed)
    for cw_id, synced in agreed.items():
        expected = M.contact_host_values(records[cw_id], None)
        expected.pop("is_default")
        assert synced == expected
    emails = sorted(db.session.execute(select(Contact.email)).scalars())
    assert emails == sorted(f"f{n}{i}@ahead.example" for n in range(1, 6) for i in range(2))
