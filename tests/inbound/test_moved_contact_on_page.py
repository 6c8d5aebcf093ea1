"""The customer page says where a contact moved to another company in ConnectWise went, with the run's fix, and
offers no Clear link for it: QA saw "Linked contact (id 5) is gone from the company in ConnectWise." with Clear link,
whose confirm promised the next export would link or create the person, and the next export then created them again
under the old company (one person, two ConnectWise contacts). Clear link posted anyway is refused, the link kept."""

from __future__ import annotations

import re
from html import unescape

from htmx_loads import loaded
from test_moved_contact_not_recreated import _moved_in_cw, _run, _summit_with_grace

from colcw_plugin.models import get_link
from helpers import csrf_from
from host_stub.extensions import db


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_moved_contact_says_where_it_went_and_offers_no_clear_link(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    summit, _summit_company, grace_id, grace_cw = _summit_with_grace(sandbox)
    _moved_in_cw(sandbox, grace_cw, "HARBOR3", "Harbor Wharf", "512-555-0479")
    _run("cw_reconcile", {"mode": "changes"})  # the safety net reads the move
    assert get_link(db.session, "contact", grace_id).status == "missing_in_cw"

    page = loaded(rep_client, f"/customers/{summit.id}")
    table = page[page.index('id="colcw-contact-status"'):]
    table = table[:table.index("</table>")]
    row = _text(table)
    assert "Grace Brown (Summit Dental): moved in ConnectWise to Harbor Wharf (Company ID HARBOR3)" in row, row
    assert "exports of this customer will not create them again" in row
    assert "Link or import Harbor Wharf (Company ID HARBOR3) to follow them there, then delete them from Summit " \
           "Dental in ChannelOnline" in row, row
    assert "is gone from the company" not in row
    assert f'name="contact_id" value="{grace_id}"' not in table  # no Clear link for her
    assert "creates it" not in table

    # Clear link posted anyway (an old page): refused, saying why; her link stays.
    resp = rep_client.post(f"/colcw/customers/{summit.id}/clear-link",
                           data={"csrf_token": csrf_from(page), "contact_id": str(grace_id)})
    assert resp.status_code == 302
    said = _text(loaded(rep_client, f"/customers/{summit.id}"))
    assert "The ConnectWise link of Grace Brown was not cleared: ConnectWise has this person under Harbor Wharf " \
           "(Company ID HARBOR3)" in said, said
    db.session.expire_all()
    link = get_link(db.session, "contact", grace_id)
    assert link is not None and link.cw_id == grace_cw
