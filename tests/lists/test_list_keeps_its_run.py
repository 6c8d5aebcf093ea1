"""A list keeps the bulk run it follows, and the page its rows were ticked on. Ticking rows on page 2 and exporting
them led back to page 1, where none of them shows; and a new search, a filter or another page dropped the run from the
address, so the run's progress and the rows' "waiting in run #N" went away while the run went on. A second export
from a list that follows one follows the new run (the address named both, and the list followed the first)."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from helpers import csrf_from, map_default_rep, sign_in
from host_stub import services
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


@pytest.fixture()
def many(connected, cw_client):
    """30 customers: two pages of All Customers (25 a page)."""
    map_default_rep(cw_client)
    made = [services.save_customer({"account_number": f"KEEP{n:02}", "name": f"Keep Clinic {n:02}", "city": "Austin",
                                    "state": "TX", "country": "United States"}) for n in range(30)]
    db.session.commit()
    return made


def _bulk(client, list_url: str, **form) -> tuple[str, SyncRun]:
    """Export from the list at ``list_url`` with the bulk form as the page has it: where it leads, and the run."""
    page = client.get(list_url).get_data(as_text=True)
    action = html_lib.unescape(re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', page).group(1))
    resp = client.post(action, data={"csrf_token": csrf_from(page), "action": "colcw-export", **form})
    assert resp.status_code == 302
    return resp.headers["Location"], db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _rows(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-row="(\d+)">', page)]


def test_ticked_rows_lead_back_to_their_page_and_the_run_is_kept_across_pages_and_searches(app, many):
    rep = sign_in(app.test_client(), "riley@demo.example")
    second = rep.get("/customers/?page=2").get_data(as_text=True)
    ticked = _rows(second)[:2]
    assert ticked and not set(ticked) & set(_rows(rep.get("/customers/").get_data(as_text=True)))
    where, run = _bulk(rep, "/customers/?page=2", ids=[str(i) for i in ticked])
    assert _query(where) == {"page": ["2"], "colcw_run": [str(run.id)]}
    page = rep.get(where).get_data(as_text=True)
    assert set(ticked) <= set(_rows(page)) and 'id="colcw-bulk-run"' in page

    # Another page, and a new search or filter (the search form, sent as a browser sends it), keep the run.
    previous = html_lib.unescape(re.search(r'<a href="([^"]+)">‹ Previous</a>', page).group(1))
    assert _query(previous)["colcw_run"] == [str(run.id)]
    assert 'id="colcw-bulk-run"' in rep.get(previous).get_data(as_text=True)
    form = re.search(r'<form[^>]*method="get"[^>]*>(.*?)</form>', page, re.S).group(1)
    assert f'<input type="hidden" name="colcw_run" value="{run.id}">' in form
    searched = rep.get(f"/customers/?q=Keep&cw=&colcw_run={run.id}").get_data(as_text=True)
    assert 'id="colcw-bulk-run"' in searched

    # A second export from that list follows the new run alone.
    where, again = _bulk(rep, where, ids=[str(_rows(page)[-1])])
    assert again.id != run.id and _query(where)["colcw_run"] == [str(again.id)]

    # "All matching" spans every page: back to the first.
    where, _ = _bulk(rep, "/customers/?page=2", all_matching="1")
    assert "page" not in _query(where)


def test_a_list_that_follows_no_run_has_no_hidden_run_field(app, many):
    rep = sign_in(app.test_client(), "riley@demo.example")
    page = rep.get("/customers/?colcw_run=abc").get_data(as_text=True)
    assert 'name="colcw_run"' not in page
