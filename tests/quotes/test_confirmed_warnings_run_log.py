"""What the run log of Export now says of the warnings (⚠) ticked on the checklist: who confirmed them, only for what
the export sent (the tick is for exactly what the page showed). A document changed between the click and the run says
the confirmation was of something else; a run of several documents says what it sent as before, naming no one."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line

from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]
AMOUNTS = "Quantities and amounts"


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _ticked_export(rep_client, doc) -> int:
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    token = re.search(r'name="confirm_check" value="(amounts:[0-9a-f]+)"', page).group(1)
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page),
                                                                      "confirm_check": token})
    return int(re.search(r"run=(\d+)", resp.location).group(1))


def test_the_run_log_names_who_confirmed_the_lines(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=0)], name="Zero confirmed deal")
    run_id = _ticked_export(rep_client, doc)
    run = runtime().execute(db.session, run_id)
    assert run.status == "succeeded"
    [item] = items(run)
    assert (f"As riley@demo.example confirmed on its export checklist (⚠ {AMOUNTS}), its lines were sent as they are: "
            "line 1 (OPT-7010) has quantity 0: it adds nothing to the opportunity.") in item.message
    log = _text(rep_client.get(f"/colcw/runs/{run_id}").get_data(as_text=True))  # the run's page the rep opens
    assert f"As riley@demo.example confirmed on its export checklist (⚠ {AMOUNTS})" in log


def test_lines_changed_between_the_click_and_the_run_are_not_said_confirmed(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=0)], name="Changed confirmed deal")
    run_id = _ticked_export(rep_client, doc)
    world.edit(doc, [line("OPT-7010", qty=-5)])  # before the worker runs it
    run = runtime().execute(db.session, run_id)
    assert run.status == "succeeded"
    [item] = items(run)
    assert "As riley@demo.example confirmed" not in item.message
    assert ("Check its lines: line 1 (OPT-7010) is a credit line (-5 × $100.00 = -$500.00): it lowers the "
            f"opportunity's total (sent as they are). riley@demo.example confirmed other ones on its export checklist "
            f"(⚠ {AMOUNTS}): they changed after Export now was clicked.") in item.message


def test_a_run_of_several_documents_names_no_one(world, riley):
    doc = world.quote([line("OPT-7010", qty=0)], name="Bulk zero deal")
    run = world.export({"document_ids": [doc.id]}, actor=riley)
    [item] = items(run)
    assert "Check its lines: line 1 (OPT-7010) has quantity 0: it adds nothing to the opportunity (sent as they are)." \
        in item.message
    assert "confirmed" not in item.message
