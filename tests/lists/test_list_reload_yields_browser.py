"""A list that follows a bulk run reloads itself once the run ends (its rows' new states), but not over a page the
person is already leaving: a filter chosen, or a link clicked, just as the run ended used to be undone by that reload,
which cancelled the navigation under way and showed the old list again (real Chromium)."""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from sqlalchemy import update

from colcw_plugin.models import RunStatus, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import browser_sign_in, runtime
from host_stub import services
from host_stub.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture()
def running_export(app, connected):
    """A bulk export of two customers, running (no worker runs it: the test ends it)."""
    ids = [services.save_customer({"account_number": f"RLD{n}", "name": name, "city": "Austin", "state": "TX",
                                   "country": "United States"},
                                  [{"first_name": "Pat", "last_name": name.split()[0], "is_default": True}]).id
           for n, name in enumerate(("Alder Dental", "Birch Legal"))]
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": ids})
    run.status = RunStatus.RUNNING
    db.session.commit()
    return run.id


def _end(engine, run_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(SyncRun).where(SyncRun.id == run_id).values(status=RunStatus.SUCCEEDED))


def test_a_filter_chosen_as_the_followed_run_ends_is_not_undone_by_the_lists_reload(live_server, page,
                                                                                      running_export):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}/customers/?colcw_run={running_export}")
    page.wait_for_selector(f"#colcw-progress-{running_export}[data-final=false]")

    # The person chooses a filter; the server takes its time to answer. The run ends while that page is on its way:
    # the bar's next look finds it ended, and the list would reload 0.3 s later.
    held, engine = [], db.engine  # (the route's handler runs outside the test's application context)

    def slow_answer(route):
        held.append(route.request.url)
        _end(engine, running_export)
        time.sleep(3)  # the bar looks again within a second, and its reload is due 0.3 s after
        # (When the reload cancelled the navigation, its request is gone and continuing it fails.)
        with contextlib.suppress(Exception):
            route.continue_()

    page.route(re.compile(r".*/customers/\?.*cw=not_linked.*"), slow_answer)
    page.select_option("select[name=cw]", "not_linked")
    page.wait_for_url(re.compile(r".*cw=not_linked.*"), timeout=15_000)
    assert held, "the filter's page was not asked for"
    # The chosen filter's page is shown, not the old list reloaded.
    page.wait_for_load_state("load")
    assert "cw=not_linked" in page.url
    assert page.locator("select[name=cw]").input_value() == "not_linked"
