"""``?zone=`` on a run's page and its progress bar's copies: a name that is no time zone (or one that may not be
chosen) is refused with a message saying which zone the times are shown in, never echoed unescaped, never a 500."""

from __future__ import annotations

import pytest
from markupsafe import escape

from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
BAD = ["<script>alert(1)</script>", "Mars/Olympus", "../../etc/passwd", "\x00", "a" * 5000, "EST"]


def _run_id() -> int:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    return run.id


@pytest.mark.parametrize("zone", BAD)
def test_a_run_page_refuses_a_zone_that_is_not_one(jobs_app, admin_client, zone):
    run_id = _run_id()
    resp = admin_client.get(f"{JOBS}/runs/{run_id}", query_string={"zone": zone})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<script>alert(1)" not in html
    said = " ".join(html.split())
    shown = zone if len(zone) <= 64 else zone[:64] + "…"
    what = "is not used here" if zone == "EST" else "is not a time zone"
    note = (f"The zone in this page's address (“{shown}”) {what}: its times are shown in UTC, your choice. To change "
            "it, use Show times in.")
    assert str(escape(note)) in said, said[:3000]
    # The progress bar's copies fall back to the person's zone.
    bar = admin_client.get(f"/colcw/runs/{run_id}/progress", query_string={"zone": zone, "details": "1"})
    assert bar.status_code == 200 and "<script>alert(1)" not in bar.get_data(as_text=True)


def test_a_run_page_without_a_zone_or_with_the_one_shown_says_nothing(jobs_app, admin_client):
    run_id = _run_id()
    for query in ("", "?zone=UTC"):
        said = admin_client.get(f"{JOBS}/runs/{run_id}{query}").get_data(as_text=True)
        assert "The zone in this page's address" not in said
