"""The host's bulk path (UnitOfWork.save_customers, host_stub/bulk.py) on SQLite and PostgreSQL: the
same rules as save_customer, per customer, in a number of statements that does not grow with the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import recorded_statements
from host_stub.bulk import CustomerWrite
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.hookspecs import hookimpl
from host_stub.models import Contact, Customer, StoreSite
from host_stub.plugins import make_plugin_manager
from host_stub.seed import seed_reference

pytestmark = [pytest.mark.postgres]


def _customer(n: int, contacts: int = 2, **extra) -> CustomerWrite:
    return CustomerWrite({"account_number": f"B{n:04d}", "name": f"Bulk Co {n}", "city": "Austin", **extra},
                         [{"first_name": f"First{n}-{i}", "last_name": "Last", "email": f"c{n}-{i}@b.example"}
                          for i in range(contacts)])


def _contacts(customer_id: int) -> list[Contact]:
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id)).scalars().all()


def test_a_page_of_new_customers_lands_with_their_contacts_in_the_given_order(any_app):
    uow = UnitOfWork(db.session)
    saved = uow.save_customers([_customer(1, 3), _customer(2, 0), _customer(3, 1)])
    uow.commit()
    db.session.expire_all()
    assert [s.saved and s.created for s in saved] == [True, True, True]
    store = db.session.execute(select(StoreSite.id).order_by(StoreSite.id)).scalar()
    for n, s in zip((1, 2, 3), saved, strict=True):
        row = db.session.get(Customer, s.id)
        assert (row.account_number, row.name, row.city, row.active, row.store_site_id) == \
            (f"B{n:04d}", f"Bulk Co {n}", "Austin", True, store)
        assert row.created_at is not None and row.address1 == ""
        contacts = _contacts(s.id)
        assert [c.id for c in contacts] == s.contact_ids
        assert [c.email for c in contacts] == [f"c{n}-{i}@b.example" for i in range(len(contacts))]
    # One default contact per customer that has contacts: the first, when none was marked.
    assert [c.is_default for c in _contacts(saved[0].id)] == [True, False, False]


def test_an_invalid_customer_is_reported_and_the_rest_of_the_page_is_saved(any_app):
    uow = UnitOfWork(db.session)
    first = uow.save_customers([_customer(7, 1)])
    uow.commit()
    saved = uow.save_customers([
        _customer(1, 1),
        CustomerWrite({"account_number": "B0002", "name": "N" * 101}, [{"first_name": "A"}]),  # name too long
        _customer(3, 1, account_number="B0007"),                        # taken in the database
        _customer(4, 1), _customer(5, 1, account_number="B0004"),        # two of the page claim one number
        CustomerWrite({"name": "No number"}),                            # required field missing
        CustomerWrite({"city": "Gone"}, customer_id=99999),              # no longer exists
        CustomerWrite({"account_number": "B0008", "name": "Nameless contact"}, [{"email": "x@b.example"}]),
    ])
    uow.commit()
    assert [s.saved for s in saved] == [True, False, False, True, False, False, False, False]
    assert "at most 100 characters" in saved[1].errors["name"]
    # Each names the customer holding the number, in the database or earlier in the page.
    assert saved[2].errors["account_number"] == "Account number B0007 is already used by another customer (Bulk Co 7)."
    assert saved[4].errors["account_number"] == "Account number B0004 is already used by another customer (Bulk Co 4)."
    assert "Enter an account number" in saved[5].errors["account_number"]
    assert saved[6].errors == {"id": "Customer 99999 no longer exists."}
    assert "enter a first or last name" in saved[7].errors["contacts[0].first_name"]
    numbers = db.session.execute(select(Customer.account_number).order_by(Customer.account_number)).scalars().all()
    assert numbers == ["B0001", "B0004", "B0007"]
    assert db.session.execute(select(Contact).where(Contact.customer_id == first[0].id)).scalars().all()
    assert db.session.query(Contact).count() == 3


def test_updates_change_given_fields_and_contacts_and_keep_one_default(any_app):
    uow = UnitOfWork(db.session)
    [a, b] = uow.save_customers([_customer(1, 2), _customer(2, 1)])
    uow.commit()
    a_contacts = a.contact_ids
    saved = uow.save_customers([
        # the second contact becomes the default (the first is demoted), one contact added, city changed
        CustomerWrite({"city": "Dallas"}, [{"id": a_contacts[0], "is_default": False},
                                            {"id": a_contacts[1], "is_default": True, "title": "Boss"},
                                            {"first_name": "New", "last_name": "One"}], customer_id=a.id),
        # another customer's contact id is not this customer's: it is added as a new contact
        CustomerWrite({"name": "Renamed"}, [{"id": a_contacts[0], "first_name": "Stray"}], customer_id=b.id),
    ])
    uow.commit()
    db.session.expire_all()
    assert [s.created for s in saved] == [False, False]
    row = db.session.get(Customer, a.id)
    assert (row.city, row.name, row.account_number) == ("Dallas", "Bulk Co 1", "B0001")
    contacts = _contacts(a.id)
    assert [(c.first_name, c.title, c.is_default) for c in contacts] == [
        ("First1-0", "", False), ("First1-1", "Boss", True), ("New", "", False)]
    assert saved[0].contact_ids == [c.id for c in contacts]
    b_contacts = _contacts(b.id)
    assert db.session.get(Customer, b.id).name == "Renamed"
    assert [c.first_name for c in b_contacts] == ["First2-0", "Stray"] and saved[1].contact_ids == [b_contacts[1].id]
    assert sum(c.is_default for c in b_contacts) == 1


def _statements(write) -> int:
    with recorded_statements(db.engine) as seen:
        write()
    return len(seen)


def test_the_number_of_statements_does_not_grow_with_the_page(app):
    """On PostgreSQL (production). SQLite's driver sends an INSERT … RETURNING row by row, in process."""
    seed_reference(db.session)
    db.session.commit()
    uow = UnitOfWork(db.session)

    def page(start: int, size: int):
        def write():
            saved = uow.save_customers([_customer(n, 3) for n in range(start, start + size)])
            assert all(s.saved for s in saved)
            uow.commit()
        return write

    small, large = _statements(page(0, 3)), _statements(page(100, 300))
    assert small == large <= 8, (small, large)
    assert db.session.query(Contact).count() == 3 * 303
    # Updating a page: the same whatever its size, too.
    ids = db.session.execute(select(Customer.id).order_by(Customer.id)).scalars().all()

    def update(chosen):
        def write():
            uow.save_customers([CustomerWrite({"city": "Reno"}, [{"first_name": "Added"}], customer_id=i)
                                for i in chosen])
            uow.commit()
        return write

    assert _statements(update(ids[:3])) == _statements(update(ids[3:])) <= 8


class _Listener:
    def __init__(self):
        self.seen: list[tuple[str, bool, list[str]]] = []

    @hookimpl
    def customer_saved(self, customer, created, actor):
        self.seen.append((customer["account_number"], created, [c["first_name"] for c in customer["contacts"]],
                          customer["city"], actor))


def test_events_fire_once_per_saved_customer_after_the_commit_only(any_app):
    pm = make_plugin_manager([])
    listener = _Listener()
    pm.register(listener)
    uow = UnitOfWork(db.session, pm)
    actor = {"system": "bulk-test"}
    uow.save_customers([_customer(1, 2), CustomerWrite({"name": "No number"}), _customer(2, 0)], actor=actor)
    assert listener.seen == []  # nothing before the commit
    uow.commit()
    assert listener.seen == [("B0001", True, ["First1-0", "First1-1"], "Austin", actor),
                             ("B0002", True, [], "Austin", actor)]
    listener.seen.clear()
    uow.save_customers([_customer(3, 1)])
    uow.rollback()  # rolled back: no event, no customer
    uow.commit()
    assert listener.seen == [] and db.session.query(Customer).count() == 2


def test_insert_rows_fills_what_a_row_leaves_out_with_its_default_and_returns_ids_in_order(any_app):
    from colcw_plugin.models import Link
    from host_stub.bulk import insert_rows

    rows = [{"entity": "customer", "host_id": 1, "cw_id": 11, "synced_values": {"name": "Åsa & Co", "n": [1, 2]}},
            {"entity": "contact", "host_id": 2, "cw_id": 12, "status": "missing_in_cw", "cw_identifier": "X"},
            {"entity": "customer", "host_id": 3, "cw_id": 13, "synced_values": None, "fingerprint": "f" * 64}]
    ids = insert_rows(db.session, Link.__table__, rows)
    db.session.commit()
    got = {link.id: link for link in db.session.execute(select(Link)).scalars()}
    assert sorted(got) == sorted(ids) and len(set(ids)) == 3
    first, second, third = (got[i] for i in ids)
    assert (first.cw_id, first.synced_values, first.status, first.cw_identifier, first.fingerprint) == \
        (11, {"name": "Åsa & Co", "n": [1, 2]}, "ok", "", "")
    assert (second.cw_id, second.status, second.cw_identifier, second.synced_values) == \
        (12, "missing_in_cw", "X", None)
    assert (third.cw_id, third.fingerprint, third.synced_values) == (13, "f" * 64, None)
    assert all(link.linked_at is not None and link.synced_at is not None for link in got.values())
    assert insert_rows(db.session, Link.__table__, [{"entity": "customer", "host_id": 4, "cw_id": 14}], ids=False) == []
    db.session.commit()
    assert db.session.execute(select(Link.status).where(Link.cw_id == 14)).scalar_one() == "ok"


def test_insert_rows_writes_each_timestamp_as_given_to_the_microsecond(any_app):
    """The COPY path writes a page's shared timestamps once as text: every row still gets its own value,
    microseconds included, and a time given with its zone keeps the zone's meaning."""
    import datetime as dt

    from colcw_plugin.models import Link
    from host_stub.bulk import insert_rows

    shared = dt.datetime(2026, 12, 3, 10, 11, 12, 345678)
    other = dt.datetime(2025, 1, 2, 3, 4, 5)
    # An aware time equal to the same instant as `shared` in UTC, written in another zone: the column has no
    # zone, so what is stored is the wall time given (as the driver writes it), not the shared row's text.
    zoned = dt.datetime(2026, 12, 3, 5, 11, 12, 345678, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    rows = [{"entity": "customer", "host_id": n, "cw_id": 100 + n, "synced_at": at, "linked_at": shared}
            for n, at in enumerate([shared, other, shared, zoned], start=1)]
    ids = insert_rows(db.session, Link.__table__, rows)
    db.session.commit()
    got = dict(db.session.execute(select(Link.id, Link.synced_at)).all())
    assert [got[i] for i in ids] == [shared, other, shared, zoned.replace(tzinfo=None)]
    assert set(db.session.execute(select(Link.linked_at)).scalars()) == {shared}
