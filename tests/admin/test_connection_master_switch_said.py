"""Saving Live updates with another master for customer data says so in the flash: which side is the master now
(and which it was), and what that means from now on; saving without changing it says nothing of the master."""

from __future__ import annotations

import html

from colcw_plugin.models import CW_MASTER, HOST_MASTER
from colcw_plugin.setup.live_updates import read_live
from helpers import csrf_from
from host_stub.extensions import db

PAGE = "/admin/integration/connectwise/"


def _save(client, master: str) -> str:
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    resp = client.post(PAGE + "live-updates", data={"csrf_token": token, "public_base_url": "",
                                                     "customer_master": master}, follow_redirects=True)
    return " ".join(html.unescape(resp.get_data(as_text=True)).split())


def test_switching_the_master_is_confirmed_with_what_it_means(connected, admin_client):
    assert read_live(db.session).customer_master == HOST_MASTER
    shown = _save(admin_client, CW_MASTER)
    assert ("The master for customer data is now ConnectWise (it was ChannelOnline). From now on, edits to linked "
            "companies and contacts in ConnectWise are taken into the customers here, and ConnectWise's value wins a "
            "field changed on both sides. Live updates are off: nothing is taken from ConnectWise until you switch "
            "them on.") in shown, shown
    db.session.rollback()
    assert read_live(db.session).customer_master == CW_MASTER

    again = _save(admin_client, CW_MASTER)
    assert "The master for customer data is now" not in again

    back = _save(admin_client, HOST_MASTER)
    assert ("The master for customer data is now ChannelOnline (it was ConnectWise). From now on, edits made in "
            "ConnectWise to linked companies and contacts are not taken into the customers here: each is shown on its "
            "customer's page as not taken, for a rep to keep ChannelOnline's value or dismiss it, and imports never "
            "blank a field here.") in back
