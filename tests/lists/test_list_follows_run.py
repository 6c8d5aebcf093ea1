"""A list that follows a bulk export says, row by row, what the run has still to do: "queued in run #N" while no
worker has started it, "waiting in run #N" until the run has done that row (then the row shows its new state), and
nothing once the run has ended (the list stops asking). A row "Not linked" used to stay "Not linked" with no word
while the run was queued or running."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from htmx_loads import loaded, part
from sqlalchemy import select, update

from colcw_plugin.models import SyncItem, SyncRun
from helpers import csrf_from, map_default_rep, runtime, sign_in
from host_stub import services
from host_stub.extensions import db

pytestmark = pytest.mark.postgres

FOLLOWER = re.compile(r'<div id="colcw-list-status" hx-get="([^"]+)" hx-trigger="load, every 2s" hx-swap="none">')
STOPPED = '<div id="colcw-list-status" hx-swap-oob="true"></div>'


@pytest.fixture()
def three(connected, cw_client):
    map_default_rep(cw_client)
    made = [services.save_customer({"account_number": f"FOL{n}", "name": name, "city": "Austin", "state": "TX",
                                    "country": "United States"},
                                   [{"first_name": "Pat", "last_name": name.split()[0], "is_default": True}])
            for n, name in enumerate(("Alder Dental", "Birch Legal", "Cedar Clinic"))]
    db.session.commit()
    return made


def _export(client, ids: list[int]) -> SyncRun:
    html = client.get("/customers/").get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', html).group(1).replace("&amp;", "&")
    resp = client.post(action, data={"csrf_token": csrf_from(html), "action": "colcw-export",
                                     "ids": [str(i) for i in ids]})
    assert resp.status_code == 302
    return db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()


def _notes(page: str) -> dict[str, str]:
    """Account number → what the row says beside its state ("" for nothing)."""
    out = {}
    for row in re.findall(r'<tr data-row="\d+">(.*?)</tr>', page, re.S):
        number = re.search(r"<td>([A-Z0-9]+)</td>", row).group(1)
        note = re.search(r'<span class="hint colcw-in-run" title="[^"]*">([^<]*)</span>', row)
        out[number] = html_lib.unescape(note.group(1)) if note else ""
    return out


def _states(page: str) -> dict[str, str]:
    return {re.search(r"<td>([A-Z0-9]+)</td>", row).group(1):
            html_lib.unescape(re.search(r'<span class="tag tone-\w+" title="[^"]*">([^<]*)</span>', row).group(1))
            for row in re.findall(r'<tr data-row="\d+">(.*?)</tr>', page, re.S)}


def test_rows_say_what_the_followed_run_has_still_to_do_until_it_ends(rep_client, three, redis_conn):
    alder, birch, _ = three
    run = _export(rep_client, [alder.id, birch.id])
    page_url = f"/customers/?colcw_run={run.id}"

    # Queued (no worker yet): the two ticked rows say so, the list asks again while the run is unfinished.
    page = rep_client.get(page_url).get_data(as_text=True)
    status_url = html_lib.unescape(FOLLOWER.search(page).group(1))
    assert f"&run={run.id}" in status_url
    shown = loaded(rep_client, page_url)
    assert _notes(shown) == {"FOL0": f"queued in run #{run.id}", "FOL1": f"queued in run #{run.id}", "FOL2": ""}
    assert _states(shown) == {"FOL0": "Not linked", "FOL1": "Not linked", "FOL2": "Not linked"}
    assert STOPPED not in part(rep_client, status_url)
    assert "the run waits for a worker to start it" in part(rep_client, status_url)
    # Without JavaScript the statuses open as a page of their own (the loader's noscript link): it says so too.
    own_page = rep_client.get(status_url).get_data(as_text=True)
    assert own_page.count(f"queued in run #{run.id}") == 2 and "the run waits for a worker to start it" in own_page

    # Running, one row done: that row has its result and no note, the other still waits.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status="running"))
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", host_id=alder.id, action="failed",
                            label="FOL0", message="FOL0: ConnectWise refused the state.", resolution="Fix it."))
    db.session.commit()
    answer = part(rep_client, status_url)
    assert f"waiting in run #{run.id}" in answer and answer.count("colcw-in-run") == 1
    assert STOPPED not in answer

    # Ended: no notes, the list stops asking, and a fresh page loads its statuses once.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(status="queued"))
    db.session.query(SyncItem).filter(SyncItem.run_id == run.id).delete()
    db.session.commit()
    done = runtime().execute(db.session, run.id)
    assert done.status == "succeeded", done.message
    answer = part(rep_client, status_url)
    assert "colcw-in-run" not in answer and STOPPED in answer
    page = rep_client.get(page_url).get_data(as_text=True)
    assert FOLLOWER.search(page) is None and 'hx-trigger="load" hx-swap="none"' in page
    shown = loaded(rep_client, page_url)
    assert _notes(shown) == {"FOL0": "", "FOL1": "", "FOL2": ""}
    assert _states(shown) == {"FOL0": "Synced", "FOL1": "Synced", "FOL2": "Not linked"}


def test_another_reps_run_is_not_followed_on_the_list(client, app, three, redis_conn):
    sign_in(client, "riley@demo.example")
    run = _export(client, [three[0].id])
    with app.app_context():  # a context of its own: Flask-WTF keeps the CSRF token in g
        other = sign_in(app.test_client(), "sam@demo.example")
        page = other.get(f"/customers/?colcw_run={run.id}").get_data(as_text=True)
        assert FOLLOWER.search(page) is None
        ids = ",".join(str(c.id) for c in three)
        answer = part(other, f"/colcw/lists/customers/status?ids={ids}&run={run.id}")
        assert "colcw-in-run" not in answer and f"run #{run.id}" not in answer


def test_a_bad_run_parameter_is_refused(rep_client, three):
    assert rep_client.get(f"/colcw/lists/customers/status?ids={three[0].id}&run=x1").status_code == 400


def test_the_quotes_list_follows_its_bulk_run_too(rep_client, three, redis_conn):
    quotes = [services.save_document({"customer_id": three[0].id}, [{"item_number": "X1", "price": 10}])
              for _ in range(2)]
    db.session.commit()
    html = rep_client.get("/quotes/").get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', html).group(1).replace("&amp;", "&")
    resp = rep_client.post(action, data={"csrf_token": csrf_from(html), "action": "colcw-export",
                                         "ids": [str(quotes[0].id)]})
    run = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()
    assert run.kind == "quote_export" and resp.headers["Location"].endswith(f"colcw_run={run.id}")
    shown = loaded(rep_client, resp.headers["Location"])
    notes = re.findall(r'<tr data-row="(\d+)">.*?<td data-column="colcw">(.*?)</td>', shown, re.S)
    waiting = {int(row) for row, cell in notes if f"queued in run #{run.id}" in cell}
    assert waiting == {quotes[0].id} and len(notes) >= 2
