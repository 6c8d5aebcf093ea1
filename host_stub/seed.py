"""``seed-demo``: a realistic data set, written with bulk inserts so 10,000+ customers take seconds."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from . import demo_data as D
from .models import (
    Contact,
    Customer,
    CustomField,
    Document,
    DocumentFieldValue,
    DocumentLine,
    ProductCategory,
    StoreSite,
    User,
)

OPPORTUNITY_FIELD = "Opportunity Name"
BATCH = 2000


def _batched(rows: list, size: int = BATCH):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def seed_reference(session: Session) -> dict:
    """Store site, users, categories and the Opportunity Name custom field (idempotent)."""
    users = {}
    for first, last, email, role in D.USERS:
        user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, first_name=first, last_name=last, role=role)
            user.set_password(D.DEMO_PASSWORD)
            session.add(user)
        users[email] = user
    session.flush()
    store = session.execute(select(StoreSite).limit(1)).scalar_one_or_none()
    if store is None:
        store = StoreSite(name=D.STORE_NAME, default_rep_id=users[D.USERS[0][2]].id)
        session.add(store)
        session.flush()
    for user in users.values():
        user.store_site_id = store.id
    for cat, subs in D.CATEGORIES.items():
        parent = session.execute(select(ProductCategory).where(ProductCategory.name == cat,
                                                               ProductCategory.parent_id.is_(None))).scalar()
        if parent is None:
            parent = ProductCategory(name=cat)
            session.add(parent)
            session.flush()
        for sub in subs:
            if not session.execute(select(ProductCategory).where(ProductCategory.name == sub,
                                                                 ProductCategory.parent_id == parent.id)).scalar():
                session.add(ProductCategory(name=sub, parent_id=parent.id))
    field = session.execute(select(CustomField).where(CustomField.name == OPPORTUNITY_FIELD)).scalar()
    if field is None:
        field = CustomField(name=OPPORTUNITY_FIELD, position=0)
        session.add(field)
    session.flush()
    return {"store": store, "users": users, "field": field}


def seed_demo(session: Session, customers: int = 60, quotes: int | None = None, progress=None) -> dict:
    """Seed reference data, ``customers`` customers with 2-4 contacts, and quotes (some converted).

    Refuses to add customers to a database that already has some (returns ``{"skipped": True}``).
    """
    ref = seed_reference(session)
    if session.execute(select(func.count(Customer.id))).scalar():
        session.commit()
        return {"skipped": True}
    store, field = ref["store"], ref["field"]
    reps = [u for u in ref["users"].values() if u.role == "rep"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rng = random.Random(42)

    cust_ids: list[int] = []
    contact_ids: dict[int, list[int]] = {}
    for chunk in _batched(list(range(customers))):
        rows = []
        for i in chunk:
            created = now - dt.timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1440))
            updated = min(now, created + dt.timedelta(days=rng.randint(0, 60)))
            rows.append({**D.company(i), "store_site_id": store.id, "created_at": created, "updated_at": updated})
        ids = session.execute(insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows).scalars().all()
        cust_ids.extend(ids)
        contact_rows = []
        for i, cid in zip(chunk, ids, strict=True):
            for c in D.contacts(i):
                contact_rows.append({**c, "customer_id": cid, "created_at": now, "updated_at": now})
        cids = session.execute(insert(Contact).returning(Contact.id, Contact.customer_id, sort_by_parameter_order=True),
                               contact_rows).all()
        for contact_id, customer_id in cids:
            contact_ids.setdefault(customer_id, []).append(contact_id)
        if progress:
            progress(len(cust_ids), customers)

    n_quotes = quotes if quotes is not None else max(40, customers * 2 // 3) if customers > 60 else 40
    doc_rows, line_rows_by_doc, fv_rows_by_doc = [], [], []
    for q in range(n_quotes):
        cidx = rng.randrange(len(cust_ids))
        cid = cust_ids[cidx]
        created = now - dt.timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 1440))
        doc_rows.append({"doc_type": "quote", "number": f"Q{1001 + q}", "title": rng.choice(
            ["Network refresh", "New hires", "Server upgrade", "Office move", "Annual licensing", "Backup project"]),
            "customer_id": cid, "contact_id": contact_ids[cid][0], "sales_rep_id": rng.choice(reps).id,
            "locked": False, "status": "open", "follow_up_date": (created + dt.timedelta(days=14)).date(),
            "created_at": created, "updated_at": created})
        lines = []
        for pos, p in enumerate(rng.sample(D.PRODUCTS, rng.randint(3, min(15, len(D.PRODUCTS)))), start=1):
            lines.append({"position": pos, "item_number": p.item_number, "manufacturer": p.manufacturer,
                          "description": p.description, "quantity": Decimal(rng.randint(1, 20)),
                          "cost": Decimal(str(p.cost)), "price": Decimal(str(p.price)), "category": p.category,
                          "subcategory": p.subcategory, "product_type": p.product_type})
        line_rows_by_doc.append(lines)
        fv_rows_by_doc.append(f"{doc_rows[-1]['title']} {created:%Y}" if q % 3 == 0 else "")

    doc_ids: list[int] = []
    for chunk in _batched(doc_rows, 1000):
        doc_ids.extend(session.execute(insert(Document).returning(Document.id, sort_by_parameter_order=True),
                                       chunk).scalars().all())
    line_rows = [{**ln, "document_id": did} for did, lines in zip(doc_ids, line_rows_by_doc, strict=True) for ln in lines]
    for chunk in _batched(line_rows, 5000):
        session.execute(insert(DocumentLine), chunk)
    fv_rows = [{"document_id": did, "field_id": field.id, "value": v}
               for did, v in zip(doc_ids, fv_rows_by_doc, strict=True) if v]
    for chunk in _batched(fv_rows, 5000):
        session.execute(insert(DocumentFieldValue), chunk)

    # Convert about one quote in eight into a sales order (copy header and lines).
    orders = 0
    for n, (qid, qrow, lines) in enumerate(zip(doc_ids, doc_rows, line_rows_by_doc, strict=True)):
        if n % 8 != 7:
            continue
        orders += 1
        order_row = {**qrow, "doc_type": "order", "number": f"SO{1000 + orders}", "source_quote_id": qid}
        oid = session.execute(insert(Document).returning(Document.id), [order_row]).scalar_one()
        session.execute(insert(DocumentLine), [{**ln, "document_id": oid} for ln in lines])
        session.execute(Document.__table__.update().where(Document.id == qid).values(status="converted"))
    session.commit()
    return {"customers": len(cust_ids), "contacts": sum(len(v) for v in contact_ids.values()),
            "quotes": len(doc_ids), "orders": orders}
