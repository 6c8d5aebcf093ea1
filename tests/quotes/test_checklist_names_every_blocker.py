"""When several checks fail, the export page names every one beside the disabled Export now (and a post anyway is
refused naming them all), not only the first: the rep would fix it, come back and meet the next."""

from __future__ import annotations

import html
import re

from quote_support import line
from sqlalchemy import select

from colcw_plugin import models as links
from colcw_plugin.models import SyncRun
from helpers import csrf_from
from host_stub.extensions import db


def test_export_now_names_every_failing_check(world, rep_client):
    links.remove_link(db.session, "customer", world.customer_id)
    db.session.commit()
    doc = world.quote([line("OPT-7010"), line("XX-1", manufacturer="Nobody Inc")])
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    text = html.unescape(page)
    assert re.search(r'<button type="submit" id="colcw-export-submit" disabled>', page)
    failed = re.findall(r'<tr class="error"[^>]*><td>✗</td><td[^>]*>([^<]+)</td>', text)
    assert len(failed) >= 2, failed
    named = ", ".join(f"“{f}”" for f in failed[:-1]) + f" and “{failed[-1]}”"
    assert (f"Export now is unavailable until these {len(failed)} are fixed: {named} (see their ✗ above)."
            in " ".join(text.split())), failed
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    done = " ".join(html.unescape(rep_client.get(resp.location).get_data(as_text=True)).split())
    assert f"Not exported: {named} must be fixed first (see the checklist)." in done
    assert db.session.execute(select(SyncRun)).first() is None
