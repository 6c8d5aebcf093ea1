"""The host's bulk save on PostgreSQL draws a page's new customers' ids, their new contacts' ids and reads the default
store in one statement (host_stub/bulk.py ``_draw_ids``; issue 14), where it sent three: each customer lands in the
default store with its contacts in the given order, and a contact added to an existing customer on the same page too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import recorded_statements
from host_stub.bulk import CustomerWrite
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer, StoreSite
from host_stub.seed import seed_reference

pytestmark = [pytest.mark.postgres]


def _write(n: int, contacts: int, customer_id: int | None = None) -> CustomerWrite:
    return CustomerWrite({"account_number": f"D{n:03d}", "name": f"Drawn {n}"},
                         [{"first_name": f"F{n}-{i}", "last_name": "L", "is_default": i == 1} for i in range(contacts)],
                         customer_id=customer_id)


def test_a_page_of_new_customers_draws_its_ids_and_reads_the_store_in_one_statement(app):
    seed_reference(db.session)
    uow = UnitOfWork(db.session)
    existing = uow.save_customers([_write(0, 1)])[0].id
    uow.commit()
    store = db.session.execute(select(StoreSite.id).order_by(StoreSite.id)).scalar()
    assert store is not None

    with recorded_statements(db.engine) as seen:
        saved = uow.save_customers([_write(1, 3), _write(2, 0), _write(0, 1, customer_id=existing), _write(3, 2)])
    uow.commit()

    drawing = [st for st in seen if "nextval" in st or "store_sites" in st]
    assert len(drawing) == 1 and "nextval" in drawing[0] and "store_sites" in drawing[0], drawing
    db.session.expire_all()
    assert [s.created for s in saved] == [True, True, False, True]
    for n, s in zip((1, 2, 3), (saved[0], saved[1], saved[3]), strict=True):
        customer = db.session.get(Customer, s.id)
        assert (customer.account_number, customer.store_site_id) == (f"D{n:03d}", store)
    for s in saved:
        rows = db.session.execute(select(Contact.id, Contact.first_name, Contact.is_default)
                                  .where(Contact.customer_id == s.id).order_by(Contact.id)).all()
        assert [r.id for r in rows if r.id in s.contact_ids] == s.contact_ids  # (in the given order)
        assert sum(r.is_default for r in rows) == (1 if rows else 0)
    assert [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == saved[0].id).order_by(Contact.id)).scalars()] == ["F1-0", "F1-1", "F1-2"]
    # The existing customer's new contact joined the one it had (its own id, after the page's new customers' contacts
    # were drawn in the same statement).
    assert [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == existing).order_by(Contact.id)).scalars()] == ["F0-0", "F0-0"]
    ids = [i for s in saved for i in s.contact_ids]
    assert len(ids) == len(set(ids)) == 6
