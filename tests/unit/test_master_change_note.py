"""What the Connection page (and ``colcw live-updates``) says after the master for customer data changed."""

from __future__ import annotations

from colcw_plugin.models import CW_MASTER, HOST_MASTER
from colcw_plugin.sync.inbound.master import Redecided


def test_the_note_says_when_connectwises_values_come_in():
    two = Redecided(CW_MASTER, rows=3, customers=2, records=3)
    assert two.message(queued=True, run_id=41) == (
        "ConnectWise is now the master for customer data: the 3 differences shown on 2 customer pages are read again "
        "from ConnectWise now (live-update run #41), and its values taken into ChannelOnline.")
    assert "now (by the live-update run queued)" in two.message(queued=True)
    assert "by the next live-update run (the safety net's pass, every 15 minutes by default)" in two.message()
    assert "once Live updates are switched on" in two.message(live_on=False)
    assert "the 1 difference shown on 1 customer page is read again" in Redecided(CW_MASTER, 1, 1, 1).message()


def test_nothing_to_say_without_differences_and_channelonline_says_what_went():
    assert Redecided(CW_MASTER).message() == "" and Redecided(HOST_MASTER).message() == ""
    assert Redecided(HOST_MASTER, rows=2, customers=1).message() == (
        "ChannelOnline is now the master for customer data: the 2 differences shown on 1 customer page where "
        "ConnectWise's value was taken no longer show (both sides hold that value now).")
