"""A customer Map customers' scan linked, whose values differ from its company's, says what comes of them by the
master for customer data: with ConnectWise the master the next live update or safety-net pass replaces them with
ConnectWise's; it said "… which Export to ConnectWise sends" whichever was the master, on the customer page and on All
Customers."""

from __future__ import annotations

from htmx_loads import loaded
from test_customer_scan_links_listed import _customer, _scan, _tenant

from colcw_plugin.models import CW_MASTER, HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers.list_status import row_states
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import CUSTOMER_EDITABLE, save_customer

EXPORT_SENDS = "which Export to ConnectWise sends"
CW_REPLACES = "ConnectWise is the master for customer data, so the next live update or safety-net pass replaces them"


def _scan_linked_then_edited(admin_client) -> Customer:
    """Sterling Dental, linked by the scan to a company whose values differ, then edited in ChannelOnline."""
    _scan(admin_client)
    sterling = _customer("H-STER")
    save_customer({**{f: getattr(sterling, f) for f in CUSTOMER_EDITABLE}, "city": "Meridian"},
                  customer_id=sterling.id)
    return sterling


def _status_line(admin_client, customer_id: int) -> str:
    page = loaded(admin_client, f"/customers/{customer_id}")
    status = page[page.index('id="colcw-link-status"'):]
    return " ".join(status[:status.index("</p>")].replace("&#39;", "'").split())


def test_with_connectwise_the_master_its_values_are_said_to_be_replaced(admin_client, connected):
    _tenant(connected)
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    sterling = _scan_linked_then_edited(admin_client)
    status = _status_line(admin_client, sterling.id)
    assert "Linked, not synced yet" in status and CW_REPLACES in status, status
    assert EXPORT_SENDS not in status
    reason = row_states(db.session, [sterling.id])[sterling.id].reason
    assert CW_REPLACES in reason and EXPORT_SENDS not in reason, reason


def test_with_channelonline_the_master_the_export_sends_them(admin_client, connected):
    _tenant(connected)
    assert get_live(db.session).customer_master == HOST_MASTER
    sterling = _scan_linked_then_edited(admin_client)
    status = _status_line(admin_client, sterling.id)
    assert EXPORT_SENDS in status and CW_REPLACES not in status, status
    assert EXPORT_SENDS in row_states(db.session, [sterling.id])[sterling.id].reason
