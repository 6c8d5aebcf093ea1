"""The data layer on both SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from host_stub import services
from host_stub.extensions import db
from host_stub.migrate import pending_changes
from host_stub.models import Contact, Customer, Document, DocumentLine
from host_stub.seed import seed_demo


def test_seed_demo_builds_a_realistic_data_set(any_app):
    result = seed_demo(db.session, customers=60)
    assert result["customers"] == 60 and result["quotes"] == 40 and result["orders"] == 5
    canadian = db.session.execute(select(func.count()).where(Customer.country == "Canada")).scalar()
    assert canadian >= 8
    per_customer = db.session.execute(select(func.count(Contact.id)).group_by(Contact.customer_id)).scalars().all()
    assert min(per_customer) >= 2 and max(per_customer) <= 4
    line_counts = db.session.execute(select(func.count(DocumentLine.id)).join(Document)
                                     .where(Document.doc_type == "quote").group_by(Document.id)).scalars().all()
    assert min(line_counts) >= 3 and max(line_counts) <= 15
    kinds = set(db.session.execute(select(DocumentLine.product_type).distinct()).scalars())
    assert kinds == {"Product", "Service", "Labor"}
    orders = db.session.execute(select(Document).where(Document.doc_type == "order")).scalars().all()
    assert all(o.source_quote and o.source_quote.status == "converted" for o in orders)
    # Seeding twice adds nothing.
    assert seed_demo(db.session, customers=60) == {"skipped": True}


def test_customer_with_contacts_round_trips_non_ascii(any_app):
    c = services.save_customer({"account_number": "Q'1", "name": "L'Érablière \"Québec\""},
                               [{"first_name": "Zoé", "last_name": "O'Brien", "email": "z@x.ca"}])
    db.session.expire_all()
    again = db.session.get(Customer, c.id)
    assert again.name == "L'Érablière \"Québec\""
    assert again.contacts[0].last_name == "O'Brien" and again.contacts[0].is_default


def test_only_one_default_contact(any_app):
    c = services.save_customer({"account_number": "D1", "name": "Dup"},
                               [{"first_name": "A", "is_default": True}, {"first_name": "B", "is_default": True}])
    assert [x.is_default for x in c.contacts] == [True, False]


def test_document_lines_keep_identity_across_edits(any_app):
    c = services.save_customer({"account_number": "L1", "name": "Lines"}, [{"first_name": "A"}])
    q = services.save_document({"customer_id": c.id}, [{"item_number": "A", "price": 1},
                                                       {"item_number": "B", "price": 2}])
    a_id = q.lines[0].id
    services.save_document({}, [{"id": a_id, "item_number": "A", "quantity": 5, "price": 1},
                                {"item_number": "C", "price": 3}], document_id=q.id)
    db.session.expire_all()
    q = db.session.get(Document, q.id)
    assert [(ln.id == a_id, ln.item_number, int(ln.quantity)) for ln in q.lines] == [(True, "A", 5), (False, "C", 1)]


def test_migrations_match_the_models(any_app):
    assert pending_changes(any_app) == {"host_stub": [], "colcw": []}


def test_colcw_installs_into_an_existing_host_database_and_keeps_its_data(tmp_path):
    """A host that ran without colcw gains colcw's tables on its own history; host data is kept."""
    from sqlalchemy import inspect, text

    from helpers import make_test_app

    url = f"sqlite:///{tmp_path / 'existing.db'}"
    bare = make_test_app(url, plugins=[])
    with bare.app_context():
        seed_demo(db.session, customers=5, quotes=2)
        tables = set(inspect(db.engine).get_table_names())
        assert "customers" in tables and not any(t.startswith("colcw_") for t in tables)
        db.session.remove()

    import colcw_plugin.hooks

    with_colcw = make_test_app(url, plugins=[colcw_plugin.hooks])  # runs upgrade: host at head, colcw from zero
    with with_colcw.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"colcw_settings", "colcw_links", "colcw_sync_runs", "colcw_alembic_version"} <= tables
        assert db.session.execute(select(func.count(Customer.id))).scalar() == 5
        versions = {
            "host": db.session.execute(text("SELECT version_num FROM alembic_version")).scalar(),
            "colcw": db.session.execute(text("SELECT version_num FROM colcw_alembic_version")).scalar(),
        }
        assert versions == {"host": "host_0001", "colcw": "colcw_0012"}
        assert pending_changes(with_colcw) == {"host_stub": [], "colcw": []}
        db.session.remove()
