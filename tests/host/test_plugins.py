"""The plugin contract: discovery, guarded hooks, hookspec validation."""

from __future__ import annotations

import logging

import pluggy
import pytest
from sqlalchemy import select

from helpers import csrf_from, make_test_app, sign_in
from host_stub.hookspecs import hookimpl
from host_stub.plugins import make_plugin_manager


def test_colcw_is_found_through_its_entry_point():
    pm = make_plugin_manager(None)
    names = {name for name, _ in pm.list_name_plugin()}
    assert "colcw" in names
    import colcw_plugin.hooks

    assert pm.get_plugin("colcw") is colcw_plugin.hooks


def test_misspelt_hookimpl_is_refused_at_start():
    class Misspelt:
        @hookimpl
        def customer_view_rendr(self, customer, actor, request):  # typo: no such hook
            return None

    with pytest.raises(pluggy.PluginValidationError):
        make_plugin_manager([Misspelt()])


def test_hookimpl_with_wrong_arguments_is_refused():
    class WrongArgs:
        @hookimpl
        def customer_saved(self, customer, created, actor, extra):
            return None

    with pytest.raises(pluggy.PluginValidationError):
        make_plugin_manager([WrongArgs()])


class Exploding:
    """A plugin that raises in every hook."""

    calls: list[str] = []

    def _boom(self, name):
        Exploding.calls.append(name)
        raise RuntimeError(f"boom in {name}")

    @hookimpl
    def host_init_app(self, app):
        self._boom("host_init_app")

    @hookimpl
    def host_migrations(self):
        self._boom("host_migrations")

    @hookimpl
    def admin_menu(self, actor, request):
        self._boom("admin_menu")

    @hookimpl
    def customers_list_actions(self, actor, request):
        self._boom("customers_list_actions")

    @hookimpl
    def customers_list_render(self, actor, request):
        self._boom("customers_list_render")

    @hookimpl
    def customer_view_actions(self, customer, actor, request):
        self._boom("customer_view_actions")

    @hookimpl
    def customer_view_render(self, customer, actor, request):
        self._boom("customer_view_render")

    @hookimpl
    def document_view_actions(self, document, actor, request):
        self._boom("document_view_actions")

    @hookimpl
    def document_view_render(self, document, actor, request):
        self._boom("document_view_render")

    @hookimpl
    def customer_saved(self, customer, created, actor):
        self._boom("customer_saved")

    @hookimpl
    def quote_saved(self, document, created, actor):
        self._boom("quote_saved")

    @hookimpl
    def quote_converted(self, quote, order, actor):
        self._boom("quote_converted")


class Friendly:
    @hookimpl
    def customer_view_actions(self, customer, actor, request):
        return [{"href": "/friendly", "label": "Friendly link"}]


def test_a_plugin_raising_in_every_hook_breaks_no_page_and_no_save(tmp_path, caplog):
    import colcw_plugin.hooks
    from host_stub.extensions import db
    from host_stub.models import Customer, Document
    from host_stub.seed import seed_demo

    Exploding.calls.clear()
    app = make_test_app(f"sqlite:///{tmp_path / 'x.db'}", plugins=[Exploding(), Friendly(), colcw_plugin.hooks])
    with app.app_context():
        seed_demo(db.session, customers=3, quotes=2)
        customer = db.session.execute(select(Customer)).scalars().first()
        quote = db.session.execute(select(Document).where(Document.doc_type == "quote")).scalars().first()
        cid, qid = customer.id, quote.id
    client = app.test_client()
    caplog.set_level(logging.ERROR)
    sign_in(client, "admin@demo.example")
    for path in ["/customers/", f"/customers/{cid}", f"/documents/{qid}", "/admin/", "/quotes/",
                 f"/customers/{cid}/edit", f"/documents/{qid}/edit"]:
        resp = client.get(path)
        assert resp.status_code == 200, path
    # The other plugins' links still render next to the broken one.
    body = client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "Friendly link" in body and "Export to ConnectWise" in body

    # Saves commit although every event handler raises.
    page = client.get(f"/customers/{cid}/edit").get_data(as_text=True)
    resp = client.post(f"/customers/{cid}/edit", data={"csrf_token": csrf_from(page), "account_number": "ACC-1",
                                                       "name": "Renamed Ltd", "active": "1"})
    assert resp.status_code == 302
    page = client.get(f"/documents/{qid}/edit").get_data(as_text=True)
    resp = client.post(f"/documents/{qid}/edit", data={
        "csrf_token": csrf_from(page), "customer_id": str(cid), "title": "Edited",
        "lines-0-item_number": "X-1", "lines-0-quantity": "2", "lines-0-price": "10", "lines-0-product_type": "Product"})
    assert resp.status_code == 302
    resp = client.post(f"/documents/{qid}/convert", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Customer, cid).name == "Renamed Ltd"
        assert db.session.get(Document, qid).title == "Edited"
        assert db.session.get(Document, qid).status == "converted"
    for hook in ["admin_menu", "customers_list_actions", "customer_view_actions", "customer_view_render",
                 "document_view_actions", "document_view_render", "customer_saved", "quote_saved", "quote_converted",
                 "host_init_app", "host_migrations"]:
        assert hook in Exploding.calls, hook
    assert any("boom in customer_saved" in r.getMessage() or "customer_saved" in r.getMessage()
               for r in caplog.records)


def test_host_without_plugins_works(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'bare.db'}", plugins=[])
    from host_stub.extensions import db
    from host_stub.seed import seed_demo

    with app.app_context():
        seed_demo(db.session, customers=2, quotes=1)
    client = app.test_client()
    sign_in(client, "admin@demo.example")
    body = client.get("/customers/").get_data(as_text=True)
    assert "Import From ConnectWise" not in body
    assert "No integration is installed" in client.get("/admin/").get_data(as_text=True)
    with app.app_context():
        tables = set(db.metadata.tables)
    assert not any(t.startswith("colcw_") for t in _db_tables(app))
    assert "customers" in tables


def _db_tables(app):
    from sqlalchemy import inspect

    from host_stub.extensions import db

    with app.app_context():
        return inspect(db.engine).get_table_names()


def test_events_fire_after_commit_with_snapshots(tmp_path):
    seen = []

    class Recorder:
        @hookimpl
        def customer_saved(self, customer, created, actor):
            from host_stub.extensions import db
            from host_stub.models import Customer

            # The row is committed: a fresh session sees it.
            with db.engine.connect() as conn:
                row = conn.execute(select(Customer.name).where(Customer.id == customer["id"])).scalar()
            seen.append(("customer_saved", customer["name"], created, row, actor))

        @hookimpl
        def quote_saved(self, document, created, actor):
            seen.append(("quote_saved", document["number"], created, len(document["lines"])))

        @hookimpl
        def quote_converted(self, quote, order, actor):
            seen.append(("quote_converted", quote["number"], order["source_quote_id"] == quote["id"]))

    app = make_test_app(f"sqlite:///{tmp_path / 'ev.db'}", plugins=[Recorder()])
    from host_stub import services
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    with app.app_context():
        seed_reference(db.session)
        db.session.commit()
        c = services.save_customer({"account_number": "A1", "name": "Acme"}, [{"first_name": "Ann"}],
                                   actor={"id": 1, "role": "rep"})
        q = services.save_document({"customer_id": c.id}, [{"item_number": "P1", "quantity": 1, "price": 5}])
        number = q.number
        services.convert_quote(q.id)
    assert seen[0] == ("customer_saved", "Acme", True, "Acme", {"id": 1, "role": "rep"})
    assert seen[1] == ("quote_saved", number, True, 1)
    assert seen[2] == ("quote_converted", number, True)


def test_nothing_is_saved_when_a_field_is_invalid(app):
    from host_stub import services
    from host_stub.extensions import db
    from host_stub.models import Customer

    with pytest.raises(services.ValidationError) as e:
        services.save_customer({"account_number": "", "name": "No Number"}, [{"first_name": "Ann"}])
    assert "account_number" in e.value.errors
    db.session.rollback()
    assert db.session.execute(select(Customer)).first() is None


def test_hooks_are_called_through_pluggy_with_its_order_and_wrappers_and_each_impl_guarded(caplog):
    from host_stub.plugins import call_hook

    class First:
        @hookimpl(tryfirst=True)
        def admin_menu(self, actor, request):
            return [{"href": "/first", "label": "First"}]

    class Broken:
        @hookimpl
        def admin_menu(self, actor, request):
            raise RuntimeError("boom")

    class Later:
        @hookimpl
        def admin_menu(self, actor, request):
            return [{"href": "/later", "label": "Later"}]

    class Wrapper:
        @hookimpl(wrapper=True)
        def admin_menu(self, actor, request):
            results = yield
            return [*results, [{"href": "/wrapped", "label": "Wrapped"}]]

    pm = make_plugin_manager([Later(), Broken(), First(), Wrapper()])
    with caplog.at_level(logging.ERROR):
        results = call_hook(pm, "admin_menu", actor={"role": "admin"}, request=None)
    assert [r[0]["href"] for r in results] == ["/first", "/later", "/wrapped"]
    assert "failed in hook admin_menu" in caplog.text
