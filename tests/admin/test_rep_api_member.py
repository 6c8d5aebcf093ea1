"""A sales rep is never mapped to an API member: a rep mapped to it would export opportunities under the integration's
account, and what they do in ConnectWise as colcw's own member reads as done by colcw (an opportunity closed, say:
sync/shared/closers.py). The save refuses it, saying why and what to do; a row saved so before (an older
version) is marked in the Status column. Which member is colcw's comes from what live updates learnt (own_member) and
the member list the page reads anyway (ConnectWise's API licence class): no request of its own."""

from __future__ import annotations

import re

import pytest
from admin_support import form_fields, rep_mapping, user
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.live_updates import get_live
from helpers import connection_unreachable
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

REPS = "/admin/integration/connectwise/reps"


def _row(html: str, user_id: int) -> str:
    """The text of the user's row on the page (tags dropped)."""
    found = re.search(rf'<tr id="rep-{user_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for user {user_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def _save(admin_client, **members):
    """Post the page's own form with the members changed (``member-<id>`` → identifier)."""
    data = form_fields(admin_client.get(REPS).get_data(as_text=True), "save-reps")
    data.update(members)
    return admin_client.post(REPS, data=data)


def _own_member(identifier: str) -> None:
    get_live(db.session).own_member = identifier
    db.session.commit()


@pytest.mark.parametrize("own", ["", "APIMember"], ids=["own-member-not-learnt", "own-member-known"])
def test_mapping_a_rep_to_the_api_member_is_refused_saying_why_and_what_to_do(app, connected_demo, admin_client, own):
    _own_member(own)
    dana, riley = user("dana@demo.example"), user("riley@demo.example")
    answer = _save(admin_client, **{f"member-{dana.id}": "APIMember", f"member-{riley.id}": "rrep"})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Nothing was saved: correct the rows marked below." in html
    row = _row(html, dana.id).replace("&#39;", "'")
    assert "Dana Default cannot be mapped to APIMember: it is " in row
    assert ("colcw's own API member, the account colcw signs in to ConnectWise with" if own else
            "an API member, an integration's account (colcw signs in with one), not a person") in row
    assert "Dana Default's opportunities would carry that account instead of a sales rep's" in row
    assert "what they do in ConnectWise as that member reads as done by colcw" in row
    assert "Map Dana Default to their own ConnectWise member, a person's (add one in ConnectWise, System → Members" in row
    # Nothing saved, not even the other row; the admin's choice is kept in the row to correct.
    assert rep_mapping(dana) is None and rep_mapping(riley) is None
    assert re.search(r'<option selected value="APIMember">|<option value="APIMember" selected', html)

    # A person's member saves.
    answer = _save(admin_client, **{f"member-{dana.id}": "ddefault"})
    assert answer.status_code == 302
    assert rep_mapping(dana) == ("ddefault", "Main", "Sales")


def test_the_members_list_says_which_member_is_an_api_member(app, connected_demo, admin_client):
    html = admin_client.get(REPS).get_data(as_text=True)
    assert "APIMember (API Member) — API member, not a person</option>" in html
    _own_member("APIMember")
    html = admin_client.get(REPS).get_data(as_text=True)
    assert "APIMember (API Member) — colcw&#39;s own API member, not a person</option>" in html


def test_a_rep_saved_with_the_api_member_is_marked_and_does_not_stop_other_rows(app, connected_demo, admin_client):
    dana, riley = user("dana@demo.example"), user("riley@demo.example")
    member = connected_demo.api("GET", "system/members", params={"conditions": 'identifier="APIMember"'}).json()[0]
    db.session.add(RepMapping(user_id=dana.id, member_id=member["id"], member_identifier="APIMember",
                              location_name="Main", department_name="Admin"))
    db.session.commit()
    _own_member("APIMember")
    connected_demo.clear_requests()
    html = admin_client.get(REPS).get_data(as_text=True)
    # Only what the page always read (the site's codebase, then its lists): which member is colcw's costs no request.
    asked = [r["path"].split("/apis/3.0/")[-1] for r in connected_demo.requests()]
    assert set(asked) <= {"/login/companyinfo/sandbox", "system/members", "system/locations", "system/departments"}
    assert asked.count("system/members") == 1, asked
    dana_row = re.search(rf'<tr id="rep-{dana.id}">(.*?)</tr>', html, re.S).group(1)
    status = re.search(r'data-status="api-member">([^<]*)<', dana_row).group(1).replace("&#39;", "'")
    assert status == ("Mapped to colcw's own API member, not a person: exports acting for this rep are refused as if "
                      "not mapped (their opportunities would carry the integration's account, and what they do there as "
                      "it would read as done by colcw). Choose the rep's own member and save.")
    assert html.count('data-status="api-member"') == 1

    # Saving another row leaves that one as it is (reported, not a reason to refuse the others).
    answer = _save(admin_client, **{f"member-{riley.id}": "rrep"})
    assert answer.status_code == 302
    assert rep_mapping(riley)[0] == "rrep" and rep_mapping(dana)[0] == "APIMember"

    # Changing its location alone still asks for a person's member.
    answer = _save(admin_client, **{f"location-{dana.id}": "Remote Office"})
    assert answer.status_code == 400
    assert "Dana Default cannot be mapped to APIMember" in _row(answer.get_data(as_text=True), dana.id)
    assert rep_mapping(dana) == ("APIMember", "Main", "Admin")


def test_colcws_own_member_is_refused_while_connectwise_cannot_be_reached(app, connected_demo, admin_client):
    _own_member("APIMember")
    dana = user("dana@demo.example")
    connection_unreachable()
    data = {f"member-{dana.id}": "apimember", f"location-{dana.id}": "Main", f"department-{dana.id}": "Admin"}
    answer = _save(admin_client, **data)
    assert answer.status_code == 400
    assert "Dana Default cannot be mapped to apimember: it is colcw&#39;s own API member" in answer.get_data(as_text=True)
    assert db.session.execute(select(RepMapping).where(RepMapping.user_id == dana.id)).scalar_one_or_none() is None
