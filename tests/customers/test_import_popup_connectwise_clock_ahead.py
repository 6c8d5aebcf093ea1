"""Import From ConnectWise over a customer linked to nothing asks before replacing a rep's edit saved after
ConnectWise last changed the company, also when ConnectWise's clock is ten minutes ahead of colcw's: the company's
``lastUpdated`` is set against the customer's save by ConnectWise's clock as its answers told it
(colcw_plugin/cw/server_clock.py). By the raw times, ConnectWise's change looked ten minutes newer than the rep's
edit, and the popup imported over it without a word."""

from __future__ import annotations

from customer_support import import_popup, text_of, update_customer
from test_import_cw_changes_not_asked import AURORA, _change_in_cw, _customer, demo  # noqa: F401 - the fixture

AHEAD = 600  # seconds


def test_a_rep_edit_after_a_change_in_a_connectwise_ahead_is_asked_about(demo, rep_client):  # noqa: F811
    demo.set_options(clock_offset_seconds=AHEAD)
    customer = _customer(AURORA)
    _change_in_cw(demo)  # stamped ten minutes ahead of colcw's clock
    update_customer(customer.id, phone="999-555-0000")  # saved after it

    html = text_of(import_popup(rep_client, company=AURORA))
    assert 'id="colcw-import-overwrite"' in html, html
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "<td>Company Phone</td><td>999-555-0000</td><td>303-555-0100</td>" in rows, rows
    assert _customer(AURORA).phone == "999-555-0000"  # nothing imported before the rep says so
