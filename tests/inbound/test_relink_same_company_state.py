"""Link to Company ID naming the company the customer is linked to already changes nothing: the flash says it was
already linked, and the customer keeps its state: All Customers still says ConnectWise differs (not "Linked, not
synced yet"), its page still says when it was last synced (not "linked on this page …; not synced since"), and its
latest result, its agreement and its contacts' links are what they were. ChannelOnline the master, against the
sandbox."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import shown
from sqlalchemy import func, select
from test_relink_clears_old_notes import _noted, _notes, _relink, _text

from colcw_plugin.models import SyncItem, get_link
from host_stub.extensions import db

DIFFERS = "Synced — ConnectWise differs (not taken)"


def _state(customer) -> tuple:
    db.session.rollback()
    db.session.expire_all()
    link = get_link(db.session, "customer", customer.id)
    contacts = sorted((c.id, get_link(db.session, "contact", c.id).cw_id) for c in customer.contacts)
    latest = db.session.execute(select(func.max(SyncItem.id)).where(SyncItem.entity.in_(("customer", "contact")),
                                                                     SyncItem.host_id.in_(
                                                                         [customer.id, *[c for c, _ in contacts]]))
                                ).scalar()
    return (link.cw_id, link.synced_at, link.linked_at, link.fingerprint, dict(link.synced_values), contacts, latest)


def test_linking_to_the_company_it_is_linked_to_leaves_the_customer_as_it_was(app, fast_callbacks, rep_client):
    customer, company = _noted(fast_callbacks, "RSS1", rename=False)
    assert shown(app, customer)[0] == DIFFERS
    before, notes = _state(customer), _notes(customer.id)
    panel = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "last synced" in panel and "not synced since" not in panel

    flashed = _relink(rep_client, customer.id, "RSS1")

    assert "Relink Dental RSS1 (RSS1) is already linked to ConnectWise company RSS1 (Relink Dental RSS1): nothing " \
        "was changed." in _text(flashed), _text(flashed)
    assert _state(customer) == before
    assert _notes(customer.id) == notes
    assert shown(app, customer)[0] == DIFFERS
    panel = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "last synced" in panel and "not synced since" not in panel and "Linked, not synced yet" not in panel
