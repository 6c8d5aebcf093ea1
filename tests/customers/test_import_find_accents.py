"""Import From ConnectWise finds a company by its name whatever the accents, case and punctuation of the name or of
what the rep typed, as the look-alike check compares names ("celeste" finds "Céleste Boutique", "Harbor Logistics,
Inc." finds "Harbor Logistics Inc"), against the sandbox over HTTP (which, like ConnectWise, compares accents); the
rep's text reaches the conditions only quoted, and the list stays at ten."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs

from colcw_plugin.setup.connection import build_client
from colcw_plugin.sync.customers import lookup
from helpers import csrf_from
from host_stub.extensions import db

API = "/apis/3.0/"


def _company(sandbox, identifier: str, name: str) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _found(box, text: str) -> list[str]:
    with build_client(db.session, box) as client:
        return [c.identifier for c in lookup.companies_like(db.session, client, text).choices]


def _company_reads(sandbox) -> list[str]:
    return [parse_qs(r["query"]).get("conditions", [""])[0] for r in sandbox.requests()
            if API in r["path"] and r["method"] == "GET" and r["path"].endswith("company/companies")]


def _popup(rep_client, text: str):
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    return rep_client.post("/colcw/import", data={"csrf_token": token, "company": text}, headers={"HX-Request": "true"})


def test_a_company_is_found_whatever_the_accents_case_and_punctuation(connected, box):
    _company(connected, "CW0005", "Céleste Boutique")
    _company(connected, "CW0006", "Harbor Logistics Inc")
    _company(connected, "CZ1", "CAFÉ ZÜRICH GmbH")
    _company(connected, "SS1", "Smith & Sons")
    _company(connected, "CL1", "Calista Clothing")  # c?l?st? but no "celeste"

    assert _found(box, "celeste") == ["CW0005"]
    assert _found(box, "CELESTE bout") == ["CW0005"]
    assert _found(box, "Harbor Logistics, Inc.") == ["CW0006"]
    assert _found(box, "harbor-logistics") == ["CW0006"]
    assert _found(box, "cafe zurich") == ["CZ1"]
    assert _found(box, "Smith and Sons") == ["SS1"]
    assert _found(box, "zurich cafe") == []  # the words in order
    assert _found(box, "CW000") == ["CW0005", "CW0006"]  # part of a Company ID, as before


def test_the_popup_offers_the_accented_company_and_says_nothing_found_only_when_none_is(connected, rep_client):
    _company(connected, "CW0005", "Céleste Boutique")
    _company(connected, "CW0006", "Harbor Logistics Inc")
    html = _popup(rep_client, "celeste").get_data(as_text=True)
    assert re.findall(r'data-company="([^"]+)"', html) == ["CW0005"], html
    html = _popup(rep_client, "Harbor Logistics, Inc.").get_data(as_text=True)
    assert re.findall(r'data-company="([^"]+)"', html) == ["CW0006"], html
    html = unescape(_popup(rep_client, "Celestial Harbor").get_data(as_text=True))
    assert "No company's name contains it either" in html and "data-company=" not in html


def test_the_rep_s_text_reaches_the_conditions_only_quoted(connected, box):
    _company(connected, "QOLD", "O'Brien [100%] \\ Co_op")
    connected.clear_requests()
    assert _found(box, 'o"brien [100%] \\ co_op') == ["QOLD"]
    (read,) = _company_reads(connected)
    likes = re.findall(r'name like "((?:[^"\\]|\\.)*)"', read)
    assert likes and all(set(p) <= set("abcdefghijklmnopqrstuvwxyz0123456789%_[^-]àáâãäåçèéêëìíîïñòóôõöšùúûüýÿž")
                         for p in likes), likes
    # The text itself, quoted, its wildcard characters written as one-member classes (cw.conditions.escape_like).
    assert 'name contains "o\\"brien [[]100[%]] \\\\ co[_]op"' in read, read


def test_a_name_too_long_for_the_accents_pattern_is_found_and_told_from_other_letters(connected, box):
    text = " ".join(["aeiou"] * 8)  # the accented vowels' classes do not fit ConnectWise's URL
    _company(connected, "VOW1", " ".join(["Aéiou"] * 8))
    _company(connected, "NOT1", " ".join(["Bcdfg"] * 8))  # what a vowel as any one character also finds
    connected.clear_requests()
    assert _found(box, text) == ["VOW1"]
    (read,) = _company_reads(connected)
    assert "[aàáâãäå]" not in read and "name like" in read, read

    connected.clear_requests()
    assert _found(box, "aeiou") == ["VOW1"]  # a short text: its vowels' accented forms asked for
    assert "[aàáâãäå]" in _company_reads(connected)[0]


def test_the_list_stays_at_ten(connected, box):
    for i in range(lookup.MAX_SHOWN + 2):
        _company(connected, f"EC{i:02d}", f"Éclair Bakery {i:02d}")
    with build_client(db.session, box) as client:
        found = lookup.companies_like(db.session, client, "eclair bakery")
    assert [c.identifier for c in found.choices] == [f"EC{i:02d}" for i in range(lookup.MAX_SHOWN)] and found.more
