"""Helpers for the live-update tests: switch Live updates on against a live host, wait for what comes
back, sign callbacks as ConnectWise does, and read the sandbox's request log."""

from __future__ import annotations

import html as html_lib
import json
import re
import sys
import time
import uuid
from pathlib import Path

from htmx_loads import loaded
from lock_support import waiting_for_a_lock  # noqa: F401 - re-exported for the lock-order tests
from sqlalchemy import select

from colcw_plugin.cw.callbacks import sign
from colcw_plugin.models import CW_MASTER, Link, RepMapping, SyncItem, SyncRun, get_link
from colcw_plugin.setup.live_updates import LiveInput, callback_url, get_live
from colcw_plugin.sync.inbound.switch import apply_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer, DocumentExternalStatus, StoreSite

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quotes"))
from quote_support import QuoteWorld, line, make_world  # noqa: E402, F401 - re-exported for the tests


def enable(public_url: str, master: str = CW_MASTER, *, check=None) -> list[tuple[str, str]]:
    """Switch Live updates on as an admin would (commits)."""
    rt = runtime()
    kwargs = {"check": check} if check is not None else {}
    return apply_live(db.session, rt.box, rt.client, LiveInput(True, public_url, master), "tests", **kwargs)


def disable() -> list[tuple[str, str]]:
    rt = runtime()
    live = get_live(db.session)
    return apply_live(db.session, rt.box, rt.client, LiveInput(False, live.public_base_url, live.customer_master),
                      "tests")


def the_callback_url() -> str:
    return callback_url(get_live(db.session), runtime().box)


def wait_for(predicate, timeout: float = 20.0, what: str = "the change to come back"):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        db.session.expire_all()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def settle(sandbox, timeout: float = 30.0) -> None:
    """Every run finished, every callback delivered, and the runs those callbacks started finished."""
    def idle():
        return not db.session.execute(select(SyncRun.id).where(SyncRun.status.in_(("queued", "running")))).first()

    wait_for(idle, timeout, "runs to finish")
    sandbox.wait_for_deliveries(timeout=timeout)
    wait_for(idle, timeout, "live-update runs to finish")


def message(sandbox, ctype: str, record_id: int, action: str = "updated", member: str = "admin1",
            key_url: str | None = None) -> bytes:
    """A callback body as ConnectWise sends it (the Entity is a stale, unimportant copy)."""
    key_url = key_url or sandbox.signing_key()["key_url"]
    return json.dumps({"MessageId": str(uuid.uuid4()), "FromUrl": "127.0.0.1", "CompanyId": sandbox.company_id,
                       "MemberId": member, "Action": action, "Type": ctype, "ID": record_id,
                       "ProductInstanceId": None, "PartnerId": None, "Entity": json.dumps({"id": record_id}),
                       "Metadata": {"key_url": key_url}}).encode()


def signed_headers(body: bytes, signing_key: str) -> dict:
    return {"Content-Type": "application/json", "x-content-signature": sign(body, signing_key)}


def run_items(kind: str) -> list[SyncItem]:
    runs = select(SyncRun.id).where(SyncRun.kind == kind)
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id.in_(runs)).order_by(SyncItem.id)).scalars())


def record_reads(sandbox, path: str) -> list[dict]:
    """GET requests the sandbox served for records of ``path`` (by id or by ``id in (...)``)."""
    return [r for r in sandbox.requests() if r["method"] == "GET" and r["path"].rstrip("/").endswith(path)
            or (r["method"] == "GET" and f"{path}/" in r["path"] and r["path"].rsplit("/", 1)[-1].isdigit())]


def export_customer(sandbox, **fields):
    """A host customer with two contacts, exported to ConnectWise (links and agreed values recorded).
    Returns (customer, company id, {contact first name: ConnectWise contact id})."""
    if not db.session.execute(select(RepMapping)).first():
        member = next(m for m in sandbox.api("GET", "system/members").json() if m["identifier"] == "admin1")
        store = db.session.execute(select(StoreSite)).scalars().first()
        db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
        db.session.commit()
    data = {"name": "Acme Corp", "account_number": "ACME1", "active": True, "address1": "1 Main St",
            "city": "Austin", "state": "TX", "zip": "73301", "country": "United States", "phone": "512-555-0100",
            "location_code": "", **fields}
    customer = services.save_customer(data, [
        {"first_name": "Ada", "last_name": "Lovelace", "title": "CFO", "email": "ada@acme.example",
         "work_phone": "512-555-0110", "is_default": True},
        {"first_name": "Charles", "last_name": "Babbage", "title": "CTO", "email": "charles@acme.example"}])
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    company = get_link(db.session, "customer", customer.id).cw_id
    contacts = {c.first_name: get_link(db.session, "contact", c.id).cw_id for c in customer.contacts}
    return customer, company, contacts


def watched_quote(sandbox, box, base_url: str, page, name: str) -> tuple[QuoteWorld, object, dict]:
    """A quote exported to a new opportunity, live updates on (the host the master), and a rep watching its page
    with a marker that a reload would lose (``window.__colcwNoReload``); (the world, the quote, its opportunity)."""
    from colcw_plugin.models import HOST_MASTER
    from helpers import browser_sign_in

    sandbox.set_callback_settings(retry_delays=[0.2, 0.4])
    world = make_world(sandbox, box)
    quote = world.quote([line("OPT-7010", qty=2)], name=name)
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(base_url, HOST_MASTER)
    settle(sandbox)
    browser_sign_in(page, base_url, "riley@demo.example")
    page.goto(f"{base_url}/documents/{quote.id}")
    page.locator("#colcw-export-state").wait_for()  # the panel has loaded (after the page)
    return world, quote, opp


def cw_status(doc_id: int) -> DocumentExternalStatus | None:
    """What the document's page shows of its opportunity (its ConnectWise external status), if anything."""
    return db.session.execute(select(DocumentExternalStatus).where(
        DocumentExternalStatus.document_id == doc_id, DocumentExternalStatus.source == "ConnectWise")).scalar()


def cw_labels(*docs) -> list[str]:
    """The documents' ConnectWise status labels as the database holds them now ("" for none)."""
    db.session.rollback()
    db.session.expire_all()
    return [(s.label if (s := cw_status(d.id)) else "") for d in docs]


def edit_host(customer_id: int, contacts: dict | None = None, **fields) -> None:
    """The rep saves the customer's edit page (the form sends every contact; ``contacts``: changes by first name)."""
    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}, **(contacts or {}).get(c.first_name, {})}
            for c in customer.contacts]
    services.save_customer({**data, **fields}, rows, customer_id=customer_id)


def shown(app, customer: Customer) -> tuple[str, bool]:
    """All Customers' ConnectWise cell for the customer, and whether its page says "Changed since export", to a rep."""
    with app.app_context():  # a request context of its own for each sign-in (Flask-Login keeps the user in g)
        return _seen(sign_in(app.test_client(), "riley@demo.example"), customer)


def _seen(client, customer: Customer) -> tuple[str, bool]:
    listing = loaded(client, "/customers/")
    row = re.search(rf'<tr data-row="{customer.id}">(.*?)</tr>', listing, re.S).group(1)
    cell = re.search(r'<td data-column="colcw">\s*<span class="tag tone-\w+" title="[^"]*">([^<]*)</span>', row)
    page = loaded(client, f"/customers/{customer.id}")
    return html_lib.unescape(cell.group(1)), 'id="colcw-changed"' in page


def contacts_linked_first(customer: Customer) -> dict[str, int]:
    """Make the customer's contacts' links again before its own (the same rows, new ids: the contacts' lower), as a
    customer whose contacts were linked before it is; the links' ids by contact first name ("" for the customer).
    The lock-order tests: a writer locking the customer's link before its contacts' meets one locking by id."""
    keys = [("contact", c.id, c.first_name) for c in customer.contacts] + [("customer", customer.id, "")]
    rows = []
    for entity, host_id, _ in keys:
        link = get_link(db.session, entity, host_id)
        rows.append({c.key: getattr(link, c.key) for c in Link.__table__.columns if c.key != "id"})
        db.session.delete(link)
    db.session.flush()
    for row in rows:
        db.session.add(Link(**row))
        db.session.flush()
    db.session.commit()
    ids = {name: get_link(db.session, entity, host_id).id for entity, host_id, name in keys}
    assert max(v for k, v in ids.items() if k) < ids[""]
    return ids
