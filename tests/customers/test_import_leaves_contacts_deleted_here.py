"""QA data audit: contacts a rep deleted in ChannelOnline came back on the next Jobs → Customer import → All
("contacts: 3 created"), silently, though the export had logged "deleted in ChannelOnline, still active in
ConnectWise … the export leaves it" and live updates leave them out. A bulk import now leaves them out too and says
so in the run log once (the first import after the delete; later ones leave them out without a word), with the way
back: the import of that company by its Company ID re-creates them (as it does a customer deleted in ChannelOnline).
Against the sandbox over HTTP."""

from __future__ import annotations

from customer_support import contacts_of, export, items, link_of, make_customer, run

from colcw_plugin.models import CW_MASTER, HOST_MASTER, Link
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer

PEOPLE = [
    {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.example", "is_default": True},
    {"first_name": "Charles", "last_name": "Babbage", "email": "charles@acme.example", "is_default": False},
    {"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.example", "is_default": False},
    {"first_name": "Alan", "last_name": "Turing", "email": "alan@acme.example", "is_default": False},
]


def _names(customer_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(c.first_name for c in db.session.get(Customer, customer_id).contacts)


def _three_deleted_here(sandbox, master: str) -> tuple[int, dict[str, int]]:
    """ACME1 exported with four contacts; then the rep keeps only Ada (ConnectWise still holds all four, active)."""
    get_live(db.session).customer_master = master
    db.session.commit()
    customer = make_customer(contacts=PEOPLE)
    assert export(customer.id).status == "succeeded"
    ids = {c["firstName"]: c["id"] for c in contacts_of(sandbox, link_of("customer", customer.id).cw_id)}
    assert len(ids) == 4
    db.session.expire_all()
    ada = next(c for c in db.session.get(Customer, customer.id).contacts if c.first_name == "Ada")
    save_customer({}, [{"id": ada.id, **PEOPLE[0]}], customer_id=customer.id, delete_missing_contacts=True)
    assert _names(customer.id) == ["Ada"]
    return customer.id, ids


def test_an_import_of_all_leaves_contacts_deleted_in_channelonline_out_and_says_so(sync_ready):
    customer_id, ids = _three_deleted_here(sync_ready, CW_MASTER)
    reported = export(customer_id)  # ConnectWise the master: the export leaves them active and says so
    assert sorted(i.cw_id for i in items(reported, "contact") if i.action == "skipped") == sorted(
        ids[n] for n in ("Charles", "Grace", "Alan"))

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    assert _names(customer_id) == ["Ada"]
    assert "created" not in (done.counts or {}), done.counts
    said = {i.cw_id: i for i in items(done, "contact")}
    for name in ("Charles", "Grace", "Alan"):
        item = said[ids[name]]
        assert item.action == "skipped", item.message
        assert "deleted in ChannelOnline, still active in ConnectWise; not re-created" in item.message, item.message
        assert "import the company by its Company ID ACME1" in item.resolution, item.resolution
    # Their links stay (marked missing_in_host), so the export keeps reporting them; the next import leaves them out
    # again, saying nothing more of them: said once, by the first import after the delete (as a deletion the
    # mass-delete guard held back is said once, by the pass that held it).
    db.session.expire_all()
    assert sorted(status for (status,) in db.session.query(Link.status).filter(
        Link.entity == "contact", Link.cw_id.in_(list(ids.values())))) == ["missing_in_host"] * 3 + ["ok"]
    again = run("customer_import", {"mode": "all"})
    assert again.status == "succeeded", again.message
    assert _names(customer_id) == ["Ada"]
    assert not {i.cw_id for i in items(again, "contact")} & {ids["Charles"], ids["Grace"], ids["Alan"]}, [
        i.message for i in items(again, "contact")]
    assert "skipped" not in (again.counts or {}) and "created" not in (again.counts or {}), again.counts
    assert sorted(i.cw_id for i in items(export(customer_id), "contact") if i.action == "skipped") == sorted(
        ids[n] for n in ("Charles", "Grace", "Alan"))
    # The import of the company by its Company ID still brings them back.
    back = run("customer_import", {"company": "ACME1"})
    assert back.status == "succeeded", back.message
    assert _names(customer_id) == ["Ada", "Alan", "Charles", "Grace"]


def test_with_channelonline_the_master_an_import_before_the_export_leaves_them_out_too(sync_ready):
    """ChannelOnline the master: the next export marks them inactive in ConnectWise; an import run before it must not
    bring them back in the meantime."""
    customer_id, ids = _three_deleted_here(sync_ready, HOST_MASTER)
    done = run("customer_import", {"mode": "all"})
    assert _names(customer_id) == ["Ada"]
    assert {i.cw_id for i in items(done, "contact") if i.action == "skipped"} == {
        ids["Charles"], ids["Grace"], ids["Alan"]}
    retired = export(customer_id)
    assert retired.status == "succeeded", retired.message
    assert all(sync_ready.api("GET", f"company/contacts/{ids[n]}").json()["inactiveFlag"]
               for n in ("Charles", "Grace", "Alan"))


def test_the_import_of_the_company_by_its_company_id_brings_them_back(sync_ready):
    customer_id, ids = _three_deleted_here(sync_ready, CW_MASTER)
    done = run("customer_import", {"company": "ACME1"})
    assert done.status == "succeeded", done.message
    assert _names(customer_id) == ["Ada", "Alan", "Charles", "Grace"]
    said = {i.cw_id: i for i in items(done, "contact")}
    assert said[ids["Grace"]].action == "created"
    assert "created again (it had been deleted in ChannelOnline" in said[ids["Grace"]].message
    # Linked to the new host contacts: the export writes nothing for them (no second contact in ConnectWise).
    again = export(customer_id)
    assert again.status == "succeeded", again.message
    assert len(contacts_of(sync_ready, link_of("customer", customer_id).cw_id)) == 4
