"""The table of each job's last run on "Run or schedule a job" says a running run's records compactly ("none finished
yet", "3 created"), its Result cell saying it runs: the run page's long form ("none finished yet — working on the
first of 40", "… — working on the rest") crowded the table's Records cell. The run's page keeps the long form."""

from __future__ import annotations

import html
import re

import pytest
from test_jobs_list_cancel import JOBS, _run, _set

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

RUN_TAB = f"{JOBS}?tab=run"


def _records_cell(page: str) -> str:
    """The Records cell (the fourth) of the test job's row in the table of last runs."""
    row = re.search(r'<tr id="last-test_count"[^>]*>(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", cells[3])).split())


def _run_page_records(admin_client, run_id: int) -> str:
    page = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    found = re.search(r'id="run-records"[^>]*>(.*?)</', page, re.S)
    assert found, page
    return " ".join(html.unescape(found.group(1)).split())


def test_a_running_runs_row_says_its_records_compactly_and_its_page_at_length(admin_client, jobs_app):
    run_id = _run("running", total=40, done=0, counts={})

    page = admin_client.get(RUN_TAB).get_data(as_text=True)
    assert _records_cell(page) == "none finished yet", page
    assert _run_page_records(admin_client, run_id) == "none finished yet — working on the first of 40"

    _set(run_id, done=3, counts={"created": 3})
    answer = admin_client.get(f"{JOBS}/last-runs-rows?run={run_id}").get_data(as_text=True)  # the table's poll
    assert _records_cell(answer) == "3 created", answer
    assert _records_cell(admin_client.get(RUN_TAB).get_data(as_text=True)) == "3 created"
    assert _run_page_records(admin_client, run_id) == "3 created — working on the rest"
