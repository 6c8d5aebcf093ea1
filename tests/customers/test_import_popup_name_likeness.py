"""Import From ConnectWise's likely-duplicate prompt says "same name" only for names that are one but for case,
punctuation and accents; a name that matches only once legal suffixes, a leading "the" or "&" are dropped is a
"similar name" (QA: "Harbor Logistics Inc" beside the customer "Harbor Logistics" was called "(same name)").
Against the sandbox's demo tenant over HTTP."""

from __future__ import annotations

import re

import pytest
from customer_support import import_popup, text_of

from host_stub.extensions import db
from host_stub.seed import seed_demo


def _said(resp) -> str:
    """The popup's words, its tags taken off."""
    return re.sub(r"</?strong>", "", text_of(resp))


@pytest.fixture()
def demo(connected_demo):
    seed_demo(db.session, customers=24, quotes=0)  # DEMO00023 is "Harbor Logistics", linked to no company
    return connected_demo


def test_a_name_with_a_legal_suffix_more_is_a_similar_name(demo, rep_client):
    html = _said(import_popup(rep_client, company="CW0006"))  # "Harbor Logistics Inc"
    assert "looks like the ChannelOnline customer Harbor Logistics (DEMO00023) (similar name)" in html
    assert "(same name)" not in html


def test_a_name_differing_only_in_case_and_punctuation_is_the_same_name(demo, rep_client):
    resp = demo.api("POST", "company/companies", json={"identifier": "HARB2", "name": "HARBOR LOGISTICS.",
                                                       "city": "Portland"})
    assert resp.status_code == 201, resp.text
    html = _said(import_popup(rep_client, company="HARB2"))
    assert "looks like the ChannelOnline customer Harbor Logistics (DEMO00023) (same name)" in html
