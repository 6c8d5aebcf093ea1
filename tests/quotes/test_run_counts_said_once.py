"""A finished run's counts are said once: the progress box's message ends with them ("… (quotes / orders: 1
created; lines: 2 created)") and its Records line said them again, on the lists' run panel, the rep's and the
admin's run pages."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_finished_runs_counts_are_shown_once(world, app, admin_client):
    quote = world.quote([line("OPT-7010"), line("LAT-5440")], name="Counted once")
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    counts = run.records_summary
    assert counts and counts in run.message  # (the stored message keeps them: the CLI and JSON show it alone)
    box = _text(admin_client.get(f"/colcw/runs/{run.id}/progress").get_data(as_text=True))
    assert box.count(counts) == 1 and f"Records: {counts}" in box, box
    message = run.message.replace(f" ({counts})", "")
    assert message and message in box  # the rest of the message stays
    page = _text(admin_client.get(f"/admin/integration/connectwise/jobs/runs/{run.id}").get_data(as_text=True))
    assert page.count(counts) == 1, page


def test_the_reps_run_log_shows_the_counts_once(world, app, rep_client):
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    quote = world.quote([line("OPT-7010"), line("LAT-5440")], name="Counted once on her log")
    run = world.export(quote.id, actor={"id": riley.id, "email": riley.email, "role": "rep"})  # hers to open
    assert run.status == "succeeded", run.message
    log = rep_client.get(f"/colcw/runs/{run.id}")  # the rep's run log (an admin is sent to the admin run page)
    assert log.status_code == 200
    text = _text(log.get_data(as_text=True))
    assert text.count(run.records_summary) == 1, text
