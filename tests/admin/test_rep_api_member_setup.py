"""Auto-map and the Pre-flight check know a sales rep's member is never an API member (the rep mapping page refuses
one: test_rep_api_member.py). Auto-map matched by e-mail alone, so a host user with the API member's e-mail was mapped
to it; now it is left for a person, saying why. A rep already mapped to one (saved by an older version) passed the
Pre-flight check; now it is listed in the Status column's words (``setup/reps.py`` ``api_member_status``), and so
is Auto-map's kept mapping."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from admin_support import BASE, rep_mapping, user
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.setup.reps import api_member_status
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

API_EMAIL = "api@sandbox.example"  # the sandbox's APIMember (licence class "A") has this e-mail
OWN = pytest.mark.parametrize("own", ["", "APIMember"], ids=["own-member-not-learnt", "own-member-known"])


def _own_member(identifier: str) -> None:
    get_live(db.session).own_member = identifier
    db.session.commit()


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _items(page: str, marker: str) -> list[str]:
    start = page.index(marker)
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", page[start:page.index("</section>", start)], re.S)]


def _automap(admin_client) -> list[str]:
    """Run Auto-map from its button; what it left for a person."""
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200
    return _items(resp.get_data(as_text=True), 'id="automap-left"')


def _map_to_api_member(connected_demo, email: str) -> User:
    """As an older version saved it: the user mapped to APIMember, verified (with its ids)."""
    member = connected_demo.api("GET", "system/members", params={"conditions": 'identifier="APIMember"'}).json()[0]
    person = user(email)
    db.session.add(RepMapping(user_id=person.id, member_id=member["id"], member_identifier="APIMember",
                              location_id=member["defaultLocation"]["id"], location_name="Main",
                              department_id=member["defaultDepartment"]["id"], department_name="Admin"))
    db.session.commit()
    return person


@OWN
def test_automap_never_maps_a_rep_to_an_api_member_with_their_email(app, connected_demo, admin_client, own):
    _own_member(own)
    sam = user("sam@demo.example")
    sam.email = API_EMAIL  # (a host user with the API member's e-mail: an admin's alias, say)
    db.session.commit()
    left = _automap(admin_client)
    what = "colcw's own API member" if own else "an API member"
    assert (f"sales rep Sam Sales <{API_EMAIL}>: no ConnectWise member with this e-mail is a person (APIMember is "
            f"{what}, and a sales rep cannot be mapped to an API member: their opportunities would carry the "
            "integration's account); give the rep's own member this e-mail in ConnectWise (System → Members) and run "
            "Auto-map again, or choose it on Sales rep mapping.") in left
    assert rep_mapping(sam) is None
    # The others are matched as before.
    assert rep_mapping(user("riley@demo.example"))[0] == "rrep"


@OWN
def test_automap_keeps_a_rep_mapped_to_an_api_member_and_says_so(app, connected_demo, admin_client, own):
    _own_member(own)
    dana = _map_to_api_member(connected_demo, "dana@demo.example")
    left = _automap(admin_client)
    kind = "own" if own else "api"
    assert f"sales rep Dana Default → member APIMember: {api_member_status(kind)}" in left
    assert rep_mapping(dana) == ("APIMember", "Main", "Admin")  # a person's choice is never changed by Auto-map


@OWN
def test_preflight_lists_a_rep_mapped_to_an_api_member_in_the_status_columns_words(app, connected_demo, admin_client,
                                                                                   own):
    _own_member(own)
    dana = _map_to_api_member(connected_demo, "dana@demo.example")  # the store's default rep
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    start = page.index('data-area="Sales reps"')
    section = page[start:page.index("</section>", start)]
    assert 'data-ok="no"' in section
    kind = "own" if own else "api"
    status = api_member_status(kind)
    assert _items(page, 'data-area="Sales reps"') == [f"Dana Default → APIMember: {status}"]
    # The mapping page's Status column says the same of the row.
    reps = admin_client.get(BASE + "/reps").get_data(as_text=True)
    row = re.search(rf'<tr id="rep-{dana.id}">(.*?)</tr>', reps, re.S).group(1)
    assert _text(re.search(r'data-status="api-member">([^<]*)<', row).group(1)) == status
    assert status.startswith("Mapped to colcw's own API member, not a person: exports acting for this rep are refused"
                             if own else "Mapped to an API member, not a person")
    db.session.expire_all()
    assert db.session.execute(select(RepMapping.member_identifier).where(RepMapping.user_id == dana.id)
                              ).scalar_one() == "APIMember"  # (the check changes nothing)
