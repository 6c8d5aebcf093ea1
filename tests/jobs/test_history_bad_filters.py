"""The job history says so of each filter value it does not know — a job type, a result, a page number — naming the
value and what it shows instead (all job types, all results, page 1), as it does of dates it cannot read and of a
page past the last; it never ignores one without a word."""

from __future__ import annotations

import html

import pytest

from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

HISTORY = "/admin/integration/connectwise/jobs?tab=history"


def _a_run() -> int:
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor={"name": "tester"}).run
    runtime().queue.withdraw(run)
    run.status = "succeeded"
    db.session.commit()
    return run.id


def _page(client, query: str) -> tuple[str, list[str]]:
    page = html.unescape(client.get(HISTORY + query).get_data(as_text=True))
    rows = page.split('id="history"')[1].split("</tbody>")[0]
    return page, rows


@pytest.mark.parametrize(("query", "said"), [
    ("&kind=bogus", "Job type “bogus” is not one of the job types: showing all job types (choose one from the Job "
                    "type list)."),
    ("&result=bogus", "Result “bogus” is not one of the results a run can have: showing all results (choose one from "
                      "the Result list)."),
    ("&page=-1", "Page “-1” is not a page number (1, 2, 3…): showing page 1."),
    ("&page=abc", "Page “abc” is not a page number (1, 2, 3…): showing page 1."),
    ("&page=0", "Page “0” is not a page number (1, 2, 3…): showing page 1."),
    ("&page=99", "Page 99 is past the last page of this history (1): showing page 1."),
])
def test_a_filter_value_the_history_does_not_know_is_named_with_what_is_shown_instead(admin_client, jobs_app, query,
                                                                                        said):
    run_id = _a_run()
    page, rows = _page(admin_client, query)
    assert said in page
    assert f"#{run_id}" in rows and "No runs match." not in rows  # what is shown instead: the unfiltered history


def test_known_values_say_nothing_and_several_unknown_ones_are_each_named(admin_client, jobs_app):
    _a_run()
    page, _ = _page(admin_client, "&kind=test_count&result=succeeded&page=1")
    assert "is not one of" not in page and "is not a page number" not in page
    page, _ = _page(admin_client, "&kind=nope&result=maybe&page=x")
    assert "Job type “nope”" in page and "Result “maybe”" in page and "Page “x”" in page
