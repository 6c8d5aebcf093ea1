"""Every colcw page without parameters (admin and rep pages alike) gives each element id once: several forms on
one page each rendering their CSRF token and hidden fields with the same ids made labels, scripts and browser
tests pick the first form's field."""

from __future__ import annotations

import re
from collections import Counter

_ID = re.compile(r"""\sid=["']([^"']+)["']""")


def _pages(app) -> list[str]:
    return sorted({r.rule for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("colcw") and "GET" in (r.methods or ()) and not r.arguments})


def test_colcw_pages_have_no_duplicate_element_ids(app, admin_client, connected_demo):
    pages = _pages(app)
    assert "/admin/integration/connectwise/products" in pages  # the page of three forms is among them
    repeated, checked = {}, []
    for path in pages:
        resp = admin_client.get(path)
        if resp.status_code != 200 or not resp.content_type.startswith("text/html"):
            continue
        checked.append(path)
        seen = Counter(_ID.findall(resp.get_data(as_text=True)))
        dupes = sorted(k for k, n in seen.items() if n > 1)
        if dupes:
            repeated[path] = dupes
    assert {"/admin/integration/connectwise/products", "/admin/integration/connectwise/jobs",
            "/admin/integration/connectwise/"} <= set(checked)
    assert repeated == {}
